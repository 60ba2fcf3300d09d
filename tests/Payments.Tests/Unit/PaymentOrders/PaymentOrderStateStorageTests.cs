using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Storage;
using Payments.Core.PaymentOrders;
using Payments.Grains.Events;
using Payments.Grains.PaymentOrders;
using Payments.Grains.Storage;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>
/// Stored orders must still read, and read the same. The state is written in the binary format of <see cref="GrainStateSerializer"/>,
/// pinned here for an order that uses every field: an [Id] renumbered, a field retyped, added or dropped changes the bytes and
/// fails the test. Rows written before the binary format are JSON, and the JSON an earlier build wrote must still read.
/// </summary>
public sealed class PaymentOrderStateStorageTests
{
    /// <summary>What the code before the grain became a shell wrote for <see cref="FullState"/> (one line, as stored), as JSON.</summary>
    private const string Golden = """
        {"$id":"1","$type":"Payments.Grains.PaymentOrders.PaymentOrderState, Payments.Grains","Exists":true,"MerchantId":"merchant_1","CheckoutId":"chk_1","SellerAccount":"seller_1","AmountMinor":12345,"Currency":"USD","PaymentMethodToken":"pm_card_visa","BuyerId":"buyer_1","Status":3,"PspReference":"pi_1","WalletUpdated":true,"Attempts":3,"NextRetryAt":"2026-11-20T10:30:04+00:00","LastError":"timeout","Failure":{"$id":"2","$type":"Payments.Core.PaymentOrders.PaymentFailure, Payments.Core","Code":"card_declined","Message":"Declined."},"RefundedMinor":2000,"History":{"$type":"System.Collections.Generic.List`1[[Payments.Core.PaymentOrders.PaymentOrderHistoryEntry, Payments.Core]], System.Private.CoreLib","$values":[{"$id":"3","$type":"Payments.Core.PaymentOrders.PaymentOrderHistoryEntry, Payments.Core","At":"2026-11-20T10:30:00+00:00"},{"$id":"4","$type":"Payments.Core.PaymentOrders.PaymentOrderHistoryEntry, Payments.Core","Status":3,"At":"2026-11-20T10:30:01+00:00"}]},"CreatedAt":"2026-11-20T10:30:00+00:00","UpdatedAt":"2026-11-20T10:31:00+00:00","DeadLettered":true,"DeadLetteredAt":"2026-11-20T10:32:00+00:00","AttemptsAtBudgetStart":1,"EffectFailures":2,"ReturnUrl":"https://shop.example/return","HostedSessionId":"cs_1","ActionUrl":"https://psp.example/pay","PspCheckedAt":"2026-11-20T10:33:00+00:00","Refunds":{"$type":"System.Collections.Generic.List`1[[Payments.Grains.PaymentOrders.RefundState, Payments.Grains]], System.Private.CoreLib","$values":[{"$id":"5","$type":"Payments.Grains.PaymentOrders.RefundState, Payments.Grains","RefundId":"re_1","AmountMinor":2000,"Status":1,"Reason":"requested_by_customer","PspRefundId":"pre_1","Attempts":2,"WalletUpdated":true,"CreatedAt":"2026-11-20T10:34:00+00:00","FailureCode":"expired_or_canceled_card","PspAnswered":true,"FailedAfterSuccess":true,"ReversalWalletUpdated":true,"AttemptsAtBudgetStart":1,"NextRetryAt":"2026-11-20T10:35:00+00:00","FromAvailable":true,"ReversalToAvailable":true,"OwesEffects":true}]},"HostedPageClosed":true,"FirstAttemptAt":"2026-11-20T10:30:02+00:00","DeadLetterStage":"effects","FulfilledAt":"2026-11-21T10:30:00+00:00","FulfilledMinor":10345,"FulfillmentWalletUpdated":true,"OwedEvents":{"$type":"System.Collections.Generic.List`1[[Payments.Grains.Events.OwedEvent, Payments.Grains]], System.Private.CoreLib","$values":[{"$id":"6","$type":"Payments.Grains.Events.OwedEvent, Payments.Grains","EventId":"evt_1","Type":"refund.succeeded","OrderingKey":"chk_1","SubjectId":"re_1","CreatedAt":"2026-11-20T10:36:00+00:00","Data":"{\"object\":{}}"}]},"OwesCheckoutNotice":true,"LastReplayRequest":"replay_1","ActionRequiredAt":"2026-11-20T10:37:00+00:00","LatePayment":{"$id":"7","$type":"Payments.Grains.PaymentOrders.LatePaymentState, Payments.Grains","PaymentIntentId":"pi_late","AmountMinor":12345,"FoundAt":"2026-11-20T10:38:00+00:00","RefundStatus":1,"PspRefundId":"pre_late","PspAnswered":true,"Attempts":4,"NextRetryAt":"2026-11-20T10:39:00+00:00","FailureCode":"lost","PaymentBooked":true,"RefundBooked":true,"BookingFailures":1,"IsSettled":true},"ActionExpiryAttempts":5,"OwesFulfillmentEffects":true}
        """;

