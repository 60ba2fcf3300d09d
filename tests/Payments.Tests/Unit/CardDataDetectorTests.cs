using System.Text.Json;
using Payments.Api.Payments;

namespace Payments.Tests.Unit;

public sealed class CardDataDetectorTests
{
    [Theory]
    [InlineData("4242424242424242")]
    [InlineData("4000 0000 0000 0002")]
    [InlineData("5555-5555-5555-4444")]
    [InlineData("378282246310005")]
    public void Recognises_card_numbers(string text) => Assert.True(CardDataDetector.LooksLikeCardNumber(text));

    [Theory]
    [InlineData("4242424242424241")]
    [InlineData("424242424242")]
    [InlineData("12345678901234567890")]
    [InlineData("pm_card_visa")]
    [InlineData("100.00")]
    public void Leaves_other_values_alone(string text) => Assert.False(CardDataDetector.LooksLikeCardNumber(text));

    [Fact]
    public void Finds_a_card_number_nested_anywhere_including_json_numbers()
    {
        Assert.True(CardDataDetector.ContainsCardNumber(JsonDocument.Parse("{\"a\":[{\"b\":{\"pan\":4242424242424242}}]}").RootElement));
        Assert.False(CardDataDetector.ContainsCardNumber(JsonDocument.Parse("{\"a\":[{\"b\":{\"amount\":\"10.00\"}}]}").RootElement));
    }
}
