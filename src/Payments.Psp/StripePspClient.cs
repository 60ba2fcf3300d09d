using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Stripe;

namespace Payments.Psp;

/// <summary>
/// <see cref="IPspClient"/> over the official Stripe.net SDK, against Stripe or the Stripe-compatible
/// simulator. One call creates and confirms a payment intent, with the payment order id as the
/// Stripe idempotency key. The SDK's own network retries are off: retrying is the grain's job.
/// </summary>
public sealed class StripePspClient : IPspClient
{
    public const string PaymentOrderIdMetadataKey = "payment_order_id";

    private readonly PaymentIntentService _paymentIntents;
    private readonly TimeSpan _requestTimeout;
    private readonly ILogger _logger;

    public StripePspClient(HttpClient httpClient, IOptions<PspOptions> options, ILogger<StripePspClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _requestTimeout = settings.RequestTimeout;
        _logger = logger ?? (ILogger)NullLogger.Instance;

        var stripeHttpClient = new SystemNetHttpClient(
            httpClient: httpClient,
            maxNetworkRetries: 0,
            appInfo: new AppInfo { Name = "PaymentsOrleans" },
            enableTelemetry: false);
        var stripeClient = new StripeClient(new StripeClientOptions
        {
            ApiKey = settings.ApiKey,
            ApiBase = settings.BaseUrl.TrimEnd('/'),
            HttpClient = stripeHttpClient,
        });
        _paymentIntents = new PaymentIntentService(stripeClient);
    }

    public async Task<PspChargeOutcome> ChargeAsync(PspChargeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Metadata)
        {
            metadata[key] = value;
        }

        metadata[PaymentOrderIdMetadataKey] = request.PaymentOrderId;

        var createOptions = new PaymentIntentCreateOptions
        {
            Amount = request.AmountMinor,
            Currency = request.Currency.ToLowerInvariant(),
            PaymentMethod = request.PaymentMethodToken,
            Confirm = true,
            // Server-to-server card charge: no redirect-based methods, so no return_url is needed.
            AllowedPaymentMethodTypes = ["card"],
            Metadata = metadata,
        };
        var requestOptions = new RequestOptions { IdempotencyKey = request.PaymentOrderId };

