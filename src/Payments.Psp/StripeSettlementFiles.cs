using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Stripe;
using Stripe.Reporting;

namespace Payments.Psp;

/// <summary>
/// <see cref="ISettlementFiles"/> over Stripe.net and the bank's statement endpoint. A day's report is a report run of
/// that UTC day, polled until it succeeds, whose file is then downloaded with the API key (Stripe.net has no download
/// call: the file's url goes through the client's streaming request). The HttpClient has no timeout of its own, since
/// reading a big file takes longer than any call may: each call, and each download until its headers are in, has
/// <see cref="PspOptions.RequestTimeout"/>, the run <see cref="PspOptions.ReportRunTimeout"/>, and reading a file only
/// the caller's token.
/// </summary>
public sealed class StripeSettlementFiles : ISettlementFiles
{
    public const string ReportType = "payout_reconciliation.itemized.5";

    private static readonly TimeSpan FirstPollDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan PollDelayMax = TimeSpan.FromSeconds(2);

    private readonly HttpClient _httpClient;
    private readonly ReportRunService _reportRuns;
    private readonly StripeClient _files;
    private readonly Uri _filesBase;
    private readonly string _bankBase;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeSpan _reportRunTimeout;
    private readonly ILogger _logger;

    public StripeSettlementFiles(
        HttpClient httpClient,
        IOptions<PspOptions> pspOptions,
        IOptions<BankOptions> bankOptions,
        ILogger<StripeSettlementFiles>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(pspOptions);
        ArgumentNullException.ThrowIfNull(bankOptions);
        var psp = pspOptions.Value;
        _httpClient = httpClient;
        _requestTimeout = psp.RequestTimeout;
        _reportRunTimeout = psp.ReportRunTimeout;
        _logger = logger ?? (ILogger)NullLogger.Instance;

        var apiBase = psp.BaseUrl.TrimEnd('/');
        var bank = bankOptions.Value.BaseUrl;
        _bankBase = string.IsNullOrEmpty(bank) ? apiBase : bank.TrimEnd('/');

        // Stripe serves report files from its own files host, not the API's; the simulator serves both on one base.
        _filesBase = new Uri(apiBase);
        if (string.Equals(_filesBase.Host, new Uri(StripeClient.DefaultApiBase).Host, StringComparison.OrdinalIgnoreCase))
        {
            _filesBase = new Uri(StripeClient.DefaultFilesBase);
        }

        var stripeHttpClient = new StreamingStripeHttpClient(httpClient);
        _reportRuns = new ReportRunService(new StripeClient(new StripeClientOptions
        {
            ApiKey = psp.ApiKey,
            ApiBase = apiBase,
            HttpClient = stripeHttpClient,
        }));
        _files = new StripeClient(new StripeClientOptions
        {
            ApiKey = psp.ApiKey,
            ApiBase = _filesBase.GetLeftPart(UriPartial.Authority),
            HttpClient = stripeHttpClient,
        });
    }

    public async Task<Stream> OpenSettlementReportAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var what = $"The settlement report of {Iso(day)}";
        var start = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var created = await CallPspAsync(
            what,
            token => _reportRuns.CreateAsync(
                new ReportRunCreateOptions
                {
                    ReportType = ReportType,
                    Parameters = new ReportRunParametersOptions { IntervalStart = start, IntervalEnd = start.AddDays(1) },
                },
                requestOptions: null,
                token),
            cancellationToken).ConfigureAwait(false);
        var run = await SucceededAsync(created, what, cancellationToken).ConfigureAwait(false);
        var url = FileUrl(run, what);
        return await CallPspAsync(
            what,
            token => _files.RequestStreamingAsync(HttpMethod.Get, url.AbsolutePath, options: null, requestOptions: null, token),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<Stream> OpenBankStatementAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var what = $"The bank statement of {Iso(day)}";
        var url = $"{_bankBase}/_sim/bank/statements/{Iso(day)}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_requestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _httpClient.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable($"{what} is unavailable: no answer from the bank at {_bankBase} within {Seconds(_requestTimeout)} s.", exception);
        }
        catch (HttpRequestException exception)
        {
            throw Unavailable($"{what} is unavailable: the bank at {_bankBase} could not be reached ({exception.Message}).", exception);
        }

        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw Unavailable($"{what} is unavailable: the bank at {_bankBase} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
            }
        }

        try
        {
            return await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>The run once it succeeded, polled ever less often; unavailable if it failed or is still pending at the deadline.</summary>
    private async Task<ReportRun> SucceededAsync(ReportRun run, string what, CancellationToken cancellationToken)
    {
        var id = run.Id;
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(_reportRunTimeout);
        var delay = FirstPollDelay;
        try
        {
            while (true)
            {
                switch (run.Status)
                {
                    case "succeeded":
                        return run;
                    case "pending":
                        break;
                    case "failed":
                        throw Unavailable($"{what} is unavailable: report run {id} failed ({run.Error ?? "the PSP gave no reason"}).");
                    default:
                        throw Unavailable($"{what} is unavailable: report run {id} is in status '{run.Status}'.");
                }

                await Task.Delay(delay, patience.Token).ConfigureAwait(false);
                delay = delay * 2 < PollDelayMax ? delay * 2 : PollDelayMax;
                run = await CallPspAsync(
                    what,
                    token => _reportRuns.GetAsync(id, options: null, requestOptions: null, token),
                    patience.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable($"{what} is unavailable: report run {id} was still pending after {Seconds(_reportRunTimeout)} s.", exception);
        }
    }

    /// <summary>
    /// Where the run's file is. Only a url on the PSP's own files host is fetched: the API key goes with the request, and
    /// must not go wherever an answer points.
    /// </summary>
    private Uri FileUrl(ReportRun run, string what)
    {
        if (!Uri.TryCreate(run.Result?.Url, UriKind.Absolute, out var url))
        {
            throw Unavailable($"{what} is unavailable: report run {run.Id} succeeded but names no file url.");
        }

        if (Uri.Compare(url, _filesBase, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
        {
            throw Unavailable($"{what} is unavailable: report run {run.Id} has its file at {url.GetLeftPart(UriPartial.Authority)}, not on the PSP's files host {_filesBase.GetLeftPart(UriPartial.Authority)}.");
        }

        return url;
    }

    /// <summary>
    /// One PSP exchange under the request deadline, every PSP or network failure turned into
    /// <see cref="SettlementFileUnavailableException"/>. The caller's own cancellation escapes as itself.
    /// </summary>
    private async Task<T> CallPspAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_requestTimeout);
        try
        {
            return await call(deadline.Token).ConfigureAwait(false);
        }
        catch (StripeException exception)
        {
            var error = exception.StripeError;
            throw Unavailable(
                $"{what} is unavailable: the PSP answered HTTP {(int)exception.HttpStatusCode} {error?.Type}/{error?.Code} ({error?.Message ?? exception.Message}).",
                exception);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable($"{what} is unavailable: no answer from the PSP within {Seconds(_requestTimeout)} s.", exception);
        }
        catch (HttpRequestException exception)
        {
            throw Unavailable($"{what} is unavailable: the PSP could not be reached ({exception.Message}).", exception);
        }
        catch (IOException exception)
        {
            throw Unavailable($"{what} is unavailable: the connection to the PSP was lost ({exception.Message}).", exception);
        }
    }

    private SettlementFileUnavailableException Unavailable(string message, Exception? innerException = null)
    {
        _logger.LogWarning(innerException, "{Message}", message);
        return new SettlementFileUnavailableException(message, innerException);
    }

    private static string Iso(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
