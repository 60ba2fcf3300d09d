using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Stripe;
using Stripe.Checkout;

namespace Payments.Psp;

/// <summary>
/// <see cref="IPspClient"/> over the official Stripe.net SDK, against Stripe or the Stripe-compatible
/// simulator. One call creates and confirms a payment intent, with the payment order id as the
/// Stripe idempotency key; hosted payment pages are Checkout Sessions (key <c>hosted_page:{id}</c>),
/// refunds are keyed <c>refund:{refund id}</c> and payouts by the payout id itself. The SDK's own network retries
/// are off: retrying is the grain's job.
/// </summary>
public sealed partial class StripePspClient : IPspClient
{
    public const string PaymentOrderIdMetadataKey = "payment_order_id";
    public const string RefundIdMetadataKey = "refund_id";
    public const string PayoutIdMetadataKey = "payout_id";
    public const string SellerAccountMetadataKey = "seller_account";

    /// <summary>How many pages of <see cref="PayoutListPageSize"/> a payout search reads before it gives up.</summary>
    public const int PayoutSearchMaxPages = 10;

    public const int PayoutListPageSize = 100;

    /// <summary>The named HTTP client the one instance of the process is made with.</summary>
    public const string HttpClientName = "payments-psp";

    /// <summary>The refund reasons Stripe accepts; any other reason is not sent.</summary>
    private static readonly string[] StripeRefundReasons = ["duplicate", "fraudulent", "requested_by_customer"];

