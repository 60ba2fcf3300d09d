using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Payments.Api.Authentication;
using Payments.Api.Problems;
using Payments.Core.Ids;
using Payments.Core.Money;
using Payments.Core.Wallets;

namespace Payments.Api.Wallets;

public sealed record WalletBalanceResponse(string Currency, string Pending, string Available, string Reserved, string PaidOut);

public sealed record WalletResponse(string SellerAccount, IReadOnlyList<WalletBalanceResponse> Balances);

public static class WalletsApi
{
    public static IEndpointRouteBuilder MapWalletsApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/v1").WithTags("Wallets").RequireApiKey()
            .MapGet("/sellers/{sellerAccount}/wallet", GetWalletAsync)
            .WithName("GetSellerWallet")
            .WithSummary("A seller's balances per currency: pending, available, reserved, paid out.");
        return app;
    }

    internal static async Task<Results<Ok<WalletResponse>, ProblemHttpResult>> GetWalletAsync(string sellerAccount, HttpContext context, IGrainFactory grains)
    {
        var caller = Caller.From(context);
        var wallet = ClientId.IsValid(sellerAccount) ? await grains.GetGrain<ISellerWalletGrain>(sellerAccount).GetAsync() : null;
        return wallet is { MerchantId: not null } && caller.CanSee(wallet.MerchantId)
            ? TypedResults.Ok(From(wallet))
            : ApiProblem.NotFound("seller wallet", sellerAccount);
    }

    private static WalletResponse From(WalletView wallet) => new(
        wallet.SellerAccount,
        wallet.Balances.Select(balance => new WalletBalanceResponse(
            balance.Currency.Code,
            Money.FormatMinor(balance.PendingMinor, balance.Currency.MinorDigits),
            Money.FormatMinor(balance.AvailableMinor, balance.Currency.MinorDigits),
            Money.FormatMinor(balance.ReservedMinor, balance.Currency.MinorDigits),
            Money.FormatMinor(balance.PaidOutMinor, balance.Currency.MinorDigits))).ToArray());
}
