using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Payments.Psp;

using Payments.Tests.Infrastructure;

namespace Payments.Tests.Unit;

public sealed class StripeWebhookVerifierTests
{
    private const string Secret = "whsec_test_current";
    private const string RotatedSecret = "whsec_test_next";
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    private const string PaymentIntentSucceeded = """
        {
          "id": "evt_3PaySucceeded01",
          "object": "event",
          "api_version": "2025-10-29.clover",
          "created": 1795608000,
          "livemode": false,
          "pending_webhooks": 1,
          "request": { "id": "req_abc123", "idempotency_key": "po_1001" },
          "type": "payment_intent.succeeded",
          "data": {
            "object": {
              "id": "pi_3PaySucceeded01",
              "object": "payment_intent",
              "amount": 10000,
              "amount_received": 10000,
              "currency": "eur",
              "status": "succeeded",
              "created": 1795607990,
              "livemode": false,
              "metadata": { "payment_order_id": "po_1001", "checkout_id": "co_77" },
              "last_payment_error": null,
              "next_action": null,
              "payment_method": "pm_1Visa",
              "payment_method_types": ["card"],
              "latest_charge": "ch_3PaySucceeded01"
            }
          }
        }
        """;

    private static StripeWebhookVerifier CreateVerifier(FakeTimeProvider? time = null, params string[] secrets) =>
        new(
            Options.Create(new PspOptions { WebhookSecrets = secrets.Length > 0 ? secrets : [Secret] }),
            time ?? new FakeTimeProvider(Now));

    private static PspEvent AssertValid(PspWebhookVerification verification)
    {
        Assert.True(verification.IsValid, $"refused: {verification.Failure}");
        Assert.Null(verification.Failure);
        return verification.Event!;
    }

