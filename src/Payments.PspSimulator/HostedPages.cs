using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Payments.PspSimulator;

/// <summary>
/// The pages a buyer's browser sees at the PSP: the hosted payment page of a Checkout Session
/// (<c>/_sim/checkout/{id}</c>), where a test card number is typed in, and the 3-D Secure challenge
/// of a payment intent (<c>/_sim/authenticate/{id}</c>). Plain HTML forms, so that a test can play
/// the browser with an HttpClient.
/// </summary>
internal static class HostedPages
{
    /// <summary>Stripe's test card numbers the hosted page knows.</summary>
    private static readonly Dictionary<string, TestCardBehavior> Cards = new(StringComparer.Ordinal)
    {
        ["4242424242424242"] = TestCardBehavior.Succeeds,
        ["5555555555554444"] = TestCardBehavior.Succeeds,
        ["4000000000000002"] = TestCardBehavior.Declined,
        ["4000000000009995"] = TestCardBehavior.DeclinedInsufficientFunds,
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/_sim/checkout/{id}", ShowCheckout);
        app.MapPost("/_sim/checkout/{id}", PayAsync);
        app.MapGet("/_sim/authenticate/{id}", ShowAuthentication);
        app.MapPost("/_sim/authenticate/{id}", AuthenticateAsync);
    }

    private static IResult ShowCheckout(SimulatorStore store, string id)
    {
        if (store.FindSession(id) is not { } session)
        {
            return Page(404, "Not found", $"<p>No such checkout session: {Encode(id)}</p>");
        }

        if (session.Status != "open")
        {
            return Page(200, "Paid", $"<p>This checkout session is {Encode(session.Status)}.</p><p><a href=\"{Encode(SuccessUrl(session))}\">Back to the shop</a></p>");
        }

        var items = string.Concat(session.LineItems.Select(i =>
            $"<li>{Encode(i.Name)} &times; {i.Quantity}: {i.UnitAmount * i.Quantity} {Encode(session.Currency.ToUpperInvariant())}</li>"));
        var cancel = session.CancelUrl is { } cancelUrl ? $"<p><a href=\"{Encode(cancelUrl)}\">Cancel</a></p>" : string.Empty;
        return Page(200, "Pay", $"""
            <ul>{items}</ul>
            <p>Total: {session.AmountTotal} {Encode(session.Currency.ToUpperInvariant())} (minor units)</p>
            <form method="post" action="/_sim/checkout/{Encode(session.Id)}">
              <label>Card number <input name="card_number" autocomplete="cc-number" value="4242 4242 4242 4242"></label>
              <button type="submit">Pay</button>
            </form>
            <p>4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined.</p>
            {cancel}
            """);
    }

    private static async Task<IResult> PayAsync(HttpContext http, SimulatorStore store, SimulatorWebhooks webhooks, string id)
    {
        var form = await StripeApi.ReadFormAsync(http.Request).ConfigureAwait(false);
        var card = new string((form.Get("card_number") ?? string.Empty).Where(c => c is not (' ' or '-')).ToArray());
        var apiBase = StripeApi.ApiBase(http.Request);
        return store.Update(changes => Pay(changes, webhooks, id, card, apiBase));
    }

    /// <summary>
    /// The buyer submitted <paramref name="card"/>: the session's intent (made at the first card, and
    /// reused by the next ones, as Stripe does) is charged or declined. The browser then goes to the
    /// success URL either way; the shop learns the outcome from the webhook or by asking.
    /// </summary>
    private static IResult Pay(SimulatorTransaction changes, SimulatorWebhooks webhooks, string id, string card, string apiBase)
    {
        if (changes.FindSession(id) is not { } session)
        {
            return Page(404, "Not found", $"<p>No such checkout session: {Encode(id)}</p>");
        }

        if (session.Status != "open")
        {
            // Paid already (a second submit, the back button): nothing more to charge.
            return SeeOther(SuccessUrl(session));
        }

        if (!Cards.TryGetValue(card, out var behavior))
        {
            return Page(400, "Card refused", "<p>That is not a test card number the simulator knows. Use 4242 4242 4242 4242 or 4000 0000 0000 0002.</p>");
        }

        var intent = session.PaymentIntent is { } intentId && changes.FindIntent(intentId) is { } existing
            ? existing
            : NewIntent(session);
        var charge = SimulatorStore.NewId("ch");
        intent = intent with { PaymentMethod = SimulatorStore.NewId("pm"), LatestCharge = charge };
        if (behavior == TestCardBehavior.Succeeds)
        {
            var succeeded = StripeApi.Succeeded(intent);
            StripeApi.SaveAndAnnounce(changes, webhooks, succeeded, "payment_intent.succeeded", apiBase);
            session = session with { Status = "complete", PaymentStatus = "paid", PaymentIntent = succeeded.Id };
            changes.SaveSession(session);
            webhooks.Raise(changes, "checkout.session.completed", StripeJson.CheckoutSession(session));
        }
        else
        {
            var error = behavior == TestCardBehavior.Declined
                ? new SimulatedCardError("card_declined", "generic_decline", "Your card was declined.", charge)
                : new SimulatedCardError("card_declined", "insufficient_funds", "Your card has insufficient funds.", charge);
            var failed = intent with { Status = "requires_payment_method", LastPaymentError = error };
            StripeApi.SaveAndAnnounce(changes, webhooks, failed, "payment_intent.payment_failed", apiBase);
            session = session with { PaymentIntent = failed.Id };
            changes.SaveSession(session);
        }

        return SeeOther(SuccessUrl(session));
    }

