using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Storage;
using Payments.Core.PaymentOrders;
using Payments.Grains.Events;
using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit.PaymentOrders;

/// <summary>
/// Stored orders must still read, and read the same: the state is written by the silo's own grain storage serializer, and
/// its JSON for an order that uses every field is pinned here. A property renamed, retyped, added or dropped (a computed
/// one included, unless it is ignored by the serializer) changes the text and fails the test.
/// </summary>
public sealed class PaymentOrderStateStorageTests
{
    /// <summary>What the code before the grain became a shell wrote for <see cref="FullState"/> (one line, as stored).</summary>
    private const string Golden = """
        {"$id":"1","$type":"Payments.Grains.PaymentOrders.PaymentOrderState, Payments.Grains","Exists":true,"MerchantId":"merchant_1","CheckoutId":"chk_1","SellerAccount":"seller_1","AmountMinor":12345,"Currency":"USD","PaymentMethodToken":"pm_card_visa","BuyerId":"buyer_1","Status":3,"PspReference":"pi_1","WalletUpdated":true,"Attempts":3,"NextRetryAt":"2026-11-20T10:30:04+00:00","LastError":"timeout","Failure":{"$id":"2","$type":"Payments.Core.PaymentOrders.PaymentFailure, Payments.Core","Code":"card_declined","Message":"Declined."},"RefundedMinor":2000,"History":{"$type":"System.Collections.Generic.List`1[[Payments.Core.PaymentOrders.PaymentOrderHistoryEntry, Payments.Core]], System.Private.CoreLib","$values":[{"$id":"3","$type":"Payments.Core.PaymentOrders.PaymentOrderHistoryEntry, Payments.Core","At":"2026-11-20T10:30:00+00:00"},{"$id":"4","$type":"Payments.Core.PaymentOrders.PaymentOrderHistoryEntry, Payments.Core","Status":3,"At":"2026-11-20T10:30:01+00:00"}]},"CreatedAt":"2026-11-20T10:30:00+00:00","UpdatedAt":"2026-11-20T10:31:00+00:00","DeadLettered":true,"DeadLetteredAt":"2026-11-20T10:32:00+00:00","AttemptsAtBudgetStart":1,"EffectFailures":2,"ReturnUrl":"https://shop.example/return","HostedSessionId":"cs_1","ActionUrl":"https://psp.example/pay","PspCheckedAt":"2026-11-20T10:33:00+00:00","Refunds":{"$type":"System.Collections.Generic.List`1[[Payments.Grains.PaymentOrders.RefundState, Payments.Grains]], System.Private.CoreLib","$values":[{"$id":"5","$type":"Payments.Grains.PaymentOrders.RefundState, Payments.Grains","RefundId":"re_1","AmountMinor":2000,"Status":1,"Reason":"requested_by_customer","PspRefundId":"pre_1","Attempts":2,"WalletUpdated":true,"CreatedAt":"2026-11-20T10:34:00+00:00","FailureCode":"expired_or_canceled_card","PspAnswered":true,"FailedAfterSuccess":true,"ReversalWalletUpdated":true,"AttemptsAtBudgetStart":1,"NextRetryAt":"2026-11-20T10:35:00+00:00","FromAvailable":true,"ReversalToAvailable":true,"OwesEffects":true}]},"HostedPageClosed":true,"FirstAttemptAt":"2026-11-20T10:30:02+00:00","DeadLetterStage":"effects","FulfilledAt":"2026-11-21T10:30:00+00:00","FulfilledMinor":10345,"FulfillmentWalletUpdated":true,"OwedEvents":{"$type":"System.Collections.Generic.List`1[[Payments.Grains.Events.OwedEvent, Payments.Grains]], System.Private.CoreLib","$values":[{"$id":"6","$type":"Payments.Grains.Events.OwedEvent, Payments.Grains","EventId":"evt_1","Type":"refund.succeeded","OrderingKey":"chk_1","SubjectId":"re_1","CreatedAt":"2026-11-20T10:36:00+00:00","Data":"{\"object\":{}}"}]},"OwesCheckoutNotice":true,"LastReplayRequest":"replay_1","ActionRequiredAt":"2026-11-20T10:37:00+00:00","LatePayment":{"$id":"7","$type":"Payments.Grains.PaymentOrders.LatePaymentState, Payments.Grains","PaymentIntentId":"pi_late","AmountMinor":12345,"FoundAt":"2026-11-20T10:38:00+00:00","RefundStatus":1,"PspRefundId":"pre_late","PspAnswered":true,"Attempts":4,"NextRetryAt":"2026-11-20T10:39:00+00:00","FailureCode":"lost","PaymentBooked":true,"RefundBooked":true,"BookingFailures":1,"IsSettled":true},"ActionExpiryAttempts":5,"OwesFulfillmentEffects":true}
        """;

    [Fact]
    public void A_state_using_every_field_serializes_exactly_as_the_golden_copy()
    {
        var json = Serialize(FullState());

        Assert.Equal(Golden, json);
    }

    [Fact]
    public void The_golden_copy_reads_back_into_the_same_state()
    {
        using var host = SiloServices();
        var serializer = host.Services.GetRequiredService<IGrainStorageSerializer>();

        var read = serializer.Deserialize<PaymentOrderState>(BinaryData.FromString(Golden)) ?? throw new InvalidOperationException("nothing read");

        Assert.Equal(Golden, Serialize(read));
        Assert.Equal(12_345, read.AmountMinor);
        Assert.Equal(2_000, read.Refunds[0].AmountMinor);
        Assert.Equal(12_345, read.LatePayment!.AmountMinor);
    }

    private static string Serialize(PaymentOrderState state)
    {
        using var host = SiloServices();
        return host.Services.GetRequiredService<IGrainStorageSerializer>().Serialize(state).ToString();
    }

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
        };
    }
}
