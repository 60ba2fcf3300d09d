using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Payments.LoadTest.Soak;

/// <summary>The answer a request ended with, after the client's retries: its status (0 = none at all), JSON body and tries.</summary>
internal readonly record struct SoakAnswer(int Status, JsonElement Body, int Tries)
{
    /// <summary>The problem+json <c>code</c>, when there is one.</summary>
    public string? Code => SoakJson.Text(Body, "code");
}

/// <summary>What every request answered, counted over the run (thread-safe).</summary>
internal sealed class SoakCounters
{
    private long _requests;
    private long _retries;
    private long _status500;
    private long _status503;
    private long _noAnswer;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _retried = new();

    public long Requests => Interlocked.Read(ref _requests);

    public long Retries => Interlocked.Read(ref _retries);

    public long Status500 => Interlocked.Read(ref _status500);

    public long Status503 => Interlocked.Read(ref _status503);

    public long NoAnswer => Interlocked.Read(ref _noAnswer);

    public void Answered(int status)
    {
        Interlocked.Increment(ref _requests);
        _ = status switch
        {
            0 => Interlocked.Increment(ref _noAnswer),
            500 => Interlocked.Increment(ref _status500),
            503 => Interlocked.Increment(ref _status503),
            _ => 0,
        };
    }

    /// <summary>The answers that were sent again, by status or by why there was none, to tell a loaded system from a failing one.</summary>
    public string RetriedStatuses => string.Join(", ", _retried.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key} x {pair.Value}"));

    public void Retried(string why)
    {
        Interlocked.Increment(ref _retries);
        _retried.AddOrUpdate(why, 1, (_, count) => count + 1);
    }
}

/// <summary>
/// HTTP the way a careful client does it: an answer that says nothing about the outcome (no answer, a timeout, 5xx, 429,
/// 409 idempotency_key_in_use) is sent again, the same request under the same Idempotency-Key, after Retry-After or a
/// backoff, until it is answered or the budget is spent.
/// </summary>
internal sealed class SoakHttp : IDisposable
{
    private const int TriesMax = 40;
    private static readonly TimeSpan RetryBudget = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan RetryAfterMax = TimeSpan.FromSeconds(5);

    private readonly HttpClient _client;
    private readonly SoakCounters _counters;

    public SoakHttp(Uri baseAddress, string? apiKey, SoakCounters counters)
    {
        _counters = counters;
        // No redirects followed: the simulator's pages answer a buyer's submit with a redirect to the shop's return_url,
        // which is the answer (the shop is not there to be reached).
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1), AllowAutoRedirect = false })
        {
            BaseAddress = baseAddress,
            // Longer than the API's synchronous window (5 s) and the gateway's failover retries (10 s): a slow answer is
            // waited for; one that never comes is a timeout, retried with the same key.
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (apiKey is not null)
        {
            _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
    }

    public Task<SoakAnswer> PostAsync(string path, object? body, string idempotencyKey) => SendAsync(() =>
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body ?? new { }) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return request;
    });

    public Task<SoakAnswer> PutAsync(string path, object body) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(body) });

    /// <summary>A JSON body as it is, with no Idempotency-Key: the simulator's test routes.</summary>
    public Task<SoakAnswer> PostRawAsync(string path, string json) => SendAsync(() =>
        new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

    public Task<SoakAnswer> GetAsync(string path) => SendAsync(() => new HttpRequestMessage(HttpMethod.Get, path));

    /// <summary>A browser submitting one of the simulator's pages (3-D Secure challenge, hosted checkout).</summary>
    public Task<SoakAnswer> PostFormAsync(Uri url, params (string Name, string Value)[] fields) => SendAsync(() =>
        new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new FormUrlEncodedContent(fields.Select(field => KeyValuePair.Create(field.Name, field.Value))),
        });

    private async Task<SoakAnswer> SendAsync(Func<HttpRequestMessage> make)
    {
        var clock = Stopwatch.StartNew();
        for (var tries = 1; ; tries++)
        {
            var status = 0;
            var body = default(JsonElement);
            TimeSpan? retryAfter = null;
            string? noAnswer = null;
            try
            {
                using var request = make();
                using var response = await _client.SendAsync(request);
                status = (int)response.StatusCode;
                retryAfter = response.Headers.RetryAfter?.Delta;
                body = SoakJson.Parse(await response.Content.ReadAsStringAsync());
            }
            catch (HttpRequestException exception)
            {
                // Refused or reset: nothing is known about the outcome, so it is asked again like a timeout.
                noAnswer = exception.HttpRequestError.ToString();
            }
            catch (TaskCanceledException)
            {
                // The client's own timeout.
                noAnswer = "timeout";
            }

            _counters.Answered(status);
            var unknown = status is 0 or 429 or >= 500
                || (status == 409 && SoakJson.Text(body, "code") == "idempotency_key_in_use");
            if (!unknown || tries >= TriesMax || clock.Elapsed > RetryBudget)
            {
                return new SoakAnswer(status, body, tries);
            }

            _counters.Retried(noAnswer ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var backoff = TimeSpan.FromMilliseconds(Math.Min(4000, 100 * Math.Pow(2, tries - 1)) * (0.5 + Random.Shared.NextDouble() / 2));
            await Task.Delay(retryAfter is { } wait ? TimeSpan.FromTicks(Math.Min(wait.Ticks, RetryAfterMax.Ticks)) : backoff);
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>Reading the API's JSON without exceptions: a missing or mistyped field is null.</summary>
internal static class SoakJson
{
    public static JsonElement Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text) || text[0] is not ('{' or '['))
        {
            return default;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return default;
        }
    }

    public static JsonElement Field(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    public static string? Text(JsonElement element, string name) =>
        Field(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    public static bool True(JsonElement element, string name) => Field(element, name).ValueKind == JsonValueKind.True;

    public static IEnumerable<JsonElement> Items(JsonElement element, string? name = null)
    {
        var array = name is null ? element : Field(element, name);
        return array.ValueKind == JsonValueKind.Array ? array.EnumerateArray() : [];
    }

    public static long Long(JsonElement element, string name) =>
        Field(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var number) ? number : 0;

    /// <summary>An API amount in minor units (the soak pays in USD only: two decimals, as responses always write them).</summary>
    public static long Minor(JsonElement element, string name) =>
        Text(element, name) is { } text && long.TryParse(text.Replace(".", "", StringComparison.Ordinal), out var minor) ? minor : 0;

    public static string Major(long minor) => $"{minor / 100}.{minor % 100:D2}";
}
