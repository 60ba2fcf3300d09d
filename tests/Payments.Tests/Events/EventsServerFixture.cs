using Payments.Tests.Infrastructure;

namespace Payments.Tests.Events;

/// <summary>
/// A server of the events tests' own, with a merchant per test: an endpoint belongs to a merchant, and one test's
/// deliveries (retried ones too) must not reach another's receiver.
/// </summary>
public sealed class EventsServerFixture : DedicatedServerFixture
{
    public static readonly string[] Merchants = ["merchant_ev1", "merchant_ev2", "merchant_ev3", "merchant_ev4", "merchant_ev5", "merchant_ev6"];

    public static string KeyOf(string merchant) => $"sk_test_{merchant}";

    protected override IDictionary<string, string?> Settings
    {
        get
        {
            var settings = new Dictionary<string, string?>();
            for (var index = 0; index < Merchants.Length; index++)
            {
                settings[$"Auth:ApiKeys:{10 + index}:Key"] = KeyOf(Merchants[index]);
                settings[$"Auth:ApiKeys:{10 + index}:MerchantId"] = Merchants[index];
            }

            return settings;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EventsServerCollection : ICollectionFixture<EventsServerFixture>
{
    public const string Name = "events server";
}
