using System.Text;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;
using Payments.Core.Payouts;
using Payments.Grains.Events;
using Payments.Grains.Payouts;

namespace Payments.Tests.Unit.Payouts;

/// <summary>
/// Payouts stored by earlier builds must still read, and new writes must look the same to them: the JSON that Orleans'
/// grain storage serializer makes of the payout's state is pinned here, byte for byte, as the build before the payout grain
/// was split into its decision classes wrote it.
/// </summary>
public sealed class PayoutStorageFormatTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 20, 6, 0, 0, TimeSpan.Zero);

    // The earlier build's computed properties (WasPaid, OwesEffects, IsDone when true) are in it too: Newtonsoft writes every
    // public property with a getter, so a new computed property must be [JsonIgnore]d. The $type names hold the namespace
    // and the class name: the state types stay where they are.
    private const string StoredPayout = """
        {"$id":"1","$type":"Payments.Grains.Payouts.PayoutState, Payments.Grains","Exists":true,"MerchantId":"merchant_1","SellerAccount":"seller_1","Currency":"USD","RequestedMinor":123456,"AmountMinor":123456,"Reserved":true,"Destination":"ba_sim_fails_after_paid","Status":3,"PspPayoutId":"po_sim_1","Attempts":3,"AttemptsAtBudgetStart":1,"FirstAttemptAt":"2026-11-20T06:01:00+00:00","NextRetryAt":"2026-11-20T06:02:00+00:00","LastError":"timeout","Failure":{"$id":"2","$type":"Payments.Core.Payouts.PayoutFailure, Payments.Core","Code":"account_closed","Message":"The bank account is closed."},"ArrivalDate":"2026-11-22T06:00:00+00:00","History":{"$type":"System.Collections.Generic.List`1[[Payments.Core.Payouts.PayoutHistoryEntry, Payments.Core]], System.Private.CoreLib","$values":[{"$id":"3","$type":"Payments.Core.Payouts.PayoutHistoryEntry, Payments.Core","At":"2026-11-20T06:00:00+00:00"},{"$id":"4","$type":"Payments.Core.Payouts.PayoutHistoryEntry, Payments.Core","Status":3,"At":"2026-11-20T06:03:00+00:00"}]},"CreatedAt":"2026-11-20T06:00:00+00:00","UpdatedAt":"2026-11-20T06:03:00+00:00","PspCheckedAt":"2026-11-20T06:04:00+00:00","DeadLettered":true,"DeadLetteredAt":"2026-11-20T06:05:00+00:00","DeadLetterStage":"psp_payout","EffectFailures":2,"ReservationBooked":true,"PaidWalletUpdated":true,"PaidLedgerUpdated":true,"FailedWalletUpdated":true,"FailedLedgerUpdated":true,"ReturnedAfterPaid":true,"ReturnWalletUpdated":true,"LastAttemptAt":"2026-11-20T06:06:00+00:00","OwedEvents":{"$type":"System.Collections.Generic.List`1[[Payments.Grains.Events.OwedEvent, Payments.Grains]], System.Private.CoreLib","$values":[{"$id":"5","$type":"Payments.Grains.Events.OwedEvent, Payments.Grains","EventId":"evt_1","Type":"payout.failed","OrderingKey":"pay_1","CreatedAt":"2026-11-20T06:03:00+00:00","Data":"{\"object\":{}}"}]},"CreatedByRequest":"request_1","LastReplayRequest":"request_2","WasPaid":true,"OwesEffects":true}
        """;

    private const string StoredDonePayout = """
        {"$id":"1","$type":"Payments.Grains.Payouts.PayoutState, Payments.Grains","Exists":true,"MerchantId":"merchant_1","SellerAccount":"seller_1","Currency":"USD","AmountMinor":500,"Reserved":true,"Destination":"ba_sim_ok","Status":2,"History":{"$type":"System.Collections.Generic.List`1[[Payments.Core.Payouts.PayoutHistoryEntry, Payments.Core]], System.Private.CoreLib","$values":[]},"ReservationBooked":true,"PaidWalletUpdated":true,"PaidLedgerUpdated":true,"OwedEvents":{"$type":"System.Collections.Generic.List`1[[Payments.Grains.Events.OwedEvent, Payments.Grains]], System.Private.CoreLib","$values":[]},"WasPaid":true,"IsDone":true}
        """;

    private const string StoredSchedule = """
        {"$id":"1","$type":"Payments.Grains.Payouts.PayoutScheduleState, Payments.Grains","MerchantId":"merchant_1","Destination":"ba_sim_ok","Interval":2,"WeeklyAnchor":5,"UpdatedAt":"2026-11-20T06:00:00+00:00","LastRunDate":"2026-11-19","Settings":{"$type":"Payments.Core.Payouts.PayoutSettings, Payments.Core","Destination":"ba_sim_ok","Interval":2,"WeeklyAnchor":5}}
        """;

    [Fact]
    public void A_payout_is_stored_as_the_earlier_build_stored_it()
    {
        Assert.Equal(StoredPayout, Write(EveryFieldSet()));
    }

    [Fact]
    public void A_finished_payout_is_stored_with_is_done_as_the_earlier_build_stored_it()
    {
        var done = new PayoutState
        {
            Exists = true,
            MerchantId = "merchant_1",
            SellerAccount = "seller_1",
            Currency = "USD",
            AmountMinor = 500,
            Reserved = true,
            Destination = "ba_sim_ok",
            Status = PayoutStatus.Paid,
            ReservationBooked = true,
            PaidWalletUpdated = true,
            PaidLedgerUpdated = true,
        };

        Assert.Equal(StoredDonePayout, Write(done));
    }

    [Fact]
    public void A_payout_stored_by_the_earlier_build_reads_back_with_every_field()
    {
        var read = StorageSerializer().Deserialize<PayoutState>(new BinaryData(Encoding.UTF8.GetBytes(StoredPayout)))
            ?? throw new InvalidOperationException("the stored payout read as null");

        Assert.Equal(Write(EveryFieldSet()), Write(read));
        Assert.Equal(PayoutStatus.Failed, read.Status);
        Assert.Equal(123_456L, read.AmountMinor);
        Assert.Equal(2, read.History.Count);
        Assert.Equal("evt_1", Assert.Single(read.OwedEvents).EventId);
    }

    [Fact]
    public void A_payout_schedule_is_stored_as_the_earlier_build_stored_it()
    {
        var schedule = new PayoutScheduleState
        {
            MerchantId = "merchant_1",
            Destination = "ba_sim_ok",
            Interval = PayoutInterval.Weekly,
            WeeklyAnchor = DayOfWeek.Friday,
            UpdatedAt = At,
            LastRunDate = new DateOnly(2026, 11, 19),
        };

        Assert.Equal(StoredSchedule, Encoding.UTF8.GetString(StorageSerializer().Serialize(schedule).ToArray()));
    }

    private static string Write(PayoutState state) => Encoding.UTF8.GetString(StorageSerializer().Serialize(state).ToArray());

    /// <summary>
    /// The serializer the ADO.NET grain storage uses by default, with Orleans' default JSON settings. A silo adds converters
    /// for grain references and ids on top, none of which the payout's state holds.
    /// </summary>
    private static JsonGrainStorageSerializer StorageSerializer() =>
        new(new OrleansJsonSerializer(Options.Create(new OrleansJsonSerializerOptions())));

    private static PayoutState EveryFieldSet() => new()
    {
        Exists = true,
        MerchantId = "merchant_1",
        SellerAccount = "seller_1",
        Currency = "USD",
        RequestedMinor = 123_456,
        AmountMinor = 123_456,
        Reserved = true,
        Destination = "ba_sim_fails_after_paid",
        Status = PayoutStatus.Failed,
        PspPayoutId = "po_sim_1",
        Attempts = 3,
        AttemptsAtBudgetStart = 1,
        FirstAttemptAt = At.AddMinutes(1),
        NextRetryAt = At.AddMinutes(2),
        LastError = "timeout",
        Failure = new PayoutFailure("account_closed", "The bank account is closed."),
        ArrivalDate = At.AddDays(2),
        History = [new PayoutHistoryEntry(PayoutStatus.Pending, At), new PayoutHistoryEntry(PayoutStatus.Failed, At.AddMinutes(3))],
        CreatedAt = At,
        UpdatedAt = At.AddMinutes(3),
        PspCheckedAt = At.AddMinutes(4),
        DeadLettered = true,
        DeadLetteredAt = At.AddMinutes(5),
        DeadLetterStage = "psp_payout",
        EffectFailures = 2,
        ReservationBooked = true,
        PaidWalletUpdated = true,
        PaidLedgerUpdated = true,
        FailedWalletUpdated = true,
        FailedLedgerUpdated = true,
        ReturnedAfterPaid = true,
        ReturnWalletUpdated = true,
        ReturnLedgerUpdated = false,
        LastAttemptAt = At.AddMinutes(6),
        OwedEvents =
        [
            new OwedEvent
            {
                EventId = "evt_1",
                Type = "payout.failed",
                OrderingKey = "pay_1",
                SubjectId = null,
                CreatedAt = At.AddMinutes(3),
                Data = "{\"object\":{}}",
            },
        ],
        CreatedByRequest = "request_1",
        LastReplayRequest = "request_2",
    };
}
