using Payments.Core.Money;

namespace Payments.Tests.Unit;

public sealed class MoneyTests
{
    [Theory]
    [InlineData("100.00", "USD", 10000L)]
    [InlineData("100", "USD", 10000L)]
    [InlineData("0.5", "USD", 50L)]
    [InlineData("5000", "KRW", 5000L)]
    [InlineData("1.234", "BHD", 1234L)]
    [InlineData("92233720368547758.07", "USD", long.MaxValue)]
    public void Parses_decimal_strings_into_minor_units(string text, string currency, long minor)
    {
        Assert.True(Money.TryParsePositive(text, Currency.Get(currency), out var money, out var error), error);
        Assert.Equal(minor, money.Minor);
    }

    [Theory]
    [InlineData("1.001", "USD")]
    [InlineData("1.5", "JPY")]
    [InlineData("0", "USD")]
    [InlineData("0.00", "USD")]
    [InlineData("-1", "USD")]
    [InlineData("+1", "USD")]
    [InlineData("1e2", "USD")]
    [InlineData(" 1", "USD")]
    [InlineData("1.", "USD")]
    [InlineData(".5", "USD")]
    [InlineData("1,00", "USD")]
    [InlineData("92233720368547758.08", "USD")]
    [InlineData("", "USD")]
    public void Refuses_what_is_not_a_positive_amount_of_the_currency(string text, string currency)
    {
        Assert.False(Money.TryParsePositive(text, Currency.Get(currency), out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData(10000L, 2, "100.00")]
    [InlineData(0L, 2, "0.00")]
    [InlineData(5L, 2, "0.05")]
    [InlineData(-10000L, 2, "-100.00")]
    [InlineData(5000L, 0, "5000")]
    [InlineData(1234L, 3, "1.234")]
    [InlineData(long.MinValue, 2, "-92233720368547758.08")]
    public void Formats_with_exactly_the_currency_decimals(long minor, int digits, string expected) =>
        Assert.Equal(expected, Money.FormatMinor(minor, digits));

    [Fact]
    public void Adding_different_currencies_or_overflowing_throws()
    {
        var usd = new Money(1, Currency.Get("USD"));
        Assert.Throws<InvalidOperationException>(() => usd.Add(new Money(1, Currency.Get("EUR"))));
        Assert.Throws<OverflowException>(() => new Money(long.MaxValue, Currency.Get("USD")).Add(usd));
        Assert.Equal(2, usd.Add(usd).Minor);
    }

    [Theory]
    [InlineData("USD", 99_999_999_999L)]
    [InlineData("JPY", 999_999_999L)]
    [InlineData("BHD", 999_999_999_999L)]
    public void One_order_charges_at_most_999999999_major_units_and_the_minor_ones_below(string currency, long maxMinor) =>
        Assert.Equal(maxMinor, Money.OrderMaxMinor(Currency.Get(currency)));
}