    private static SimulatedPaymentIntent NewIntent(SimulatedCheckoutSession session)
    {
        var id = SimulatorStore.NewId("pi");
        return new SimulatedPaymentIntent
        {
            Id = id,
            ClientSecret = id + "_secret_" + SimulatorStore.NewId("cs")[3..],
            Amount = session.AmountTotal,
            Currency = session.Currency,
            Status = "requires_payment_method",
            Metadata = session.PaymentIntentMetadata,
            Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        };
    }

    private static IResult ShowAuthentication(SimulatorStore store, string id)
    {
        if (store.FindIntent(id) is not { } intent)
        {
            return Page(404, "Not found", $"<p>No such payment intent: {Encode(id)}</p>");
        }

        if (intent.Status != "requires_action")
        {
            return Page(200, "Done", $"<p>Payment {Encode(intent.Id)} is {Encode(intent.Status)}; there is nothing to authenticate.</p>");
        }

        var action = $"/_sim/authenticate/{Encode(intent.Id)}";
        return Page(200, "3-D Secure", $"""
            <p>Authenticate the payment of {intent.Amount} {Encode(intent.Currency.ToUpperInvariant())} (minor units).</p>
            <form method="post" action="{action}"><input type="hidden" name="action" value="approve"><button type="submit">Complete authentication</button></form>
            <form method="post" action="{action}"><input type="hidden" name="action" value="fail"><button type="submit">Fail authentication</button></form>
            """);
    }

    private static async Task<IResult> AuthenticateAsync(HttpContext http, SimulatorStore store, SimulatorWebhooks webhooks, string id)
    {
        var form = await StripeApi.ReadFormAsync(http.Request).ConfigureAwait(false);
        var action = form.Get("action");
        if (action is not ("approve" or "fail"))
        {
            return Page(400, "Bad request", "<p>action must be approve or fail.</p>");
        }

        var apiBase = StripeApi.ApiBase(http.Request);
        return store.Update(changes =>
        {
            if (changes.FindIntent(id) is not { } intent)
            {
                return Page(404, "Not found", $"<p>No such payment intent: {Encode(id)}</p>");
            }

            if (intent.Status != "requires_action")
            {
                // Answered already (a second submit): the outcome stands.
                return Finished(intent);
            }

            if (action == "approve")
            {
                intent = StripeApi.Succeeded(intent);
                StripeApi.SaveAndAnnounce(changes, webhooks, intent, "payment_intent.succeeded", apiBase);
            }
            else
            {
                intent = intent with
                {
                    Status = "requires_payment_method",
                    LastPaymentError = new SimulatedCardError(
                        "payment_intent_authentication_failure",
                        null,
                        "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
                        null),
                };
                StripeApi.SaveAndAnnounce(changes, webhooks, intent, "payment_intent.payment_failed", apiBase);
            }

            return Finished(intent);
        });
    }

    /// <summary>
    /// Back to the shop's <c>return_url</c> with Stripe's query parameters (<c>payment_intent</c>,
    /// <c>redirect_status</c>), or a page saying it is done when there is none.
    /// </summary>
    private static IResult Finished(SimulatedPaymentIntent intent)
    {
        var status = intent.Status == "succeeded" ? "succeeded" : "failed";
        if (intent.ReturnUrl is { } returnUrl)
        {
            return SeeOther(WithQuery(returnUrl, $"payment_intent={Uri.EscapeDataString(intent.Id)}&redirect_status={status}"));
        }

        return Page(200, "Done", $"<p>Authentication {status}. Payment {Encode(intent.Id)} is {Encode(intent.Status)}. You can close this page.</p>");
    }

    /// <summary>
    /// The success URL with the session id: Stripe's <c>{CHECKOUT_SESSION_ID}</c> template filled in
    /// if the URL has it, else <c>session_id</c> appended.
    /// </summary>
    private static string SuccessUrl(SimulatedCheckoutSession session) =>
        session.SuccessUrl.Contains("{CHECKOUT_SESSION_ID}", StringComparison.Ordinal)
            ? session.SuccessUrl.Replace("{CHECKOUT_SESSION_ID}", session.Id, StringComparison.Ordinal)
            : WithQuery(session.SuccessUrl, "session_id=" + Uri.EscapeDataString(session.Id));

    private static string WithQuery(string url, string query)
    {
        var fragment = url.IndexOf('#', StringComparison.Ordinal);
        var (head, tail) = fragment < 0 ? (url, string.Empty) : (url[..fragment], url[fragment..]);
        return head + (head.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query + tail;
    }

    /// <summary>303: the browser follows with a GET, as after any form POST.</summary>
    private static IResult SeeOther(string location) => new SeeOtherResult(location);

    private static IResult Page(int status, string title, string body) =>
        Results.Content(
            $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{Encode(title)} - PSP simulator</title></head>
            <body><h1>{Encode(title)}</h1>
            {body}
            </body></html>
            """,
            "text/html",
            Encoding.UTF8,
            status);

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private sealed class SeeOtherResult(string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
            httpContext.Response.Headers.Location = location;
            return Task.CompletedTask;
        }
    }
}
