using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator.Payouts;

/// <summary>
/// <c>/v1/payouts</c>: payouts from the platform's balance to a bank account, made <c>pending</c> and then paid or
/// failed (by <see cref="DelayedOutcomes"/>, announced with <c>payout.paid</c> and <c>payout.failed</c>) as the test
/// bank account says. The platform's balance is not simulated: every payout to a known account is accepted.
/// <c>/_sim/payouts</c> lists them all, for tests.
/// </summary>
internal static class PayoutsApi
{
    private static readonly string[] Methods = ["standard", "instant"];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/payouts", CreateAsync);
        app.MapGet("/v1/payouts", List);
        app.MapGet("/v1/payouts/{id}", Get);
        app.MapGet("/_sim/payouts", ListSimulated);
    }

    /// <summary>
    /// Moves a payout whose time has come one step on: <c>pending</c> to <c>paid</c> or <c>failed</c>, and a payout to
    /// <c>ba_sim_fails_after_paid</c> from <c>paid</c> to <c>failed</c>, each with its event.
    /// </summary>
    public static void Advance(SimulatorTransaction changes, SimulatorWebhooks webhooks, SimulatedPayout payout, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(payout);
        TestBankAccounts.TryGetBehavior(payout.Destination, out var behavior);
        var fails = payout.Status == "paid" || behavior == TestBankAccountBehavior.Closed;
        var next = fails
            ? payout with
            {
                Status = "failed",
                FailureCode = TestBankAccounts.ClosedFailureCode,
                FailureMessage = TestBankAccounts.ClosedFailureMessage,
                ChangingSince = null,
            }
            : payout with
            {
                Status = "paid",
                PaidAt = changes.Now.ToUnixTimeSeconds(),
                // The failure comes a delay after the payment from now, not from when it was due: so that the paid
                // state is seen for a while even when a restart made both steps overdue.
                ChangingSince = behavior == TestBankAccountBehavior.FailsAfterPaid ? now : null,
            };
        changes.SavePayout(next);
        webhooks.Raise(changes, fails ? "payout.failed" : "payout.paid", PayoutJson.Payout(next));
    }

    private static async Task CreateAsync(HttpContext http, SimulatorStore store, SimulatorFaults faults, SimulatorSettings settings)
    {
        var form = await StripeApi.ReadFormAsync(http.Request).ConfigureAwait(false);
        var key = StripeApi.IdempotencyKey(http.Request);
        // A PSP that has forgotten the key (Stripe: after 24 h) runs the request as new.
        var (response, replayed) = await store.ExecuteIdempotentAsync(
            faults.Current.ForgetIdempotencyKeys ? null : key,
            StripeApi.Fingerprint(http.Request, form),
            transaction => StripeApi.WithFaults(faults, () => Create(transaction, form, key, settings)),
            () => StripeApi.IdempotencyMismatch(key!),
            http.RequestAborted).ConfigureAwait(false);
        await StripeApi.WriteAsync(http, response, replayed).ConfigureAwait(false);
    }

    private static Task Get(HttpContext http, SimulatorStore store, string id) =>
        StripeApi.WriteAsync(http, store.FindPayout(id) is { } payout
            ? new SimulatorResponse(200, StripeJson.Serialize(PayoutJson.Payout(payout)))
            : new SimulatorResponse(404, StripeJson.ErrorBody("invalid_request_error", "resource_missing", $"No such payout: '{id}'", "id")));

    /// <summary>Stripe's payout list, newest first, one page at a time: how a payout is found when its key may be forgotten.</summary>
    private static Task List(HttpContext http, SimulatorStore store)
    {
        if (!PayoutListQuery.TryParse(http.Request.Query, out var query, out var refusal))
        {
            return StripeApi.WriteAsync(http, refusal);
        }

        var newestFirst = store.ListPayouts().Reverse().ToList();
        var start = 0;
        if (query.StartingAfter is { } cursor)
        {
            var position = newestFirst.FindIndex(payout => payout.Id == cursor);
            if (position < 0)
            {
                return StripeApi.WriteAsync(http, StripeApi.InvalidRequest("resource_missing", $"No such payout: '{cursor}'", "starting_after"));
            }

            start = position + 1;
        }

        var matching = newestFirst.Skip(start).Where(query.Matches).ToList();
        var data = new JsonArray();
        foreach (var payout in matching.Take(query.Limit))
        {
            data.Add(PayoutJson.Payout(payout));
        }

        var list = new JsonObject
        {
            ["object"] = "list",
            ["url"] = "/v1/payouts",
            ["has_more"] = matching.Count > query.Limit,
            ["data"] = data,
        };
        return StripeApi.WriteAsync(http, new SimulatorResponse(200, StripeJson.Serialize(list)));
    }

    /// <summary>Every payout, oldest first: the PSP's truth for tests (a payout made twice shows up twice).</summary>
    private static IResult ListSimulated(SimulatorStore store)
    {
        var list = new JsonArray();
        foreach (var payout in store.ListPayouts())
        {
            var metadata = StripeJson.Metadata(payout.Metadata);

            list.Add(new JsonObject
            {
                ["id"] = payout.Id,
                ["idempotency_key"] = payout.IdempotencyKey,
                ["amount"] = payout.Amount,
                ["currency"] = payout.Currency,
                ["destination"] = payout.Destination,
                ["status"] = payout.Status,
                ["metadata"] = metadata,
                ["failure_code"] = payout.FailureCode,
            });
        }

        return Results.Content(StripeJson.Serialize(list), "application/json", Encoding.UTF8);
    }

    private static SimulatorResponse Create(SimulatorTransaction changes, FormParameters form, string? key, SimulatorSettings settings)
    {
        var amountText = form.Get("amount");
        if (string.IsNullOrEmpty(amountText))
        {
            return StripeApi.InvalidRequest("parameter_missing", "Missing required param: amount.", "amount");
        }

        if (!long.TryParse(amountText, NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return StripeApi.InvalidRequest("parameter_invalid_integer", $"Invalid integer: {amountText}", "amount");
        }

        if (amount < 1)
        {
            return StripeApi.InvalidRequest("amount_too_small", "Amount must be at least 1.", "amount");
        }

        var currency = form.Get("currency");
        if (string.IsNullOrEmpty(currency))
        {
            return StripeApi.InvalidRequest("parameter_missing", "Missing required param: currency.", "currency");
        }

        if (currency.Length != 3 || !currency.All(char.IsAsciiLetter))
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", $"Invalid currency: {currency}.", "currency");
        }

        // Stripe falls back to the default bank account of the currency; the simulated platform has none, so a payout
        // must name one.
        var destination = form.Get("destination");
        if (string.IsNullOrEmpty(destination))
        {
            return StripeApi.InvalidRequest("parameter_missing", "Missing required param: destination.", "destination");
        }

        if (!TestBankAccounts.TryGetBehavior(destination, out _))
        {
            return StripeApi.InvalidRequest("resource_missing", $"No such external account: '{destination}'", "destination");
        }

        var method = form.Get("method") is { Length: > 0 } given ? given : "standard";
        if (!Methods.Contains(method, StringComparer.Ordinal))
        {
            return StripeApi.InvalidRequest("parameter_invalid_string", $"Invalid method: must be one of {string.Join(", ", Methods)}.", "method");
        }

        var now = DateTimeOffset.UtcNow;
        var payout = new SimulatedPayout
        {
            Id = SimulatorStore.NewId("po"),
            IdempotencyKey = key,
            Amount = amount,
            Currency = currency.ToLowerInvariant(),
            Destination = destination,
            Method = method,
            Status = "pending",
            Metadata = form.Nested("metadata"),
            Created = now.ToUnixTimeSeconds(),
            ArrivalDate = new DateTimeOffset((now + settings.ProcessingDelay).UtcDateTime.Date, TimeSpan.Zero).ToUnixTimeSeconds(),
            ChangingSince = now,
        };
        changes.SavePayout(payout);
        return new SimulatorResponse(200, StripeJson.Serialize(PayoutJson.Payout(payout)));
    }
}
