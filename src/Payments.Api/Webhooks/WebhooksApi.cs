using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Payments.Api.Problems;
using Payments.Core.Ids;
using Payments.Core.PaymentOrders;
using Payments.Core.Payouts;
using Payments.Psp;

namespace Payments.Api.Webhooks;

public sealed record WebhookReceipt(bool Received, string Outcome);

/// <summary>
/// POST /v1/psp/webhooks: signed by the PSP (no API key, no Idempotency-Key). Verified with the Stripe SDK against
/// each configured secret, deduplicated durably by event id, and applied to the payment order, which ignores
/// anything that would move it backwards.
/// </summary>
public static class WebhooksApi
{
    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/psp/webhooks", ReceiveAsync)
            .WithTags("Webhooks")
            .WithName("ReceivePspWebhook")
            .WithSummary("PSP events (Stripe-signed): payment intents, checkout sessions, refunds, payouts.")
            .Accepts<object>("application/json")
            .Produces<WebhookReceipt>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    internal static async Task<Results<Ok<WebhookReceipt>, ProblemHttpResult>> ReceiveAsync(
        HttpContext context,
        StripeWebhookVerifier verifier,
        WebhookEventStore events,
        IGrainFactory grains,
        IOptions<ApiOptions> options,
        ILoggerFactory loggers)
    {
        var (body, tooLarge) = await RequestBody.ReadAsync(context.Request, options.Value.RequestBodyBytesMax, context.RequestAborted);
        if (tooLarge is not null)
        {
            return tooLarge;
        }

        var payload = Encoding.UTF8.GetString(body!);
        var verification = verifier.Verify(payload, context.Request.Headers["Stripe-Signature"].ToString());
        if (verification.Event is not { } webhook)
        {
            return ApiProblem.Create(StatusCodes.Status400BadRequest, "invalid_signature", "Invalid webhook signature", verification.Failure);
        }

        var (known, applied) = PspNotices.IsAboutPayout(webhook)
            ? await ApplyToPayoutAsync(grains, webhook)
            : await ApplyToPaymentOrderAsync(grains, webhook);
        if (!known)
        {
            // Not ours (or not yet): answered 200 so the PSP stops, and kept for investigation.
            loggers.CreateLogger(typeof(WebhooksApi)).LogWarning("PSP event {EventId} ({Type}) names an unknown payment order {PaymentOrderId} or payout {PayoutId}; recorded for investigation",
                webhook.Id, webhook.Type, webhook.PaymentOrderId, webhook.PayoutId);
            var firstTime = await events.RecordAsync(webhook.Id, webhook.Type, webhook.PaymentOrderId, payload, "unknown_payment", context.RequestAborted);
            return TypedResults.Ok(new WebhookReceipt(true, firstTime ? "unknown_payment" : "duplicate"));
        }

        var recorded = applied ? "applied" : "ignored";
        var recordedNow = await events.RecordAsync(webhook.Id, webhook.Type, webhook.PaymentOrderId, payload, recorded, context.RequestAborted);
        return TypedResults.Ok(new WebhookReceipt(true, recordedNow ? recorded : "duplicate"));
    }

    private static async Task<(bool Known, bool Applied)> ApplyToPaymentOrderAsync(IGrainFactory grains, PspEvent webhook)
    {
        var outcome = ClientId.IsValid(webhook.PaymentOrderId)
            ? await grains.GetGrain<IPaymentOrderGrain>(webhook.PaymentOrderId!).ApplyPspNoticeAsync(PspNotices.From(webhook))
            : PspNoticeOutcome.UnknownOrder;
        return (outcome != PspNoticeOutcome.UnknownOrder, outcome == PspNoticeOutcome.Applied);
    }

    private static async Task<(bool Known, bool Applied)> ApplyToPayoutAsync(IGrainFactory grains, PspEvent webhook)
    {
        var outcome = PayoutIds.IsValid(webhook.PayoutId)
            ? await grains.GetGrain<IPayoutGrain>(webhook.PayoutId!).ApplyPspNoticeAsync(PspNotices.ForPayout(webhook))
            : PayoutNoticeOutcome.UnknownPayout;
        return (outcome != PayoutNoticeOutcome.UnknownPayout, outcome == PayoutNoticeOutcome.Applied);
    }
}
