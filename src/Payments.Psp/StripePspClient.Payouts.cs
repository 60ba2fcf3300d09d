using System.Globalization;
using Stripe;

namespace Payments.Psp;

/// <summary>Payouts through Stripe.net: keyed by the payout id, found again by <c>metadata[payout_id]</c> among the PSP's recent payouts.</summary>
public sealed partial class StripePspClient
{
    public async Task<PspPayoutOutcome> CreatePayoutAsync(PspPayoutRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var createOptions = new PayoutCreateOptions
        {
            Amount = request.AmountMinor,
            Currency = request.Currency.ToLowerInvariant(),
            Destination = request.Destination,
            Metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [PayoutIdMetadataKey] = request.PayoutId,
                [SellerAccountMetadataKey] = request.SellerAccount,
            },
        };
        var requestOptions = new RequestOptions { IdempotencyKey = request.PayoutId };

        return await CallAsync(
            "payout",
            request.PayoutId,
            async token => FromPayout(await _payouts.CreateAsync(createOptions, requestOptions, token).ConfigureAwait(false)),
            FromPayoutStripeException,
            UnknownPayout,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<PspPayoutOutcome> GetPayoutAsync(string payoutId, string pspPayoutId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(pspPayoutId);

        // A lookup that the PSP refuses says nothing about the payout: unknown, never failed.
        return await CallAsync(
            "retrieve payout",
            payoutId,
            async token => FromPayout(await _payouts.GetAsync(pspPayoutId, options: null, requestOptions: null, cancellationToken: token).ConfigureAwait(false)),
            FromLookupPayoutStripeException,
            UnknownPayout,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<PspPayoutOutcome?> FindPayoutAsync(string payoutId, DateTimeOffset createdNotBefore, DateTimeOffset createdNotAfter, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(payoutId);

        var none = new PspPayoutOutcome(PspPayoutStatus.Unknown, null, "not_found", "no payout");
        var outcome = await CallAsync(
            "find payout",
            payoutId,
            async token =>
            {
                var ours = new List<Payout>();
                var options = new PayoutListOptions
                {
                    Created = new DateRangeOptions { GreaterThanOrEqual = createdNotBefore.UtcDateTime, LessThanOrEqual = createdNotAfter.UtcDateTime },
                    Limit = PayoutListPageSize,
                };
                for (var page = 0; page < PayoutSearchMaxPages; page++)
                {
                    var payouts = await _payouts.ListAsync(options, requestOptions: null, cancellationToken: token).ConfigureAwait(false);
                    var data = payouts.Data ?? [];
                    ours.AddRange(data.Where(payout => payout.Metadata?.GetValueOrDefault(PayoutIdMetadataKey) == payoutId));
                    if (!payouts.HasMore || data.Count == 0)
                    {
                        return ours.Count == 0 ? none : FromPayout(Likeliest(ours));
                    }

                    options.StartingAfter = data[^1].Id;
                }

                // Not all of the window was read. Saying "none" could make the caller pay again, so say what was seen,
                // or that nothing can be said.
                return ours.Count > 0
                    ? FromPayout(Likeliest(ours))
                    : new PspPayoutOutcome(
                        PspPayoutStatus.Unknown,
                        null,
                        "lookup_incomplete",
                        string.Create(CultureInfo.InvariantCulture, $"More than {PayoutSearchMaxPages * PayoutListPageSize} payouts from {createdNotBefore:O} to {createdNotAfter:O}; payout {payoutId} is not among the newest."));
            },
            FromLookupPayoutStripeException,
            UnknownPayout,
            cancellationToken).ConfigureAwait(false);
        return ReferenceEquals(outcome, none) ? null : outcome;
    }

    /// <summary>Classifies a payout that the PSP returned with HTTP 200.</summary>
    public static PspPayoutOutcome FromPayout(Payout payout)
    {
        ArgumentNullException.ThrowIfNull(payout);
        if (string.IsNullOrEmpty(payout.Id))
        {
            // An answer that names no payout cannot be looked up or matched to a webhook: as good as no answer. The payout
            // is asked for again with the same key, which finds the one the PSP made, if it made one.
            return new PspPayoutOutcome(PspPayoutStatus.Unknown, null, "no_payout_id", "The PSP answered without a payout id.");
        }

        // Stripe.net leaves an absent arrival_date at the Unix epoch, not at default.
        DateTimeOffset? arrival = payout.ArrivalDate == default || payout.ArrivalDate == DateTime.UnixEpoch ? null : new DateTimeOffset(DateTime.SpecifyKind(payout.ArrivalDate, DateTimeKind.Utc));
        return payout.Status switch
        {
            "paid" => new PspPayoutOutcome(PspPayoutStatus.Paid, payout.Id, null, null, arrival),
            "failed" => new PspPayoutOutcome(
                PspPayoutStatus.Failed,
                payout.Id,
                string.IsNullOrEmpty(payout.FailureCode) ? "failed" : payout.FailureCode,
                string.IsNullOrEmpty(payout.FailureMessage) ? $"Payout {payout.Id} failed." : payout.FailureMessage,
                arrival),
            "canceled" => new PspPayoutOutcome(PspPayoutStatus.Failed, payout.Id, "canceled", $"Payout {payout.Id} was canceled.", arrival),
            // pending, in_transit, or a status Stripe adds later: accepted and not final; its end arrives by webhook or lookup.
            _ => new PspPayoutOutcome(PspPayoutStatus.InTransit, payout.Id, null, null, arrival),
        };
    }

    /// <summary>Classifies an error answer of the PSP to a payout it was asked to make.</summary>
    public static PspPayoutOutcome FromPayoutStripeException(StripeException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var status = (int)exception.HttpStatusCode;
        var error = exception.StripeError;
        var code = error?.Code ?? error?.Type ?? $"http_{status}";
        var message = error?.Message ?? exception.Message;
        var unknown = new PspPayoutOutcome(PspPayoutStatus.Unknown, null, code, message, RetryAfter: RetryAfter(exception.StripeResponse?.Headers));

        // Transient (or a concurrent request holding the key's lock): the payout may or may not exist. A bad or
        // unauthorized API key is answered invalid_request_error by Stripe, but it is our configuration, not the payout.
        if (status is 401 or 403 or 409 or 429 || status >= 500 || status == 0)
        {
            return unknown;
        }

        // invalid_request_error: the payout was refused (no such destination, amount invalid, balance insufficient).
        // idempotency_error: we never reuse a payout id with other parameters, so we cannot know what the key holds.
        // authentication_error, permission_error, api_error, or not a Stripe error at all: a configuration or PSP
        // problem; the payout is not refused.
        return error?.Type == "invalid_request_error"
            ? new PspPayoutOutcome(PspPayoutStatus.Failed, null, code, message)
            : unknown;
    }

    /// <summary>Classifies an error answer of the PSP to a payout lookup: never final, whatever it says.</summary>
    public static PspPayoutOutcome FromLookupPayoutStripeException(StripeException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var outcome = FromPayoutStripeException(exception);
        return outcome.Status == PspPayoutStatus.Failed ? outcome with { Status = PspPayoutStatus.Unknown } : outcome;
    }

    /// <summary>
    /// Of several payouts with our payout id (made again after the PSP forgot the key), the one that says most about
    /// where the money is: one paid (the money left), else one on its way, else the newest.
    /// </summary>
    private static Payout Likeliest(List<Payout> payouts) =>
        payouts.FirstOrDefault(payout => payout.Status == "paid")
        ?? payouts.FirstOrDefault(payout => payout.Status is "pending" or "in_transit")
        ?? payouts[0];

    private static PspPayoutOutcome UnknownPayout(string code, string message) => new(PspPayoutStatus.Unknown, null, code, message);
}
