using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Stripe;
using CheckoutSession = Stripe.Checkout.Session;

namespace Payments.Psp;

/// <summary>
/// Checks a PSP webhook the Stripe way (<c>Stripe-Signature: t=...,v1=...</c>, HMAC-SHA256 over
/// <c>"{t}.{raw body}"</c>) against every configured signing secret, and reduces the event to a
/// <see cref="PspEvent"/>. The signature and its age are checked by Stripe.net's
/// <see cref="EventUtility.ValidateSignature(string, string, string, long, long)"/> with the current time
/// taken from the injected <see cref="TimeProvider"/>. Never throws for bad input.
/// </summary>
public sealed class StripeWebhookVerifier
{
    /// <summary>How far, in seconds, a webhook's timestamp may be from now, either way.</summary>
    public const long ToleranceSeconds = 300;

    public const string SignatureMissing = "signature_missing";
    public const string SignatureMalformed = "signature_malformed";
    public const string SignatureMismatch = "signature_mismatch";
    public const string TimestampOutOfTolerance = "timestamp_out_of_tolerance";
    public const string PayloadInvalid = "payload_invalid";

    private readonly IOptions<PspOptions> _options;
    private readonly TimeProvider _timeProvider;

    public StripeWebhookVerifier(IOptions<PspOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _timeProvider = timeProvider;
    }

    /// <param name="payload">The raw request body, exactly as received.</param>
    /// <param name="signatureHeader">The <c>Stripe-Signature</c> header, if any.</param>
    public PspWebhookVerification Verify(string payload, string? signatureHeader)
    {
        if (string.IsNullOrEmpty(payload))
        {
            return Invalid(PayloadInvalid);
        }

        if (string.IsNullOrWhiteSpace(signatureHeader))
        {
            return Invalid(SignatureMissing);
        }

        // The SDK throws exceptions other than StripeException for some malformed headers (a non-numeric
        // or 32-bit-overflowing t), so the shape is checked first.
        if (!TryReadTimestamp(signatureHeader, out var timestamp))
        {
            return Invalid(SignatureMalformed);
        }

        var now = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var verified = false;
        foreach (var secret in _options.Value.WebhookSecrets ?? [])
        {
            if (string.IsNullOrEmpty(secret))
            {
                continue;
            }

            try
            {
                EventUtility.ValidateSignature(payload, signatureHeader, secret, ToleranceSeconds, now);
                verified = true;
                break;
            }
            catch (StripeException)
            {
                // Not this secret (or too old); during a rotation another one may match.
            }
            catch (Exception exception) when (exception is FormatException or OverflowException or EncoderFallbackException)
            {
                return Invalid(SignatureMalformed);
            }
        }

        if (!verified)
        {
            // The SDK refuses a timestamp out of tolerance whatever the secret; say which it was.
            return Invalid(Math.Abs(now - timestamp) > ToleranceSeconds ? TimestampOutOfTolerance : SignatureMismatch);
        }

        Event? stripeEvent;
        try
        {
            stripeEvent = EventUtility.ParseEvent(payload, throwOnApiVersionMismatch: false);
        }
        catch (Exception exception) when (exception is JsonException or StripeException or ArgumentException
            or NotSupportedException or InvalidOperationException or FormatException or OverflowException)
        {
            return Invalid(PayloadInvalid);
        }

        if (stripeEvent is null || string.IsNullOrEmpty(stripeEvent.Id) || string.IsNullOrEmpty(stripeEvent.Type))
        {
            return Invalid(PayloadInvalid);
        }

        return new PspWebhookVerification(Map(stripeEvent), null);
    }

