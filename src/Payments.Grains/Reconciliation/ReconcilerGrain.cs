using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Core.Ledger;
using Payments.Core.PaymentOrders;
using Payments.Core.Reconciliation;
using Payments.Grains.PaymentOrders;
using Payments.Psp;
using Payments.Reconciliation;
using Payments.Reconciliation.Matching;
using Payments.Reconciliation.Runs;

namespace Payments.Grains.Reconciliation;

/// <summary>
/// The reconciler of one source (<c>psp</c>: the PSP's settlement report; <c>bank</c>: the bank's statement). A reminder
/// ticks every <see cref="ReconciliationOptions.TickPeriod"/>: it starts the daily run for the day before once
/// <see cref="ReconciliationOptions.RunTimeOfDay"/> has passed, and resumes whatever a crash interrupted, wherever the grain
/// lives now. A run's stages (fetch and stage the file, match and file breaks, auto-fix) each commit as a whole in
/// PostgreSQL, so a resumed run goes on from the last stage done; a break is filed once whatever happens.
/// </summary>
internal sealed partial class ReconcilerGrain(
    ReconciliationRunStore runs,
    ISettlementFiles files,
    IGrainFactory grains,
    IOptions<ReconciliationOptions> options,
    TimeProvider time,
    ILogger<ReconcilerGrain> logger) : Grain, IReconcilerGrain, IRemindable
{
    private const string TickReminderName = "reconcile";

    /// <summary>The first tick after the reminder is registered: soon, so that work left by a crash is taken up.</summary>
    private static readonly TimeSpan FirstTickAfter = TimeSpan.FromMinutes(1);

    /// <summary>Breaks of a run written to the log one by one; past that, only their counts.</summary>
    private const int LoggedBreaksMax = 200;

    private readonly Dictionary<string, Task> _inProgress = new(StringComparer.Ordinal);

    private string Source => this.GetPrimaryKeyString();

    public async Task<string> StartRunAsync(DateOnly date, string origin)
    {
        var runId = origin == "scheduled" ? ScheduledRunId(date) : $"recon_{Guid.NewGuid():N}";
        await runs.CreateAsync(runId, Source, date, origin, time.GetUtcNow());
        await EnsureScheduledAsync();
        Kick(runId);
        return runId;
    }

    public async Task ResumeAsync(string runId)
    {
        await EnsureScheduledAsync();
        Kick(runId);
    }

    public async Task EnsureScheduledAsync()
    {
        if (await this.GetReminder(TickReminderName) is null)
        {
            var period = options.Value.TickPeriod;
            await this.RegisterOrUpdateReminder(TickReminderName, period < FirstTickAfter ? period : FirstTickAfter, period);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        if (settings.DailyRuns)
        {
            // Made once per day: the run id is the date's, so every later tick (or silo) finds it made. The days before are
            // made up too, should no tick have come on them (every silo down at the time).
            var today = DateOnly.FromDateTime(now.UtcDateTime);
            var latest = now.UtcDateTime.TimeOfDay >= settings.RunTimeOfDay ? today.AddDays(-1) : today.AddDays(-2);
            for (var back = settings.CatchUpDays - 1; back >= 0; back--)
            {
                var date = latest.AddDays(-back);
                await runs.CreateAsync(ScheduledRunId(date), Source, date, "scheduled", now);
            }
        }

        foreach (var run in await runs.UnfinishedAsync(Source))
        {
            Kick(run.RunId);
        }

        if (_inProgress.Count == 0)
        {
            // Fixes owed by finished runs (the PSP was down, an order had not booked yet): in the background, so that the
            // grain answers operators meanwhile.
            Kick(FixPassKey);
        }
    }

    /// <summary>What <see cref="_inProgress"/> calls a pass over the owed fixes that belongs to no run.</summary>
    private const string FixPassKey = "fixes";

    private string ScheduledRunId(DateOnly date) => $"recon_{Source}_{date:yyyyMMdd}";

    /// <summary>Runs the run in the background (not in a grain call, which would block the grain for its length); once per activation.</summary>
    private void Kick(string runId)
    {
        if (_inProgress.ContainsKey(runId))
        {
            return;
        }

        // A run is short (seconds to a minute); the activation must not be collected while it works.
        DelayDeactivation(TimeSpan.FromMinutes(30));
        _inProgress[runId] = runId == FixPassKey ? FixInBackgroundAsync() : ExecuteAsync(runId);
    }

    private async Task FixInBackgroundAsync()
    {
        try
        {
            await Task.Yield();
            await FixDueAsync();
        }
        finally
        {
            _inProgress.Remove(FixPassKey);
        }
    }

    private async Task ExecuteAsync(string runId)
    {
        try
        {
            await Task.Yield();
            await ExecuteStagesAsync(runId);
        }
        catch (RunMovedOnException)
        {
            LogMovedOn(logger, runId);
        }
        catch (Exception exception)
        {
            // Left RUNNING: the next tick tries again from the stage that failed (a PSP or database outage passes).
            LogRunFailed(logger, exception, runId);
            await runs.NoteInterruptionAsync(runId, $"{exception.GetType().Name}: {exception.Message}");
        }
        finally
        {
            _inProgress.Remove(runId);
        }
    }

    private async Task ExecuteStagesAsync(string runId)
    {
        var settings = options.Value;
        var run = await runs.GetAsync(runId);
        if (run is null || run.Status != RunStatuses.Running)
        {
            return;
        }

        var attempt = await runs.CountAttemptAsync(runId);
        LogRunStarted(logger, runId, Source, run.Date, run.Stage, attempt);
        if (attempt > settings.RunAttemptsMax)
        {
            // Whatever stops it does so every time: an operator must look (and may start the date again).
            await runs.FailAsync(runId, $"Gave up after {settings.RunAttemptsMax} attempts; the last: {run.Failure ?? "unknown"}", time.GetUtcNow());
            return;
        }

        if (run.Stage == RunStages.Fetching)
        {
            if (run.Origin == "upload")
            {
                // An upload is staged before its run is visible: one still fetching was never committed.
                await runs.FailAsync(runId, "The uploaded file was not staged.", time.GetUtcNow());
                return;
            }

            if (!await FetchAndStageAsync(run, settings))
            {
                return;
            }

            run = await runs.GetAsync(runId) ?? throw new InvalidOperationException($"Run {runId} disappeared.");
        }

        if (run.Stage == RunStages.Matching)
        {
            await runs.MatchAsync(run, MatchingSettings(settings), StandingsAsync, time.GetUtcNow(), settings.IdleTransactionTimeout, CancellationToken.None);
            await AnnounceBreaksAsync(runId);
        }

        await FixDueAsync();
        await runs.FinishAsync(runId, time.GetUtcNow());
        var finished = await runs.GetAsync(runId);
        LogRunFinished(logger, runId, Source, finished?.Lines ?? 0, finished?.Matched ?? 0, finished?.AutoFixed ?? 0, finished?.ManualReview ?? 0, finished?.Investigate ?? 0);
    }

    /// <summary>Fetches the file and stages it. False when the file cannot be had (the run fails with why, and can be run again).</summary>
    private async Task<bool> FetchAndStageAsync(ReconciliationRun run, ReconciliationOptions settings)
    {
        Stream file;
        try
        {
            file = run.Source == ReconciliationSources.Psp
                ? await files.OpenSettlementReportAsync(run.Date, CancellationToken.None)
                : await files.OpenBankStatementAsync(run.Date, CancellationToken.None);
        }
        catch (SettlementFileUnavailableException exception)
        {
            LogFileUnavailable(logger, exception, run.RunId);
            if (run.Origin == "scheduled")
            {
                // The PSP or the bank is down for now: the next tick asks again (until the attempts run out).
                await runs.NoteInterruptionAsync(run.RunId, exception.Message);
            }
            else
            {
                // An operator is waiting for the answer, and can ask again.
                await runs.FailAsync(run.RunId, exception.Message, time.GetUtcNow());
            }

            return false;
        }

        await using (file)
        {
            try
            {
                await runs.StageAsync(run.RunId, run.Source, file, settings.BankAccount, settings.IdleTransactionTimeout, CancellationToken.None);
            }
            catch (Exception exception) when (exception is Payments.Reconciliation.SettlementReports.InvalidSettlementReportException
                                                  or Payments.Reconciliation.BankStatements.InvalidStatementException)
            {
                await runs.FailAsync(run.RunId, exception.Message, time.GetUtcNow());
                return false;
            }
        }

        return true;
    }

    /// <summary>Every break the run filed first: a log line each (up to a limit) and the counters.</summary>
    private async Task AnnounceBreaksAsync(string runId)
    {
        foreach (var (kind, breakClass, count) in await runs.FiledByAsync(runId))
        {
            ReconciliationMetrics.BreaksFiled.Add(count, new("source", Source), new("kind", kind), new("class", breakClass));
        }

        foreach (var (breakId, kind, breakClass, paymentOrderId, payoutId) in await runs.FiledSampleAsync(runId, LoggedBreaksMax))
        {
            LogBreakFiled(logger, breakId, runId, Source, kind, breakClass, paymentOrderId, payoutId);
        }
    }

    /// <summary>
    /// Makes each order named by an auto-fixed break ask the PSP, and records what came of it: landed only once the booking
    /// the PSP's record stands for is in the ledger. One fix that throws does not stop the others (nor the run).
    /// </summary>
    private async Task FixDueAsync()
    {
        var settings = options.Value;
        foreach (var fix in await runs.DueFixesAsync(Source, settings.FixesPerPass))
        {
            PspCheckResult result;
            try
            {
                result = await grains.GetGrain<IPaymentOrderGrain>(fix.PaymentOrderId).CheckWithPspAsync();
            }
            catch (Exception exception)
            {
                LogFixThrew(logger, exception, fix.BreakId, fix.PaymentOrderId);
                await runs.RecordFixAsync(fix.BreakId, FixRecord("error", null, $"{exception.GetType().Name}: {exception.Message}"), FixResult.RetryLater,
                    settings.FixAttemptsMax, time.GetUtcNow());
                continue;
            }

            var booked = await runs.IsBookedAsync(fix.BreakId);
            var outcome = booked ? FixResult.Landed
                : result.Outcome is PspCheckOutcome.NotAtPsp or PspCheckOutcome.Contradicts or PspCheckOutcome.UnknownOrder ? FixResult.NeedsPerson
                : FixResult.RetryLater;
            await runs.RecordFixAsync(fix.BreakId, FixRecord(OutcomeName(result.Outcome), result.OrderStatus, booked ? "booked" : "not booked yet"), outcome,
                settings.FixAttemptsMax, time.GetUtcNow());
            LogFixed(logger, fix.BreakId, fix.PaymentOrderId, result.Outcome, booked);
        }
    }

    private string FixRecord(string outcome, string? orderStatus, string ledger) => JsonSerializer.Serialize(new Dictionary<string, string?>
    {
        ["action"] = "payment_order_asked_psp",
        ["outcome"] = outcome,
        ["payment_order_status"] = orderStatus,
        ["ledger"] = ledger,
        ["at"] = time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    });

    /// <summary>What each order named by a break can do: the break's class depends on it.</summary>
    private async Task<IReadOnlyDictionary<string, OrderStanding>> StandingsAsync(IReadOnlyCollection<string> paymentOrderIds, CancellationToken cancellationToken)
    {
        var standings = new Dictionary<string, OrderStanding>(StringComparer.Ordinal);
        foreach (var batch in paymentOrderIds.Chunk(64))
        {
            var views = await Task.WhenAll(batch.Select(id => grains.GetGrain<IPaymentOrderGrain>(id).GetAsync()));
            for (var index = 0; index < batch.Length; index++)
            {
                standings[batch[index]] = views[index] switch
                {
                    null => OrderStanding.Unknown,
                    { Status: PaymentOrderStatus.Failed } => OrderStanding.Failed,
                    _ => OrderStanding.CanAskPsp,
                };
            }
        }

        return standings;
    }

    private MatchingSettings MatchingSettings(ReconciliationOptions settings) => new(
        Source == ReconciliationSources.Bank ? settings.BankLag : settings.SettlementLag,
        settings.LookBack,
        LedgerAccounts.PspReceivable(PaymentOrderGrain.PspName),
        LedgerAccounts.PspFees(PaymentOrderGrain.PspName),
        LedgerAccounts.Cash(LedgerAccounts.PlatformBank));

    private static string OutcomeName(PspCheckOutcome outcome) => outcome switch
    {
        PspCheckOutcome.Applied => "applied",
        PspCheckOutcome.AlreadyAgreed => "already_agreed",
        PspCheckOutcome.NotAtPsp => "not_at_psp",
        PspCheckOutcome.PspUnreachable => "psp_unreachable",
        PspCheckOutcome.UnknownOrder => "unknown_order",
        PspCheckOutcome.Contradicts => "contradicts",
        _ => outcome.ToString(),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation run {RunId} ({Source}, {Date}) at stage {Stage}, attempt {Attempt}")]
    private static partial void LogRunStarted(ILogger logger, string runId, string source, DateOnly date, string stage, int attempt);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Reconciliation run {RunId} ({Source}) finished: {Lines} lines, {Matched} matched, breaks {AutoFixed} auto-fixed, {ManualReview} manual review, {Investigate} investigate")]
    private static partial void LogRunFinished(ILogger logger, string runId, string source, long lines, long matched, long autoFixed, long manualReview, long investigate);

    [LoggerMessage(EventName = "reconciliation.break_filed", Level = LogLevel.Warning,
        Message = "reconciliation.break_filed {BreakId} run {RunId} source {Source} kind {Kind} class {Class} payment_order {PaymentOrderId} payout {PayoutId}")]
    private static partial void LogBreakFiled(ILogger logger, string breakId, string runId, string source, string kind, string @class, string? paymentOrderId, string? payoutId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation break {BreakId}: payment order {PaymentOrderId} asked the PSP: {Outcome}; booked: {Booked}")]
    private static partial void LogFixed(ILogger logger, string breakId, string paymentOrderId, PspCheckOutcome outcome, bool booked);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation break {BreakId}: asking payment order {PaymentOrderId} to check with the PSP failed; tried again next tick")]
    private static partial void LogFixThrew(ILogger logger, Exception exception, string breakId, string paymentOrderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation run {RunId}: its file could not be had")]
    private static partial void LogFileUnavailable(ILogger logger, Exception exception, string runId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reconciliation run {RunId} was interrupted; the next tick resumes it")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, string runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation run {RunId}: another attempt moved it on first")]
    private static partial void LogMovedOn(ILogger logger, string runId);
}