        return await CallAsync(
            "charge",
            request.PaymentOrderId,
            token => _paymentIntents.CreateAsync(createOptions, requestOptions, token),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<PspChargeOutcome> GetChargeAsync(string paymentOrderId, string pspReference, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(pspReference);

        var outcome = await CallAsync(
            "retrieve",
            paymentOrderId,
            token => _paymentIntents.GetAsync(pspReference, options: null, requestOptions: null, cancellationToken: token),
            ct).ConfigureAwait(false);

        // Looking up a charge never makes it declined by itself: a lookup that the PSP rejects
        // (unknown id, bad key) says nothing about the charge, so its outcome stays unknown.
        if (outcome.Kind == PspOutcomeKind.Declined && outcome.PspReference is null)
        {
            return PspChargeOutcome.Unknown(outcome.FailureCode ?? "lookup_failed", outcome.FailureMessage);
        }

        return outcome;
    }

    private async Task<PspChargeOutcome> CallAsync(
        string operation,
        string paymentOrderId,
        Func<CancellationToken, Task<PaymentIntent>> call,
        CancellationToken cancellationToken)
    {
        // The HttpClient carries the timeout too, but enforce it here as well so that a client built
        // elsewhere (with a longer or infinite timeout) cannot hang a grain.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        try
        {
            var intent = await call(timeout.Token).ConfigureAwait(false);
            return FromPaymentIntent(intent);
        }
        catch (StripeException exception)
        {
            var outcome = FromStripeException(exception);
            _logger.LogWarning(
                "PSP {Operation} for payment order {PaymentOrderId}: HTTP {Status} {Type}/{Code} -> {Outcome}",
                operation, paymentOrderId, (int)exception.HttpStatusCode, exception.StripeError?.Type, exception.StripeError?.Code, outcome.Kind);
            return outcome;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout or our own deadline. The request may have reached the PSP: unknown.
            _logger.LogWarning("PSP {Operation} for payment order {PaymentOrderId} timed out", operation, paymentOrderId);
            return PspChargeOutcome.Unknown(
                "timeout",
                string.Create(CultureInfo.InvariantCulture, $"No answer from the PSP within {_requestTimeout.TotalSeconds:0.###} s."));
        }
        catch (HttpRequestException exception)
        {
            _logger.LogWarning(exception, "PSP {Operation} for payment order {PaymentOrderId} failed to connect", operation, paymentOrderId);
            return PspChargeOutcome.Unknown("connection_error", exception.Message);
        }
        catch (IOException exception)
        {
            _logger.LogWarning(exception, "PSP {Operation} for payment order {PaymentOrderId} lost the connection", operation, paymentOrderId);
            return PspChargeOutcome.Unknown("connection_error", exception.Message);
        }
    }

    /// <summary>Classifies a payment intent that the PSP returned with HTTP 200.</summary>
    public static PspChargeOutcome FromPaymentIntent(PaymentIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        switch (intent.Status)
        {
            case "succeeded":
                return PspChargeOutcome.Succeeded(intent.Id);
            case "requires_action":
            case "processing":
                return PspChargeOutcome.RequiresAction(intent.Id, intent.Status);
            case "requires_payment_method" when intent.LastPaymentError is { } error:
                // A failed attempt: the intent went back to waiting for another payment method.
                return PspChargeOutcome.Declined(DeclineCode(error), error.Message, intent.Id);
            case "canceled":
                return PspChargeOutcome.Declined("canceled", intent.CancellationReason ?? "The payment intent was canceled.", intent.Id);
            default:
                // requires_payment_method without an error, requires_confirmation, requires_capture:
                // not a state this client creates; nothing final can be said.
                return PspChargeOutcome.Unknown(
                    "unexpected_status",
                    $"Payment intent {intent.Id} is in status '{intent.Status}'.",
                    pspReference: intent.Id);
        }
    }

    /// <summary>Classifies an error answer of the PSP.</summary>
    public static PspChargeOutcome FromStripeException(StripeException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var status = (int)exception.HttpStatusCode;
        var error = exception.StripeError;
        var retryAfter = RetryAfter(exception.StripeResponse?.Headers);
        var message = error?.Message ?? exception.Message;
        var reference = error?.PaymentIntent?.Id;

        // Transient on the PSP's side (or a concurrent request holding the idempotency key's lock):
        // the charge may or may not have happened.
        if (status is 409 or 429 || status >= 500 || status == 0)
        {
            return PspChargeOutcome.Unknown(error?.Code ?? error?.Type ?? $"http_{status}", message, retryAfter, reference);
        }

        switch (error?.Type)
        {
            case "card_error":
                return PspChargeOutcome.Declined(DeclineCode(error), message, reference);
            case "invalid_request_error":
            case "idempotency_error":
                return PspChargeOutcome.Declined(error.Code ?? error.Type, message, reference);
            default:
                // authentication_error, permission_error, api_error, or an answer that is not a Stripe
                // error at all: a configuration or PSP problem, not the buyer's. Do not fail the payment.
                return PspChargeOutcome.Unknown(error?.Code ?? error?.Type ?? $"http_{status}", message, retryAfter, reference);
        }
    }

    private static string DeclineCode(StripeError error) =>
        error.DeclineCode == "insufficient_funds" ? "insufficient_funds" : error.Code ?? error.DeclineCode ?? "card_declined";

    private static TimeSpan? RetryAfter(HttpResponseHeaders? headers)
    {
        var value = headers?.RetryAfter;
        if (value is null)
        {
            return null;
        }

        if (value.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (value.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}