    /// <summary>What <see cref="GrainStateSerializer"/> writes for <see cref="FullState"/>, in hex.</summary>
    private static readonly string BinaryGolden =
        // The row before orders were created started, with AwaitsCheckout and AttemptCountedAhead (ids 42, 43: true) before its end.
        BinaryGoldenBeforeCreatedStarted[..^2] + "01030103E0";

    /// <summary>What the build before orders were created started wrote for <see cref="EarlierBuildState"/>, in hex.</summary>
    private const string BinaryGoldenBeforeCreatedStarted =
        "0120000341156D65726368616E745F31410B63686B5F31411173656C6C65725F310194030341075553444119706D5F63"
        + "6172645F76697361410F62757965725F31010D410970695F3101030101010D218000DE553DF146DF0881000000000000"
        + "0000E0410F74696D656F757421E8401B636172645F6465636C696E656441134465636C696E65642E0101E001823E2100"
        + "0521E8000121800084F33AF146DF08810000000000000000E0E020E8000D2180801A8C3BF146DF088100000000000000"
        + "00E0E0E021800084F33AF146DF08810000000000000000E0218000CAB65EF146DF08810000000000000000E001032180"
        + "00107A82F146DF08810000000000000000E001050109413768747470733A2F2F73686F702E6578616D706C652F726574"
        + "75726E410963735F31412F68747470733A2F2F7073702E6578616D706C652F706179218000563DA6F146DF0881000000"
        + "0000000000E021000321400972655F3101823E0105412B7265717565737465645F62795F637573746F6D6572410B7072"
        + "655F310109010301012180009C00CAF146DF08810000000000000000E04131657870697265645F6F725F63616E63656C"
        + "65645F6361726401030103010301010105218000E2C3EDF146DF08810000000000000000E001030103E0E00103218000"
        + "B1243CF146DF08810000000000000000E0410F65666665637473218000445D65BA47DF08810000000000000000E00194"
        + "86020103010121000321400B6576745F314121726566756E642E737563636565646564C109C173218000288711F246DF"
        + "08810000000000000000E0411B7B226F626A656374223A7B7D7DE0E0010341117265706C61795F312180006E4A35F246"
        + "DF08810000000000000000E021400F70695F6C61746501940303218000B40D59F246DF08810000000000000000E00105"
        + "41117072655F6C61746501030111218000FAD07CF246DF08810000000000000000E041096C6F7374010301030105E001"
        + "15E0";

    [Fact]
    public void A_state_using_every_field_is_stored_exactly_as_the_binary_golden_copy()
    {
        using var host = SiloServices();

        var stored = StateSerializer(host).Serialize(FullState());

        Assert.Equal(GrainStateSerializer.BinaryFormat, stored[0]);
        Assert.Equal(BinaryGolden, Convert.ToHexString(stored));
    }

    [Fact]
    public void The_binary_golden_copy_reads_back_into_the_same_state()
    {
        using var host = SiloServices();

        var read = StateSerializer(host).Deserialize<PaymentOrderState>(Convert.FromHexString(BinaryGolden)) ?? throw new InvalidOperationException("nothing read");

        Assert.Equal(AsJson(host, FullState()), AsJson(host, read));
        Assert.True(read.AwaitsCheckout && read.AttemptCountedAhead);
        Assert.Equal(12_345, read.AmountMinor);
        Assert.Equal(2_000, read.Refunds[0].AmountMinor);
        Assert.Equal(12_345, read.LatePayment!.AmountMinor);
    }

    [Fact]
    public void A_binary_row_of_the_build_before_orders_were_created_started_reads_with_both_flags_false()
    {
        using var host = SiloServices();

        var read = StateSerializer(host).Deserialize<PaymentOrderState>(Convert.FromHexString(BinaryGoldenBeforeCreatedStarted)) ?? throw new InvalidOperationException("nothing read");

        Assert.Equal(AsJson(host, EarlierBuildState()), AsJson(host, read));
        Assert.False(read.AwaitsCheckout || read.AttemptCountedAhead);
    }

    [Fact]
    public void The_json_an_earlier_build_stored_reads_back_into_the_same_state()
    {
        using var host = SiloServices();

        var read = StateSerializer(host).Deserialize<PaymentOrderState>(Encoding.UTF8.GetBytes(Golden)) ?? throw new InvalidOperationException("nothing read");

        Assert.Equal(Golden, AsJson(host, read));
        Assert.Equal(AsJson(host, EarlierBuildState()), AsJson(host, read));
        Assert.Equal(PaymentOrderStatus.Success, read.Status);
        Assert.Equal(2, read.History.Count);
    }