    [Fact]
    public void Payment_intent_succeeded_maps_the_intent()
    {
        var verification = CreateVerifier().Verify(PaymentIntentSucceeded, StripeEvents.Signature(PaymentIntentSucceeded, Secret, Now));

        var psp = AssertValid(verification);
        Assert.Equal("evt_3PaySucceeded01", psp.Id);
        Assert.Equal("payment_intent.succeeded", psp.Type);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795608000), psp.Created);
        Assert.Equal("po_1001", psp.PaymentOrderId);
        Assert.Equal("pi_3PaySucceeded01", psp.PaymentIntentId);
        Assert.Equal("succeeded", psp.PaymentIntentStatus);
        Assert.Null(psp.FailureCode);
        Assert.Null(psp.FailureMessage);
        Assert.Null(psp.CheckoutSessionId);
        Assert.Null(psp.RefundId);
    }

    [Fact]
    public void Payment_intent_payment_failed_maps_the_decline_code_and_message()
    {
        const string payload = """
            {
              "id": "evt_3PayFailed01",
              "object": "event",
              "api_version": "2025-10-29.clover",
              "created": 1795608001,
              "livemode": false,
              "type": "payment_intent.payment_failed",
              "data": {
                "object": {
                  "id": "pi_3PayFailed01",
                  "object": "payment_intent",
                  "amount": 2500,
                  "currency": "usd",
                  "status": "requires_payment_method",
                  "metadata": { "payment_order_id": "po_1002" },
                  "last_payment_error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds."
                  }
                }
              }
            }
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("payment_intent.payment_failed", psp.Type);
        Assert.Equal("po_1002", psp.PaymentOrderId);
        Assert.Equal("pi_3PayFailed01", psp.PaymentIntentId);
        Assert.Equal("requires_payment_method", psp.PaymentIntentStatus);
        Assert.Equal("insufficient_funds", psp.FailureCode);
        Assert.Equal("Your card has insufficient funds.", psp.FailureMessage);
    }

    [Fact]
    public void Payment_intent_failure_without_decline_code_falls_back_to_the_code()
    {
        const string payload = """
            {"id":"evt_3PayFailed02","object":"event","api_version":"2025-10-29.clover","created":1795608002,"type":"payment_intent.payment_failed",
             "data":{"object":{"id":"pi_3PayFailed02","object":"payment_intent","status":"requires_payment_method","metadata":{"payment_order_id":"po_1003"},
             "last_payment_error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}}}
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("expired_card", psp.FailureCode);
        Assert.Equal("Your card has expired.", psp.FailureMessage);
    }

    [Fact]
    public void Checkout_session_completed_maps_the_session()
    {
        const string payload = """
            {
              "id": "evt_1SessionDone01",
              "object": "event",
              "api_version": "2025-10-29.clover",
              "created": 1795608003,
              "livemode": false,
              "type": "checkout.session.completed",
              "data": {
                "object": {
                  "id": "cs_test_a1B2c3",
                  "object": "checkout.session",
                  "amount_total": 10000,
                  "currency": "eur",
                  "mode": "payment",
                  "status": "complete",
                  "payment_status": "paid",
                  "payment_intent": "pi_3FromSession01",
                  "client_reference_id": "po_1004",
                  "metadata": { "payment_order_id": "po_1004" },
                  "success_url": "https://shop.example/return",
                  "cancel_url": "https://shop.example/return",
                  "url": null
                }
              }
            }
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("checkout.session.completed", psp.Type);
        Assert.Equal("cs_test_a1B2c3", psp.CheckoutSessionId);
        Assert.Equal("paid", psp.SessionPaymentStatus);
        Assert.Equal("pi_3FromSession01", psp.PaymentIntentId);
        Assert.Equal("po_1004", psp.PaymentOrderId);
        Assert.Null(psp.PaymentIntentStatus);
    }

    [Fact]
    public void Checkout_session_without_client_reference_id_takes_the_payment_order_from_metadata()
    {
        const string payload = """
            {"id":"evt_1SessionDone02","object":"event","api_version":"2025-10-29.clover","created":1795608004,"type":"checkout.session.expired",
             "data":{"object":{"id":"cs_test_x9","object":"checkout.session","status":"expired","payment_status":"unpaid","payment_intent":null,
             "client_reference_id":null,"metadata":{"payment_order_id":"po_1005"}}}}
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("po_1005", psp.PaymentOrderId);
        Assert.Equal("unpaid", psp.SessionPaymentStatus);
        Assert.Null(psp.PaymentIntentId);
    }

    [Fact]
    public void Charge_refunded_maps_the_newest_refund()
    {
        const string payload = """
            {
              "id": "evt_3ChargeRefunded01",
              "object": "event",
              "api_version": "2025-10-29.clover",
              "created": 1795608005,
              "type": "charge.refunded",
              "data": {
                "object": {
                  "id": "ch_3PaySucceeded01",
                  "object": "charge",
                  "amount": 10000,
                  "amount_refunded": 7000,
                  "currency": "eur",
                  "paid": true,
                  "refunded": false,
                  "status": "succeeded",
                  "payment_intent": "pi_3PaySucceeded01",
                  "metadata": { "payment_order_id": "po_1001" },
                  "refunds": {
                    "object": "list",
                    "data": [
                      { "id": "re_new", "object": "refund", "amount": 3000, "currency": "eur", "created": 1795608004, "status": "succeeded",
                        "charge": "ch_3PaySucceeded01", "payment_intent": "pi_3PaySucceeded01",
                        "metadata": { "refund_id": "rf_2", "payment_order_id": "po_1001" } },
                      { "id": "re_old", "object": "refund", "amount": 4000, "currency": "eur", "created": 1795600000, "status": "succeeded",
                        "charge": "ch_3PaySucceeded01", "payment_intent": "pi_3PaySucceeded01",
                        "metadata": { "refund_id": "rf_1", "payment_order_id": "po_1001" } }
                    ],
                    "has_more": false,
                    "total_count": 2,
                    "url": "/v1/charges/ch_3PaySucceeded01/refunds"
                  }
                }
              }
            }
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("charge.refunded", psp.Type);
        Assert.Equal("po_1001", psp.PaymentOrderId);
        Assert.Equal("pi_3PaySucceeded01", psp.PaymentIntentId);
        Assert.Equal("rf_2", psp.RefundId);
        Assert.Equal("succeeded", psp.RefundStatus);
    }

    [Fact]
    public void Refund_updated_maps_the_refund()
    {
        const string payload = """
            {
              "id": "evt_3RefundUpdated01",
              "object": "event",
              "api_version": "2025-10-29.clover",
              "created": 1795608006,
              "type": "refund.updated",
              "data": {
                "object": {
                  "id": "re_3Refund01",
                  "object": "refund",
                  "amount": 4000,
                  "currency": "eur",
                  "created": 1795608000,
                  "status": "failed",
                  "failure_reason": "expired_or_canceled_card",
                  "charge": "ch_3PaySucceeded01",
                  "payment_intent": "pi_3PaySucceeded01",
                  "reason": "requested_by_customer",
                  "metadata": { "refund_id": "rf_9", "payment_order_id": "po_1001" }
                },
                "previous_attributes": { "status": "pending" }
              }
            }
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("refund.updated", psp.Type);
        Assert.Equal("rf_9", psp.RefundId);
        Assert.Equal("failed", psp.RefundStatus);
        Assert.Equal("pi_3PaySucceeded01", psp.PaymentIntentId);
        Assert.Equal("po_1001", psp.PaymentOrderId);
        Assert.Equal("expired_or_canceled_card", psp.FailureCode);
    }

    [Fact]
    public void Payout_failed_maps_our_payout_id_its_status_and_failure()
    {
        const string payload = """
            {
              "id": "evt_1PayoutFailed01",
              "object": "event",
              "api_version": "2026-10-28.endive",
              "created": 1795608008,
              "type": "payout.failed",
              "data": {
                "object": {
                  "id": "po_1PayoutFailed01",
                  "object": "payout",
                  "amount": 6000,
                  "arrival_date": 1795564800,
                  "automatic": false,
                  "balance_transaction": null,
                  "created": 1795608000,
                  "currency": "usd",
                  "destination": "ba_sim_closed",
                  "failure_code": "account_closed",
                  "failure_message": "The bank account has been closed.",
                  "livemode": false,
                  "metadata": { "payout_id": "pay_1", "seller_account": "seller_7" },
                  "method": "standard",
                  "status": "failed",
                  "type": "bank_account"
                }
              }
            }
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("evt_1PayoutFailed01", psp.Id);
        Assert.Equal("payout.failed", psp.Type);
        Assert.Equal("pay_1", psp.PayoutId);
        Assert.Equal("failed", psp.PayoutStatus);
        Assert.Equal("account_closed", psp.FailureCode);
        Assert.Equal("The bank account has been closed.", psp.FailureMessage);
        Assert.Null(psp.PaymentOrderId);
        Assert.Null(psp.PaymentIntentId);
        Assert.Null(psp.RefundId);
    }

    [Fact]
    public void Payout_paid_maps_our_payout_id_and_no_failure()
    {
        const string payload = """
            {"id":"evt_1PayoutPaid02","object":"event","api_version":"2026-10-28.endive","created":1795608009,"type":"payout.paid",
             "data":{"object":{"id":"po_1PayoutPaid02","object":"payout","amount":5000,"currency":"eur","status":"paid","arrival_date":1795564800,
             "failure_code":null,"failure_message":null,"metadata":{"payout_id":"pay_2"}}}}
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("payout.paid", psp.Type);
        Assert.Equal("pay_2", psp.PayoutId);
        Assert.Equal("paid", psp.PayoutStatus);
        Assert.Null(psp.FailureCode);
        Assert.Null(psp.FailureMessage);
    }

    [Fact]
    public void An_event_of_another_type_verifies_and_keeps_its_envelope()
    {
        const string payload = """
            {"id":"evt_1PayoutPaid01","object":"event","api_version":"2025-10-29.clover","created":1795608007,"type":"payout.paid",
             "data":{"object":{"id":"po_1Payout","object":"payout","amount":5000,"currency":"eur","status":"paid","arrival_date":1795608007,
             "metadata":{"payout_id":"pay_1"}}}}
            """;

        var psp = AssertValid(CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now)));

        Assert.Equal("evt_1PayoutPaid01", psp.Id);
        Assert.Equal("payout.paid", psp.Type);
        Assert.Null(psp.PaymentOrderId);
        Assert.Null(psp.PaymentIntentId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void A_missing_header_is_refused(string? header)
    {
        var verification = CreateVerifier().Verify(PaymentIntentSucceeded, header);

        Assert.False(verification.IsValid);
        Assert.Null(verification.Event);
        Assert.Equal(StripeWebhookVerifier.SignatureMissing, verification.Failure);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("t=abc,v1=00ff")]
    [InlineData("v1=00ff")]
    [InlineData("t=1795608000")]
    [InlineData("t=99999999999,v1=00ff")]
    [InlineData("t=1795608000,v1")]
    [InlineData(",,,")]
    public void A_malformed_header_is_refused(string header)
    {
        var verification = CreateVerifier().Verify(PaymentIntentSucceeded, header);

        Assert.False(verification.IsValid);
        Assert.Equal(StripeWebhookVerifier.SignatureMalformed, verification.Failure);
    }

    [Fact]
    public void A_signature_made_with_another_secret_is_refused()
    {
        var verification = CreateVerifier().Verify(PaymentIntentSucceeded, StripeEvents.Signature(PaymentIntentSucceeded, "whsec_attacker", Now));

        Assert.False(verification.IsValid);
        Assert.Equal(StripeWebhookVerifier.SignatureMismatch, verification.Failure);
    }

    [Fact]
    public void A_tampered_body_is_refused()
    {
        var header = StripeEvents.Signature(PaymentIntentSucceeded, Secret, Now);
        var tampered = PaymentIntentSucceeded.Replace("\"amount\": 10000", "\"amount\": 1", StringComparison.Ordinal);
        Assert.NotEqual(PaymentIntentSucceeded, tampered);

        var verification = CreateVerifier().Verify(tampered, header);

        Assert.False(verification.IsValid);
        Assert.Equal(StripeWebhookVerifier.SignatureMismatch, verification.Failure);
    }

    [Fact]
    public void A_timestamp_301_seconds_old_is_refused_and_300_is_accepted()
    {
        var time = new FakeTimeProvider(Now);
        var verifier = CreateVerifier(time);
        var signedAt = Now - TimeSpan.FromSeconds(300);
        var header = StripeEvents.Signature(PaymentIntentSucceeded, Secret, signedAt);

        Assert.True(verifier.Verify(PaymentIntentSucceeded, header).IsValid);

        time.Advance(TimeSpan.FromSeconds(1));
        var verification = verifier.Verify(PaymentIntentSucceeded, header);

        Assert.False(verification.IsValid);
        Assert.Equal(StripeWebhookVerifier.TimestampOutOfTolerance, verification.Failure);
    }

    [Fact]
    public void A_timestamp_301_seconds_in_the_future_is_refused()
    {
        var verification = CreateVerifier().Verify(
            PaymentIntentSucceeded,
            StripeEvents.Signature(PaymentIntentSucceeded, Secret, Now + TimeSpan.FromSeconds(301)));

        Assert.False(verification.IsValid);
        Assert.Equal(StripeWebhookVerifier.TimestampOutOfTolerance, verification.Failure);
    }

    [Fact]
    public void Any_configured_secret_is_enough_during_a_rotation()
    {
        var verifier = CreateVerifier(null, Secret, RotatedSecret);

        Assert.True(verifier.Verify(PaymentIntentSucceeded, StripeEvents.Signature(PaymentIntentSucceeded, RotatedSecret, Now)).IsValid);
        Assert.True(verifier.Verify(PaymentIntentSucceeded, StripeEvents.Signature(PaymentIntentSucceeded, Secret, Now)).IsValid);
        Assert.False(verifier.Verify(PaymentIntentSucceeded, StripeEvents.Signature(PaymentIntentSucceeded, "whsec_other", Now)).IsValid);
    }

    [Fact]
    public void A_header_with_several_v1_values_is_accepted_when_any_matches()
    {
        var header = $"t={StripeEvents.UnixSeconds(Now)},v1={StripeEvents.Mac(PaymentIntentSucceeded, "whsec_old", StripeEvents.UnixSeconds(Now))},v1={StripeEvents.Mac(PaymentIntentSucceeded, Secret, StripeEvents.UnixSeconds(Now))}";

        var psp = AssertValid(CreateVerifier().Verify(PaymentIntentSucceeded, header));

        Assert.Equal("pi_3PaySucceeded01", psp.PaymentIntentId);
    }

    [Fact]
    public void Other_schemes_in_the_header_are_ignored()
    {
        var header = $"t={StripeEvents.UnixSeconds(Now)},v0=deadbeef,v1={StripeEvents.Mac(PaymentIntentSucceeded, Secret, StripeEvents.UnixSeconds(Now))}";

        Assert.True(CreateVerifier().Verify(PaymentIntentSucceeded, header).IsValid);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"id\":\"evt_1\",\"object\":\"event\",\"type\":")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("{\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"created\":1795608000,\"data\":{\"object\":{}}}")]
    public void A_signed_but_unparseable_payload_is_refused(string payload)
    {
        var verification = CreateVerifier().Verify(payload, StripeEvents.Signature(payload, Secret, Now));

        Assert.False(verification.IsValid);
        Assert.Equal(StripeWebhookVerifier.PayloadInvalid, verification.Failure);
    }

    [Fact]
    public void An_empty_payload_is_refused()
    {
        var verification = CreateVerifier().Verify(string.Empty, StripeEvents.Signature(string.Empty, Secret, Now));

        Assert.False(verification.IsValid);
    }

    [Fact]
    public void AddStripePsp_registers_the_verifier_with_the_configured_secrets()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Psp:WebhookSecrets:0"] = Secret,
                ["Psp:WebhookSecrets:1"] = RotatedSecret,
            })
            .Build();
        var time = new FakeTimeProvider(Now);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddStripePsp(configuration);
        using var provider = services.BuildServiceProvider();

        var verifier = provider.GetRequiredService<StripeWebhookVerifier>();

        Assert.Same(verifier, provider.GetRequiredService<StripeWebhookVerifier>());
        Assert.Same(time, provider.GetRequiredService<TimeProvider>());
        Assert.True(verifier.Verify(PaymentIntentSucceeded, StripeEvents.Signature(PaymentIntentSucceeded, RotatedSecret, Now)).IsValid);
        Assert.False(verifier.Verify(PaymentIntentSucceeded, StripeEvents.Signature(PaymentIntentSucceeded, "whsec_dev_payments_orleans", Now)).IsValid);
    }
}