    /// <summary>Reduces a parsed Stripe event to what the payment orders need.</summary>
    public static PspEvent Map(Event stripeEvent)
    {
        ArgumentNullException.ThrowIfNull(stripeEvent);
        var mapped = new PspEvent(
            stripeEvent.Id,
            stripeEvent.Type,
            new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc)),
            PaymentOrderId: null,
            PaymentIntentId: null,
            PaymentIntentStatus: null,
            FailureCode: null,
            FailureMessage: null,
            CheckoutSessionId: null,
            SessionPaymentStatus: null,
            RefundId: null,
            RefundStatus: null);

        switch (stripeEvent.Data?.Object)
        {
            case PaymentIntent intent:
                return mapped with
                {
                    PaymentOrderId = Metadata(intent.Metadata, StripePspClient.PaymentOrderIdMetadataKey),
                    PaymentIntentId = intent.Id,
                    PaymentIntentStatus = intent.Status,
                    FailureCode = intent.LastPaymentError is { } error ? StripePspClient.DeclineCode(error) : null,
                    FailureMessage = intent.LastPaymentError?.Message,
                };

            case CheckoutSession session:
                return mapped with
                {
                    PaymentOrderId = NullIfEmpty(session.ClientReferenceId) ?? Metadata(session.Metadata, StripePspClient.PaymentOrderIdMetadataKey),
                    PaymentIntentId = session.PaymentIntentId,
                    CheckoutSessionId = session.Id,
                    SessionPaymentStatus = session.PaymentStatus,
                };

            case Charge charge:
            {
                // charge.refunded lists the charge's refunds; the newest is the one that caused the event.
                var refund = charge.Refunds?.Data?
                    .Where(r => r is not null)
                    .OrderByDescending(r => r.Created)
                    .FirstOrDefault();
                return mapped with
                {
                    PaymentOrderId = Metadata(charge.Metadata, StripePspClient.PaymentOrderIdMetadataKey)
                        ?? Metadata(refund?.Metadata, StripePspClient.PaymentOrderIdMetadataKey),
                    PaymentIntentId = charge.PaymentIntentId,
                    FailureCode = NullIfEmpty(charge.FailureCode),
                    FailureMessage = NullIfEmpty(charge.FailureMessage),
                    RefundId = Metadata(refund?.Metadata, StripePspClient.RefundIdMetadataKey),
                    RefundStatus = refund?.Status,
                    PspRefundId = NullIfEmpty(refund?.Id),
                };
            }

            case Refund refund:
                return mapped with
                {
                    PaymentOrderId = Metadata(refund.Metadata, StripePspClient.PaymentOrderIdMetadataKey),
                    PaymentIntentId = refund.PaymentIntentId,
                    FailureCode = NullIfEmpty(refund.FailureReason),
                    RefundId = Metadata(refund.Metadata, StripePspClient.RefundIdMetadataKey),
                    RefundStatus = refund.Status,
                    PspRefundId = NullIfEmpty(refund.Id),
                };

            case Payout payout:
                return mapped with
                {
                    PayoutId = Metadata(payout.Metadata, StripePspClient.PayoutIdMetadataKey),
                    PayoutStatus = payout.Status,
                    PspPayoutId = NullIfEmpty(payout.Id),
                    FailureCode = NullIfEmpty(payout.FailureCode),
                    FailureMessage = NullIfEmpty(payout.FailureMessage),
                };

            default:
                // An object this version does not know: verified, with what the event itself says.
                return mapped;
        }
    }

    private static bool TryReadTimestamp(string header, out long timestamp)
    {
        timestamp = 0;
        var hasTimestamp = false;
        var hasV1 = false;
        foreach (var item in header.Split(','))
        {
            var parts = item.Trim().Split('=', 2);
            if (parts.Length != 2)
            {
                return false;
            }

            switch (parts[0])
            {
                case "t":
                    // The SDK reads t as a 32-bit integer and uses the first one.
                    if (hasTimestamp || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                    {
                        return false;
                    }

                    timestamp = seconds;
                    hasTimestamp = true;
                    break;
                case "v1":
                    hasV1 |= parts[1].Length > 0;
                    break;
            }
        }

        return hasTimestamp && hasV1;
    }

    private static string? Metadata(Dictionary<string, string>? metadata, string key) =>
        metadata is not null && metadata.TryGetValue(key, out var value) ? NullIfEmpty(value) : null;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static PspWebhookVerification Invalid(string reason) => new(null, reason);
}
