using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Payments.Api.Operations;

/// <summary>
/// Looks for stuck payment orders periodically: logs a warning for each and exports their count as the
/// gauge <c>payments.stuck_payment_orders</c> (meter <c>Payments</c>), for alerts.
/// </summary>
public sealed class StuckPaymentsMonitor : BackgroundService
{
    public const string MeterName = "Payments";

    private readonly UnfinishedPaymentOrders _unfinished;
    private readonly IOptions<OperationsOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<StuckPaymentsMonitor> _logger;
    private long _stuckCount;

    public StuckPaymentsMonitor(UnfinishedPaymentOrders unfinished, IOptions<OperationsOptions> options, TimeProvider time, IMeterFactory meters, ILogger<StuckPaymentsMonitor> logger)
    {
        _unfinished = unfinished;
        _options = options;
        _time = time;
        _logger = logger;
        meters.Create(MeterName).CreateObservableGauge("payments.stuck_payment_orders", () => Interlocked.Read(ref _stuckCount),
            unit: "{order}", description: "Payment orders not final after Operations:StuckAfter");
    }

    public long LastStuckCount => Interlocked.Read(ref _stuckCount);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Value.StuckCheckInterval, _time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await CheckAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // A failed check (database or cluster unavailable) is reported and tried again at the next tick.
                _logger.LogError(exception, "Stuck-payment check failed");
            }
        }
    }

    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var stuck = await _unfinished.StuckAsync(_options.Value.StuckAfter, _time.GetUtcNow(), cancellationToken);
        Interlocked.Exchange(ref _stuckCount, stuck.Count);
        foreach (var order in stuck)
        {
            _logger.LogWarning("Stuck payment order {PaymentOrderId}: {Status} since {CreatedAt:O}, {Attempts} attempts, dead letter: {DeadLettered}",
                order.PaymentOrderId, order.Status, order.CreatedAt, order.Attempts, order.DeadLettered);
        }
    }
}
