using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Payments.Grains;
using Payments.Grains.PaymentOrders;

namespace Payments.Tests.Unit;

/// <summary>Nested options are validated too: a bad retry policy stops the server at start, not a payment later.</summary>
public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("PaymentOrders:Retry:AttemptsMax", "0")]
    [InlineData("PaymentOrders:Retry:AttemptsMax", "100000")]
    [InlineData("PaymentOrders:Retry:DelayBase", "00:00:00")]
    [InlineData("PaymentOrders:Retry:DelayBase", "00:10:00")]
    [InlineData("PaymentOrders:ReminderPeriod", "-00:00:01")]
    [InlineData("PaymentOrders:PspIdempotencyWindow", "-00:00:01")]
    public void A_bad_nested_setting_is_refused(string setting, string value)
    {
        using var services = Services(new Dictionary<string, string?> { [setting] = value });
        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<PaymentOrderOptions>>().Value);
    }

    [Fact]
    public void A_zero_idempotency_window_is_allowed_it_means_always_look_first() =>
        Assert.Equal(TimeSpan.Zero, Services(new Dictionary<string, string?> { ["PaymentOrders:PspIdempotencyWindow"] = "00:00:00" })
            .GetRequiredService<IOptions<PaymentOrderOptions>>().Value.PspIdempotencyWindow);

    [Fact]
    public void The_defaults_are_valid() =>
        Assert.Equal(10, Services([]).GetRequiredService<IOptions<PaymentOrderOptions>>().Value.Retry.AttemptsMax);

    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddPaymentGrains(configuration).BuildServiceProvider();
    }
}
