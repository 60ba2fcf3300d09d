using System.Text;
using Orleans.Storage;
using Payments.Core.Payouts;
using Payments.Grains.Events;
using Payments.Grains.Payouts;
using Payments.Grains.Storage;
using Payments.Tests.Unit.Storage;

namespace Payments.Tests.Unit.Payouts;

/// <summary>
/// Payouts stored by earlier builds must still read, and read the same: the JSON that Orleans' grain storage serializer made
/// of the payout's state is pinned here, byte for byte, as the build before the payout grain was split into its decision
/// classes wrote it (the JSON writer is still what the state is compared by). Payouts are now written in the binary format of
/// <see cref="GrainStateSerializer"/>, pinned here too.
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

    /// <summary>What <see cref="GrainStateSerializer"/> writes for <see cref="EveryFieldSet"/>, in hex.</summary>
    private const string BinaryPayout =
        "0120000341156D65726368616E745F31411173656C6C65725F3141075553440104241E0104241E0103412F62615F7369"
        + "6D5F6661696C735F61667465725F70616964010D4111706F5F73696D5F31010D0105218000F6C2A6CB46DF0881000000"
        + "0000000000E02180003C86CACB46DF08810000000000000000E0410F74696D656F757421E8401D6163636F756E745F63"
        + "6C6F73656441375468652062616E6B206163636F756E7420697320636C6F7365642EE021800030D3D75D48DF08810000"
        + "000000000000E021000521E80001218000B0FF82CB46DF08810000000000000000E0E020E8000D2180008249EECB46DF"
        + "08810000000000000000E0E0E0218000B0FF82CB46DF08810000000000000000E02180008249EECB46DF088100000000"
        + "00000000E0218000C80C12CC46DF08810000000000000000E001032180000ED035CC46DF08810000000000000000E041"
        + "157073705F7061796F7574010901030103010301030103010301030101218000549359CC46DF08810000000000000000"
        + "E021000321400B6576745F31411B7061796F75742E6661696C6564410B7061795F31C1012180008249EECB46DF088100"
        + "00000000000000E0411B7B226F626A656374223A7B7D7DE0E04113726571756573745F314113726571756573745F32E0";

    /// <summary>What <see cref="GrainStateSerializer"/> writes for the schedule of <see cref="ScheduleEveryFieldSet"/>, in hex.</summary>
    private const string BinarySchedule =
        "012040156D65726368616E745F31411362615F73696D5F6F6B01090115218000B0FF82CB46DF08810000000000000000"
        + "E061624A0B00E0";

    [Fact]
    public void The_earlier_builds_json_writer_still_writes_the_payout_as_they_stored_it()
    {
        // The comparisons below go through this writer: it must still be the one the pinned rows came from.
        Assert.Equal(StoredPayout, Write(EveryFieldSet()));
        Assert.Equal(StoredDonePayout, Write(DonePayout()));
        Assert.Equal(StoredSchedule, Encoding.UTF8.GetString(StorageSerializer().Serialize(ScheduleEveryFieldSet()).ToArray()));
    }

    [Fact]
    public void A_payout_is_stored_exactly_as_the_binary_golden_copy_and_reads_back_with_every_field()
    {
        var stored = StateSerializer().Serialize(EveryFieldSet());

        Assert.Equal(BinaryPayout, Convert.ToHexString(stored));
        var read = StateSerializer().Deserialize<PayoutState>(stored) ?? throw new InvalidOperationException("the payout read as null");
        Assert.Equal(StoredPayout, Write(read));
    }

    [Fact]
    public void A_finished_payout_reads_back_from_the_binary_format_with_is_done()
    {
        var read = StateSerializer().Deserialize<PayoutState>(StateSerializer().Serialize(DonePayout())) ?? throw new InvalidOperationException("the payout read as null");

        Assert.Equal(StoredDonePayout, Write(read));
    }

    [Fact]
    public void A_payout_stored_by_the_earlier_build_reads_back_with_every_field()
    {
        var read = StateSerializer().Deserialize<PayoutState>(Encoding.UTF8.GetBytes(StoredPayout))
            ?? throw new InvalidOperationException("the stored payout read as null");

        Assert.Equal(Write(EveryFieldSet()), Write(read));
        Assert.Equal(PayoutStatus.Failed, read.Status);
        Assert.Equal(123_456L, read.AmountMinor);
        Assert.Equal(2, read.History.Count);
        Assert.Equal("evt_1", Assert.Single(read.OwedEvents).EventId);
    }

    [Fact]
    public void A_payout_schedule_is_stored_as_the_binary_golden_copy_and_the_earlier_json_still_reads()
    {
        var stored = StateSerializer().Serialize(ScheduleEveryFieldSet());
        Assert.Equal(BinarySchedule, Convert.ToHexString(stored));

        foreach (var payload in new[] { stored, Encoding.UTF8.GetBytes(StoredSchedule) })
        {
            var read = StateSerializer().Deserialize<PayoutScheduleState>(payload) ?? throw new InvalidOperationException("the schedule read as null");
            Assert.Equal(StoredSchedule, Encoding.UTF8.GetString(StorageSerializer().Serialize(read).ToArray()));
        }
    }

    private static PayoutState DonePayout() => new()
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

    private static PayoutScheduleState ScheduleEveryFieldSet() => new()
    {
        MerchantId = "merchant_1",
        Destination = "ba_sim_ok",
        Interval = PayoutInterval.Weekly,
        WeeklyAnchor = DayOfWeek.Friday,
        UpdatedAt = At,
        LastRunDate = new DateOnly(2026, 11, 19),
    };

    private static string Write(PayoutState state) => Encoding.UTF8.GetString(StorageSerializer().Serialize(state).ToArray());

    /// <summary>
    /// The serializer the ADO.NET grain storage uses by default, with Orleans' default JSON settings. A silo adds converters
    /// for grain references and ids on top, none of which the payout's state holds.
    /// </summary>
    private static JsonGrainStorageSerializer StorageSerializer() => StateSerializers.Json;

    /// <summary>The grain storage's serializer: Orleans' binary serializer of the state types, and the JSON one for old rows.</summary>
    private static GrainStateSerializer StateSerializer() => StateSerializers.Storage();

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
