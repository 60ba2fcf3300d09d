using Stripe;

namespace Payments.Psp;

/// <summary>Reading the PSP's payment intents back (search by our payment order id, or list everything), for the invariants.</summary>
public sealed partial class StripePspClient : IPspPaymentIntents
{
    /// <summary>A search reads at most this many pages: a payment order has one intent, a handful in a broken case.</summary>
    private const int SearchPagesMax = 10;

    private const int SearchPageSize = 100;

    public async Task<IReadOnlyList<PspPaymentIntent>> SearchByPaymentOrderAsync(string paymentOrderId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(paymentOrderId);
        var intents = new List<PspPaymentIntent>();
        string? page = null;
        for (var pages = 0; pages < SearchPagesMax; pages++)
        {
            var found = await ReadAsync(token => _paymentIntents.SearchAsync(
                // Payment order ids are [A-Za-z0-9_-]: nothing to escape in the query.
                new PaymentIntentSearchOptions { Query = $"metadata['{PaymentOrderIdMetadataKey}']:'{paymentOrderId}'", Limit = SearchPageSize, Page = page },
                requestOptions: null,
                cancellationToken: token), cancellationToken).ConfigureAwait(false);
            intents.AddRange((found.Data ?? []).Select(From));
            if (found.HasMore != true || string.IsNullOrEmpty(found.NextPage))
            {
                return intents;
            }

            page = found.NextPage;
        }

        throw new PspReadException($"The PSP's search for payment order {paymentOrderId} has more than {SearchPagesMax * SearchPageSize} payment intents.");
    }

    public async Task<PspPaymentIntentPage> ListAsync(string? startingAfter, int limit, CancellationToken cancellationToken)
    {
        var list = await ReadAsync(token => _paymentIntents.ListAsync(
            new PaymentIntentListOptions { Limit = limit, StartingAfter = startingAfter },
            requestOptions: null,
            cancellationToken: token), cancellationToken).ConfigureAwait(false);
        return new PspPaymentIntentPage((list.Data ?? []).Select(From).ToArray(), list.HasMore);
    }

    private static PspPaymentIntent From(PaymentIntent intent) => new(
        intent.Id,
        intent.Status,
        intent.Metadata is { } metadata && metadata.TryGetValue(PaymentOrderIdMetadataKey, out var id) ? id : null,
        intent.Amount,
        (intent.Currency ?? string.Empty).ToUpperInvariant(),
        new DateTimeOffset(DateTime.SpecifyKind(intent.Created, DateTimeKind.Utc)));

    /// <summary>One read under the request deadline; every PSP or network failure becomes a <see cref="PspReadException"/>.</summary>
    private async Task<T> ReadAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        try
        {
            return await call(timeout.Token).ConfigureAwait(false);
        }
        catch (StripeException exception)
        {
            throw new PspReadException($"The PSP answered HTTP {(int)exception.HttpStatusCode} {exception.StripeError?.Code}: {exception.Message}", exception);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PspReadException("No answer from the PSP in time.", exception);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException)
        {
            throw new PspReadException($"The PSP could not be reached: {exception.Message}", exception);
        }
    }
}
