using System.Reflection;
using System.Text;
using Orleans.Storage;
using Payments.Grains.Checkout;
using Payments.Grains.Events;
using Payments.Grains.Idempotency;
using Payments.Grains.PaymentOrders;
using Payments.Grains.Payouts;
using Payments.Grains.Storage;
using Payments.Grains.Wallets;

namespace Payments.Tests.Unit.Storage;

/// <summary>
/// The grain state serializer writes the binary format for every state but the idempotency key's, whose JSON the expiry sweep
/// reads, and reads both formats: rows written as JSON by earlier builds keep working.
/// </summary>
public sealed class GrainStateSerializerTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 20, 6, 0, 0, TimeSpan.Zero);

    private static readonly JsonGrainStorageSerializer Json = StateSerializers.Json;

    private readonly GrainStateSerializer _serializer = StateSerializers.Storage();

    [Fact]
    public void A_wallet_is_stored_in_the_binary_format_and_reads_back_with_its_balances_operations_and_reservations()
    {
        var wallet = new SellerWalletState { MerchantId = "merchant_1" };
        wallet.Balances["USD"] = new SellerWalletState.CurrencyBalance { Pending = 1_500, Available = -250 };
        wallet.AppliedOperations.Add("payin:po_1");
        wallet.Reservations["payout:po_2"] = new SellerWalletState.Reservation("USD", 700);
        wallet.ForgettableSince["payin:po_1"] = At;

        var stored = _serializer.Serialize(wallet);
        var read = _serializer.Deserialize<SellerWalletState>(stored)!;

        Assert.Equal(GrainStateSerializer.BinaryFormat, stored[0]);
        Assert.Equal(AsJson(wallet), AsJson(read));
        Assert.Equal(1_500, read.Balances["USD"].Pending);
        Assert.Equal(-250, read.Balances["USD"].Available);
        Assert.Equal(new SellerWalletState.Reservation("USD", 700), read.Reservations["payout:po_2"]);
        Assert.Contains("payin:po_1", read.AppliedOperations);
    }

    [Fact]
    public void A_checkout_with_its_completion_event_reads_back_from_the_binary_format()
    {
        var checkout = new CheckoutState
        {
            Exists = true,
            MerchantId = "merchant_1",
            BuyerId = "buyer_1",
            RequestFingerprint = "merchant_1\nbuyer_1",
            PaymentOrderIds = ["po_1", "po_2"],
            FinalOrderIds = ["po_1"],
            CreatedAt = At,
            UpdatedAt = At.AddSeconds(1),
            CreationPending = true,
            CompletedEvent = new OwedEvent { EventId = "evt_1", Type = "checkout.completed", OrderingKey = "chk_1", CreatedAt = At, Data = "{\"object\":{}}" },
        };

        var stored = _serializer.Serialize(checkout);
        var read = _serializer.Deserialize<CheckoutState>(stored)!;

        Assert.Equal(GrainStateSerializer.BinaryFormat, stored[0]);
        Assert.Equal(AsJson(checkout), AsJson(read));
        Assert.Equal("evt_1", read.CompletedEvent!.EventId);
    }

    [Fact]
    public void An_idempotency_key_is_stored_as_json_with_the_completed_flag_the_expiry_sweep_looks_for()
    {
        var key = new IdempotencyKeyState { Fingerprint = "f", Completed = true, StatusCode = 201, Body = [1, 2, 3], CompletedAt = At };

        var stored = _serializer.Serialize(key);
        var read = _serializer.Deserialize<IdempotencyKeyState>(stored)!;

        Assert.Contains("\"Completed\":true", Encoding.UTF8.GetString(stored), StringComparison.Ordinal);
        Assert.Equal(AsJson(key), AsJson(read));
        Assert.Equal([1, 2, 3], read.Body);
    }

    [Fact]
    public void A_checkout_stored_as_json_by_an_earlier_build_still_reads()
    {
        var checkout = new CheckoutState { Exists = true, MerchantId = "merchant_1", PaymentOrderIds = ["po_1"], CreatedAt = At };
        var earlier = Json.Serialize(checkout).ToArray();

        var read = _serializer.Deserialize<CheckoutState>(earlier)!;

        Assert.Equal('{', (char)earlier[0]);
        Assert.Equal(AsJson(checkout), AsJson(read));
    }

    [Fact]
    public void Told_to_write_json_for_a_rolling_upgrade_it_writes_json_and_still_reads_it()
    {
        var serializer = StateSerializers.Storage(GrainStateFormat.Json);
        var checkout = new CheckoutState { Exists = true, MerchantId = "merchant_1", PaymentOrderIds = ["po_1"], CreatedAt = At };

        var stored = serializer.Serialize(checkout);

        Assert.Equal(Json.Serialize(checkout).ToArray(), stored);
        Assert.Equal(AsJson(checkout), AsJson(_serializer.Deserialize<CheckoutState>(stored)));
    }

    /// <summary>The binary format stores a property only by its [Id]: one added without it would be lost at every write.</summary>
    [Theory]
    [InlineData(typeof(CheckoutState))]
    [InlineData(typeof(OwedEvent))]
    [InlineData(typeof(IdempotencyKeyState))]
    [InlineData(typeof(PaymentOrderState))]
    [InlineData(typeof(RefundState))]
    [InlineData(typeof(LatePaymentState))]
    [InlineData(typeof(PayoutState))]
    [InlineData(typeof(PayoutScheduleState))]
    [InlineData(typeof(SellerWalletState))]
    [InlineData(typeof(SellerWalletState.CurrencyBalance))]
    [InlineData(typeof(SellerWalletState.Reservation))]
    public void Every_property_a_stored_state_can_set_has_an_id(Type stateType)
    {
        var withoutId = stateType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.SetMethod is { IsPublic: true } && property.GetCustomAttribute<IdAttribute>() is null)
            .Select(property => property.Name)
            .ToArray();

        Assert.True(stateType.IsDefined(typeof(GenerateSerializerAttribute)), $"{stateType.Name} has no [GenerateSerializer]");
        Assert.Empty(withoutId);
    }

    private static string AsJson<T>(T state) => Json.Serialize(state).ToString();
}
