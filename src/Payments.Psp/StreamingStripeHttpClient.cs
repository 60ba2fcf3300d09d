using Stripe;

namespace Payments.Psp;

/// <summary>
/// Stripe.net's <see cref="SystemNetHttpClient"/>, but with a streaming request that streams. Stripe.net's own one sends
/// without <see cref="HttpCompletionOption.ResponseHeadersRead"/>, so HttpClient reads the whole body into memory before
/// the "stream" is handed over; a report file of millions of rows must not be held whole. Here the response is handed
/// over once its headers are in. Every other request is SystemNetHttpClient's, with its retries off as everywhere in
/// this project: retrying is the caller's job.
/// </summary>
internal sealed class StreamingStripeHttpClient(HttpClient httpClient) : IHttpClient
{
    private readonly SystemNetHttpClient _requests = new(
        httpClient: httpClient,
        maxNetworkRetries: 0,
        appInfo: new AppInfo { Name = "PaymentsOrleans" },
        enableTelemetry: false);

    public Task<StripeResponse> MakeRequestAsync(StripeRequest request, CancellationToken cancellationToken = default) =>
        _requests.MakeRequestAsync(request, cancellationToken);

    public async Task<StripeStreamedResponse> MakeStreamingRequestAsync(StripeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var message = new HttpRequestMessage(request.Method, request.Uri) { Content = request.Content };
        message.Headers.Authorization = request.AuthorizationHeader;
        foreach (var (name, value) in request.StripeHeaders)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await httpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            // The body's stream holds the connection until it is disposed: by the caller, or by Stripe.net as it reads an error.
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new StripeStreamedResponse(response.StatusCode, response.Headers, body);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