    private static GrainStateSerializer StateSerializer(IHost host) => ActivatorUtilities.CreateInstance<GrainStateSerializer>(host.Services);

    /// <summary>The state as the earlier builds' JSON: every field in text, to compare states by.</summary>
    private static string AsJson(IHost host, PaymentOrderState state) =>
        host.Services.GetRequiredService<IGrainStorageSerializer>().Serialize(state).ToString();

    /// <summary>The services of a silo, never started: they name the grain storage serializer every provider falls back on.</summary>
    private static IHost SiloServices()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering());
        return builder.Build();
    }

    private static PaymentOrderState FullState()
    {
        var at = new DateTimeOffset(2026, 11, 20, 10, 30, 0, TimeSpan.Zero);
        return new PaymentOrderState
        {
            Exists = true,
            MerchantId = "merchant_1",
            CheckoutId = "chk_1",
            SellerAccount = "seller_1",
            AmountMinor = 12_345,
            Currency = "USD",
            PaymentMethodToken = "pm_card_visa",
            BuyerId = "buyer_1",
            Status = PaymentOrderStatus.Success,
            PspReference = "pi_1",
            WalletUpdated = true,
            LedgerUpdated = false,
            Attempts = 3,
            NextRetryAt = at.AddSeconds(4),
            LastError = "timeout",
            Failure = new PaymentFailure("card_declined", "Declined.", Retryable: false),
            RefundedMinor = 2_000,
            History = [new PaymentOrderHistoryEntry(PaymentOrderStatus.NotStarted, at), new PaymentOrderHistoryEntry(PaymentOrderStatus.Success, at.AddSeconds(1))],
            CreatedAt = at,
            UpdatedAt = at.AddMinutes(1),
            DeadLettered = true,
            DeadLetteredAt = at.AddMinutes(2),
            AttemptsAtBudgetStart = 1,
            EffectFailures = 2,
            ReturnUrl = "https://shop.example/return",
            HostedSessionId = "cs_1",
            ActionUrl = "https://psp.example/pay",
            PspCheckedAt = at.AddMinutes(3),
            Refunds =
            [
                new RefundState
                {
                    RefundId = "re_1",
                    AmountMinor = 2_000,
                    Status = RefundStatus.Succeeded,
                    Reason = "requested_by_customer",
                    PspRefundId = "pre_1",
                    Attempts = 2,
                    WalletUpdated = true,
                    LedgerUpdated = false,
                    CreatedAt = at.AddMinutes(4),
                    FailureCode = "expired_or_canceled_card",
                    PspAnswered = true,
                    FailedAfterSuccess = true,
                    ReversalWalletUpdated = true,
                    ReversalLedgerUpdated = false,
                    AttemptsAtBudgetStart = 1,
                    NextRetryAt = at.AddMinutes(5),
                    FromAvailable = true,
                    ReversalToAvailable = true,
                },
            ],
            HostedPageClosed = true,
            FirstAttemptAt = at.AddSeconds(2),
            DeadLetterStage = "effects",
            FulfilledAt = at.AddDays(1),
            FulfilledMinor = 10_345,
            FulfillmentWalletUpdated = true,
            FulfillmentLedgerUpdated = false,
            OwedEvents =
            [
                new OwedEvent
                {
                    EventId = "evt_1", Type = "refund.succeeded", OrderingKey = "chk_1", SubjectId = "re_1", CreatedAt = at.AddMinutes(6), Data = "{\"object\":{}}",
                },
            ],
            OwesCheckoutNotice = true,
            LastReplayRequest = "replay_1",
            ActionRequiredAt = at.AddMinutes(7),
            LatePayment = new LatePaymentState
            {
                PaymentIntentId = "pi_late",
                AmountMinor = 12_345,
                FoundAt = at.AddMinutes(8),
                RefundStatus = RefundStatus.Succeeded,
                PspRefundId = "pre_late",
                PspAnswered = true,
                Attempts = 4,
                NextRetryAt = at.AddMinutes(9),
                FailureCode = "lost",
                PaymentBooked = true,
                RefundBooked = true,
                BookingFailures = 1,
            },
            ActionExpiryAttempts = 5,
            AwaitsCheckout = true,
            AttemptCountedAhead = true,
        };
    }

    /// <summary><see cref="FullState"/> as the build that wrote <see cref="Golden"/> knew it: the fields added since at their defaults.</summary>
    private static PaymentOrderState EarlierBuildState()
    {
        var state = FullState();
        state.AwaitsCheckout = false;
        state.AttemptCountedAhead = false;
        return state;
    }
}