    private readonly PaymentIntentService _paymentIntents;
    private readonly SessionService _sessions;
    private readonly RefundService _refunds;
    private readonly PayoutService _payouts;
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
        _sessions = new SessionService(stripeClient);
        _refunds = new RefundService(stripeClient);
        _payouts = new PayoutService(stripeClient);
    }

    public async Task<PspChargeOutcome> ChargeAsync(PspChargeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var createOptions = new PaymentIntentCreateOptions
        {
            Amount = request.AmountMinor,
            Currency = request.Currency.ToLowerInvariant(),
            PaymentMethod = request.PaymentMethodToken,
            Confirm = true,
            // Server-to-server card charge: no redirect-based methods, so no return_url is needed.
            AllowedPaymentMethodTypes = ["card"],
            Metadata = WithPaymentOrderId(request.Metadata, request.PaymentOrderId),
        };
        var requestOptions = new RequestOptions { IdempotencyKey = request.PaymentOrderId };

        return await CallChargeAsync(
            "charge",
            request.PaymentOrderId,
            async token => FromPaymentIntent(await _paymentIntents.CreateAsync(createOptions, requestOptions, token).ConfigureAwait(false)),
            FromStripeException,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<PspChargeOutcome> GetChargeAsync(string paymentOrderId, string pspReference, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(pspReference);

        return await CallChargeAsync(
            "retrieve",
            paymentOrderId,
            async token => FromPaymentIntent(
                await _paymentIntents.GetAsync(pspReference, options: null, requestOptions: null, cancellationToken: token).ConfigureAwait(false)),
            FromLookupStripeException,
            ct).ConfigureAwait(false);
    }

    public async Task<PspChargeOutcome> CreateHostedPageAsync(PspHostedPageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var metadata = WithPaymentOrderId(request.Metadata, request.PaymentOrderId);
        var createOptions = new SessionCreateOptions
        {
            Mode = "payment",
            LineItems =
            [
                new SessionLineItemOptions
                {
                    PriceData = new SessionLineItemPriceDataOptions
                    {
                        Currency = request.Currency.ToLowerInvariant(),
                        UnitAmount = request.AmountMinor,
                        ProductData = new SessionLineItemPriceDataProductDataOptions { Name = $"Payment order {request.PaymentOrderId}" },
                    },
                    Quantity = 1,
                },
            ],
            SuccessUrl = request.ReturnUrl,
            CancelUrl = request.ReturnUrl,
            ClientReferenceId = request.PaymentOrderId,
            Metadata = metadata,
            // So that the payment intent the page creates, and its webhooks, name the payment order too.
            PaymentIntentData = new SessionPaymentIntentDataOptions { Metadata = new Dictionary<string, string>(metadata, StringComparer.Ordinal) },
        };
        var requestOptions = new RequestOptions { IdempotencyKey = $"hosted_page:{request.PaymentOrderId}" };

        return await CallChargeAsync(
            "create hosted page",
            request.PaymentOrderId,
            async token =>
            {
                var session = await _sessions.CreateAsync(createOptions, requestOptions, token).ConfigureAwait(false);
                return PspChargeOutcome.RequiresAction(session.Id, session.Status ?? "open", session.Url);
            },
            FromStripeException,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<PspChargeOutcome> GetHostedPageAsync(string paymentOrderId, string sessionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);

        return await CallChargeAsync(
            "retrieve hosted page",
            paymentOrderId,
            async token =>
            {
                var session = await _sessions.GetAsync(sessionId, options: null, requestOptions: null, cancellationToken: token).ConfigureAwait(false);
                if (session.PaymentStatus == "paid")
                {
                    return session.PaymentIntentId is { Length: > 0 } paidIntentId
                        ? PspChargeOutcome.Succeeded(paidIntentId)
                        : PspChargeOutcome.Unknown("missing_payment_intent", $"Checkout session {session.Id} is paid but names no payment intent.", pspReference: session.Id);
                }

                if (session.Status == "expired")
                {
                    return PspChargeOutcome.Declined("expired", $"Checkout session {session.Id} expired before it was paid.", session.PaymentIntentId ?? session.Id);
                }

                // A payment tried on the page and refused leaves its intent waiting for another payment method.
                var intent = session.PaymentIntent;
                if (intent is null && session.PaymentIntentId is { Length: > 0 } intentId)
                {
                    intent = await _paymentIntents.GetAsync(intentId, options: null, requestOptions: null, cancellationToken: token).ConfigureAwait(false);
                }

                if (intent is { Status: "requires_payment_method", LastPaymentError: { } error })
                {
                    return PspChargeOutcome.Declined(DeclineCode(error), error.Message, intent.Id);
                }

                return PspChargeOutcome.RequiresAction(session.Id, session.Status ?? "open", session.Url);
            },
            FromLookupStripeException,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<PspChargeOutcome?> FindChargeAsync(string paymentOrderId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(paymentOrderId);

        var none = PspChargeOutcome.Unknown("not_found", "no payment intent");
        var outcome = await CallChargeAsync(
            "search",
            paymentOrderId,
            async token =>
            {
                // Payment order ids are [A-Za-z0-9_-]: nothing to escape in the query.
                var found = await _paymentIntents.SearchAsync(
                    new PaymentIntentSearchOptions { Query = $"metadata['{PaymentOrderIdMetadataKey}']:'{paymentOrderId}'" },
                    requestOptions: null,
                    cancellationToken: token).ConfigureAwait(false);
                var intents = found.Data ?? [];
                var paid = intents.FirstOrDefault(intent => intent.Status == "succeeded");
                var latest = paid ?? intents.OrderByDescending(intent => intent.Created).FirstOrDefault();
                return latest is null ? none : FromPaymentIntent(latest);
            },
            FromLookupStripeException,
            cancellationToken).ConfigureAwait(false);
        return ReferenceEquals(outcome, none) ? null : outcome;
    }

    public async Task<PspChargeOutcome> CloseHostedPageAsync(string paymentOrderId, string sessionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);

        var outcome = await CallChargeAsync(
            "close hosted page",
            paymentOrderId,
            async token =>
            {
                var session = await _sessions.ExpireAsync(sessionId, options: null,
                    requestOptions: new RequestOptions { IdempotencyKey = $"hosted_page_close:{paymentOrderId}" }, cancellationToken: token).ConfigureAwait(false);
                return PspChargeOutcome.Declined("expired", $"Checkout session {session.Id} is closed.", session.Id);
            },
            FromLookupStripeException,
            cancellationToken).ConfigureAwait(false);

        // Refused (the page is no longer open, most likely paid in the meantime): say what the page holds now.
        return outcome.Kind == PspOutcomeKind.Unknown && outcome.FailureCode is not ("timeout" or "connection_error")
            ? await GetHostedPageAsync(paymentOrderId, sessionId, cancellationToken).ConfigureAwait(false)
            : outcome;
    }

    private Task<PspChargeOutcome> CallChargeAsync(
        string operation,
        string paymentOrderId,
        Func<CancellationToken, Task<PspChargeOutcome>> call,
        Func<StripeException, PspChargeOutcome> fromStripeException,
        CancellationToken cancellationToken) =>
        CallAsync(
            operation,
            paymentOrderId,
            call,
            fromStripeException,
            (code, message) => PspChargeOutcome.Unknown(code, message),
            cancellationToken);

    /// <summary>
    /// Runs one PSP exchange under the request deadline and turns every PSP or network failure into an
    /// outcome. Only the caller's own cancellation escapes (as <see cref="OperationCanceledException"/>).
    /// </summary>
    private async Task<TOutcome> CallAsync<TOutcome>(
        string operation,
        string subjectId,
        Func<CancellationToken, Task<TOutcome>> call,
        Func<StripeException, TOutcome> fromStripeException,
        Func<string, string, TOutcome> unknown,
        CancellationToken cancellationToken)
    {
        // The HttpClient carries the timeout too, but enforce it here as well so that a client built
        // elsewhere (with a longer or infinite timeout) cannot hang a grain.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        var startedAt = Stopwatch.GetTimestamp();
        try
        {
            var answer = await call(timeout.Token).ConfigureAwait(false);
            PspMetrics.Record(operation, "answered", startedAt);
            return answer;
        }
        catch (StripeException exception)
        {
            PspMetrics.Record(operation, "error", startedAt);
            var outcome = fromStripeException(exception);
            _logger.LogWarning(
                "PSP {Operation} for {SubjectId}: HTTP {Status} {Type}/{Code} -> {Outcome}",
                operation, subjectId, (int)exception.HttpStatusCode, exception.StripeError?.Type, exception.StripeError?.Code, outcome);
            return outcome;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            PspMetrics.Record(operation, "timeout", startedAt);
            // HttpClient.Timeout or our own deadline. The request may have reached the PSP: unknown.
            _logger.LogWarning("PSP {Operation} for {SubjectId} timed out", operation, subjectId);
            return unknown(
                "timeout",
                string.Create(CultureInfo.InvariantCulture, $"No answer from the PSP within {_requestTimeout.TotalSeconds:0.###} s."));
        }
        catch (HttpRequestException exception)
        {
            PspMetrics.Record(operation, "connection_error", startedAt);
            _logger.LogWarning(exception, "PSP {Operation} for {SubjectId} failed to connect", operation, subjectId);
            return unknown("connection_error", exception.Message);
        }
        catch (IOException exception)
        {
            PspMetrics.Record(operation, "connection_error", startedAt);
            _logger.LogWarning(exception, "PSP {Operation} for {SubjectId} lost the connection", operation, subjectId);
            return unknown("connection_error", exception.Message);
        }
    }

    private static Dictionary<string, string> WithPaymentOrderId(IReadOnlyDictionary<string, string>? extra, string paymentOrderId)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (extra is not null)
        {
            foreach (var (key, value) in extra)
            {
                metadata[key] = value;
            }
        }

        metadata[PaymentOrderIdMetadataKey] = paymentOrderId;
        return metadata;
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
                // 3-D Secure and other redirects: the page where the buyer finishes the payment.
                return PspChargeOutcome.RequiresAction(intent.Id, intent.Status, intent.NextAction?.RedirectToUrl?.Url);
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

    /// <summary>
    /// Classifies an error answer of the PSP to a lookup: a lookup that the PSP rejects (unknown id, bad key)
    /// says nothing about the payment, so it is never final.
    /// </summary>
    public static PspChargeOutcome FromLookupStripeException(StripeException exception)
    {
        var outcome = FromStripeException(exception);
        return outcome.Kind == PspOutcomeKind.Declined
            ? PspChargeOutcome.Unknown(outcome.FailureCode ?? "lookup_failed", outcome.FailureMessage, pspReference: outcome.PspReference)
            : outcome;
    }

    /// <summary>One failure code for a decline, whether it came in a response or a webhook.</summary>
    internal static string DeclineCode(StripeError error) =>
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
