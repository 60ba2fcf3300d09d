using System.Globalization;
using Payments.Tests.Infrastructure;
using static Payments.Tests.BadInput.HostileValues;

namespace Payments.Tests.BadInput;

/// <summary>A route as the server lists it: its template (with {params}) and method.</summary>
public sealed record ApiRoute(string Template, string Method)
{
    public bool IsOperatorOnly => Template.StartsWith("/v1/ledger", StringComparison.Ordinal) || Template.StartsWith("/v1/ops", StringComparison.Ordinal)
        || Template.StartsWith("/v1/reconciliation", StringComparison.Ordinal) || Template.StartsWith("/dashboard", StringComparison.Ordinal);

    public bool IsPspWebhook => Template == "/v1/psp/webhooks";

    /// <summary>Routes whose body and Idempotency-Key the gateway reads (authenticated POSTs, and the PUTs' bodies).</summary>
    public bool Changes => Method is "POST" or "PUT" or "DELETE";
}

/// <summary>Resources that exist, so that bad requests also meet real ones (a real order refunded with a bad amount).</summary>
public sealed record KnownIds(string CheckoutId, string PaymentOrderId, string Seller);

/// <summary>
/// Makes bad requests from one seed, so a failure reproduces. Every request to a route that changes something carries at
/// least one defect the gateway must refuse before it does anything (a body or field it must refuse, no valid key, a bad
/// Idempotency-Key, a wrong method); the other mutations (odd keys, content types, ids, queries, noise) ride along.
/// </summary>
public sealed class BadRequestGenerator(int seed, IReadOnlyList<ApiRoute> routes, KnownIds known)
{
    private readonly Random _random = new(seed);
    private readonly string[] _validKeys = ValidKeys().ToArray();

    public IReadOnlyList<RawRequest> Generate(int count)
    {
        var requests = new List<RawRequest>(count);
        for (var i = 0; i < count; i++)
        {
            // Round robin over the routes, so each gets its share whatever the seed.
            requests.Add(Make(routes[i % routes.Count], i));
        }

        return requests;
    }

    private RawRequest Make(ApiRoute route, int index)
    {
        var headers = new List<(string Name, string Value)>();
        var method = route.Method;
        var target = FillPath(route.Template);
        var body = Array.Empty<byte>();
        string? authorization = route.IsPspWebhook ? null : "Bearer " + (route.IsOperatorOnly ? TestServer.OperatorKey : TestServer.MerchantKey);
        string? idempotencyKey = route.Method == "POST" && !route.IsPspWebhook ? _random.Pick(_validKeys) + index.ToString(CultureInfo.InvariantCulture) : null;
        string? contentType = "application/json";
        string category;
        var defect = _random.Next(route.Changes ? 5 : 4);
        switch (defect)
        {
            case 0 when route.Changes || _random.Next(3) == 0:
            case 4:
                category = "body";
                body = Bytes(HostileBody(route));
                break;
            case 0:
            case 1:
                category = "headers";
                (authorization, idempotencyKey, contentType) = BadHeaders(route, authorization, idempotencyKey, contentType, headers, ref body);
                break;
            case 2:
                category = "path";
                target = FillPath(route.Template, hostile: true);
                if (route.Changes)
                {
                    body = Bytes(HostileBody(route));
                }

                break;
            default:
                category = "method";
                method = _random.Pick(WrongMethods.Where(m => !string.Equals(m, route.Method, StringComparison.OrdinalIgnoreCase)).ToArray());
                if (route.Changes || _random.Next(2) == 0)
                {
                    // A valid body is safe only under a wrong method; a read route's wrong method (PUT on payout_settings'
                    // GET) may name a real route, so it gets a body no route accepts.
                    body = Bytes(route.Changes ? ValidishBody(route) : "[1]");
                }

                break;
        }

        // Riding along: a bad query on any route, an odd but valid Idempotency-Key, a content type with an odd charset.
        if (_random.Next(3) == 0)
        {
            target += (target.Contains('?', StringComparison.Ordinal) ? "&" : "?") + _random.Pick(QueryJunk);
            category += "+query";
        }

        if (authorization is not null)
        {
            headers.Add(("Authorization", authorization));
        }

        if (idempotencyKey is not null)
        {
            headers.Add(("Idempotency-Key", idempotencyKey));
        }

        if (contentType is not null && (body.Length > 0 || _random.Next(4) == 0))
        {
            headers.Add(("Content-Type", contentType));
        }

        if (route.IsPspWebhook && !headers.Any(h => h.Name == "Stripe-Signature") && _random.Next(4) != 0)
        {
            headers.Add(("Stripe-Signature", BadSignature(body)));
        }

        return new RawRequest(category, method, target, headers, body)
        {
            Route = $"{route.Method} {route.Template}",
            // A GET may answer 200 (a wrong method may be GET, in any case, on a real read route); so may the dashboard's sign-in and
            // sign-out pages, which change nothing stored.
            // Health checks answer any method (ASP.NET's MapHealthChecks) and change nothing.
            MustBeRefused = !(method.ToUpperInvariant() is "GET" or "HEAD" || route.Template.StartsWith("/dashboard-sign", StringComparison.Ordinal)
                || route.Template.StartsWith("/health/", StringComparison.Ordinal)),
        };
    }

    private string FillPath(string template, bool hostile = false)
    {
        var path = template
            .Replace("{checkoutId}", hostile ? _random.Pick(PathIds) : Real(known.CheckoutId), StringComparison.Ordinal)
            .Replace("{paymentOrderId}", hostile ? _random.Pick(PathIds) : Real(known.PaymentOrderId), StringComparison.Ordinal)
            .Replace("{sellerAccount}", hostile ? _random.Pick(PathIds) : Real(known.Seller), StringComparison.Ordinal);
        while (path.IndexOf('{', StringComparison.Ordinal) is var open and >= 0)
        {
            var close = path.IndexOf('}', open);
            path = path[..open] + (hostile ? _random.Pick(PathIds) : "nope_" + _random.Next(1000).ToString(CultureInfo.InvariantCulture)) + path[(close + 1)..];
        }

        // A trailing slash, a doubled one, or a dot segment on a good id also names nothing, or the same thing.
        return hostile && _random.Next(4) == 0 ? _random.Pick(new[] { path + "/", path.Replace("/v1/", "/v1//", StringComparison.Ordinal), path + "/.", path + "/../x" }) : path;
    }

    private string Real(string id) => _random.Next(3) == 0 ? "nope_" + _random.Next(1000).ToString(CultureInfo.InvariantCulture) : id;

    private (string?, string?, string?) BadHeaders(ApiRoute route, string? authorization, string? key, string? contentType,
        List<(string, string)> headers, ref byte[] body)
    {
        // A route that changes something gets a defect here: no valid key, or an Idempotency-Key it must refuse, or (for the
        // PUTs, which read no key) a body it must refuse; a GET may get any of them.
        var choice = _random.Next(7);
        if (route.Changes && !route.IsPspWebhook && route.Method != "POST" && choice is 1 or 2)
        {
            body = Bytes(HostileBody(route));
        }

        switch (choice)
        {
            case 0:
                authorization = _random.Pick(InvalidAuthorizations);
                if (route.IsPspWebhook)
                {
                    authorization ??= "Bearer " + TestServer.MerchantKey;
                }

                break;
            case 1:
                key = route.Method == "POST" ? _random.Pick(InvalidKeys) : key;
                break;
            case 2:
                key = route.Method == "POST" ? (_random.Next(2) == 0 ? null : "") : key;
                break;
            case 3:
                // A content type the route cannot read, with a body it must refuse anyway.
                contentType = _random.Pick(ContentTypes);
                body = Bytes(route.Changes ? HostileBody(route) : "{}");
                break;
            case 4:
                // Headers beyond Kestrel's limits (32 KiB in all), or many of them: 431, still an answer.
                var size = _random.Pick(new[] { 8 * 1024, 20 * 1024, 40 * 1024, 70 * 1024 });
                headers.Add(("X-Huge", new string('h', size)));
                for (var i = 0; i < _random.Next(0, 120); i++)
                {
                    headers.Add(($"X-Many-{i}", "v"));
                }

                body = route.Changes ? Bytes(HostileBody(route)) : body;
                break;
            case 5:
                // Framing that is not HTTP: Kestrel answers 400 itself.
                headers.Add(_random.Pick(new (string, string)[]
                {
                    ("Transfer-Encoding", "chunked, identity"), ("Bad Header", "x"), ("X-Ctl", "a\x01b"), ("X-Nul", "a\x00b"), ("", "empty name"),
                    ("Content-Length", "abc"), ("Content-Length", "-1"), ("Host", "a"), ("X-Obs-Fold", "a\r\n b"), ("X-Latin", "\u00e9\u00ff"),
                }));
                body = route.Changes ? Bytes(HostileBody(route)) : body;
                break;
            default:
                // A valid but odd Idempotency-Key (any printable char, 255 long) with a body the route must refuse.
                key = route.Method == "POST" ? _random.Pick(_validKeys) : key;
                body = Bytes(route.Changes ? HostileBody(route) : "{}");
                break;
        }

        return (authorization, key, contentType);
    }

    /// <summary>A body the route must refuse: not JSON, not an object, too deep, too large, or a field it must refuse.</summary>
    private string HostileBody(ApiRoute route)
    {
        switch (_random.Next(10))
        {
            case 0:
                return _random.Pick(InvalidJsonBodies);
            case 1 when route.Template != "/v1/ops/dead-letters/{id}/replay":
                return _random.Pick(NonObjectJsonBodies);
            case 2:
                return Nested(_random.Pick(new[] { 33, 64, 1000, 100_000 }), _random.Next(2) == 0);
            case 3:
                // Past the 256 KiB limit, and past 1 MB.
                return Huge(_random.Pick(new[] { 256 * 1024, 1024 * 1024 + 7, 3 * 1024 * 1024 }));
            default:
                return FieldDefect(route);
        }
    }

    /// <summary>The route's body with one field the API must refuse (sometimes twice, as a duplicate key), plus noise.</summary>
    private string FieldDefect(ApiRoute route)
    {
        var (template, values) = _random.Pick(Templates(route));
        var bad = _random.Pick(values);
        var body = template.Replace("§", bad, StringComparison.Ordinal);
        if (template.Contains("\":§", StringComparison.Ordinal) && _random.Next(3) == 0)
        {
            // A duplicate key: both copies bad, so whichever the parser keeps, the body is refused.
            body = ReplaceFirst(body, "{", "{" + DuplicateField(template, _random.Pick(values)));
        }

        return _random.Next(2) == 0 ? body.Insert(1, $"\"x_noise\":{_random.Pick(NoiseJson)},") : body;
    }

    private static string DuplicateField(string template, string value)
    {
        var marker = template.IndexOf('§', StringComparison.Ordinal);
        var nameEnd = template.LastIndexOf("\":", marker, StringComparison.Ordinal);
        var nameStart = template.LastIndexOf('"', nameEnd - 1);
        return template[nameStart..(nameEnd + 2)] + value + ",";
    }

    private static string ReplaceFirst(string text, string old, string value)
    {
        var at = text.IndexOf(old, StringComparison.Ordinal);
        return at < 0 ? text : text[..at] + value + text[(at + old.Length)..];
    }

    /// <summary>A body of the route's shape, whose every field is valid: only for requests with another defect (a wrong method).</summary>
    private string ValidishBody(ApiRoute route) => Templates(route)[0].Template.Replace("§", _random.Pick(new[] { "\"1.00\"", "\"x_1\"" }), StringComparison.Ordinal);

    /// <summary>Templates of each route's body with § where a value the field must refuse goes.</summary>
    private (string Template, string[] Invalid)[] Templates(ApiRoute route)
    {
        string[] currencies = ["\"usd\"", "\"XXX\"", "\"US\"", "\"USDD\"", "\"\"", "1", "null", "\"ÜSD\""];
        var order = $"{{\"payment_order_id\":\"po_bad\",\"seller_account\":\"{known.Seller}\",\"amount\":\"1.00\",\"currency\":\"USD\"}}";
        return route.Template switch
        {
            "/v1/payments" =>
            [
                ("{\"checkout_id\":\"chk_bad\",\"buyer\":{\"id\":\"b\"},\"payment_method\":{\"type\":\"token\",\"token\":\"pm_card_visa\"},\"orders\":[" + order.Replace("\"1.00\"", "§", StringComparison.Ordinal) + "]}", InvalidAmountsJson),
                ("{\"checkout_id\":§,\"buyer\":{\"id\":\"b\"},\"payment_method\":{\"type\":\"token\",\"token\":\"pm_card_visa\"},\"orders\":[" + order + "]}", InvalidIdsJson),
                ("{\"checkout_id\":\"chk_bad\",\"buyer\":{\"id\":\"b\"},\"payment_method\":{\"type\":\"token\",\"token\":\"pm_card_visa\"},\"orders\":[" + order.Replace("\"USD\"", "§", StringComparison.Ordinal) + "]}", currencies),
                ("{\"checkout_id\":\"chk_bad\",\"buyer\":{\"id\":\"b\"},\"payment_method\":§,\"orders\":[" + order + "]}",
                    ["{\"type\":§}".Replace("§", "\"card\"", StringComparison.Ordinal), "{\"type\":\"token\",\"token\":\"pm card\"}", "{\"type\":\"hosted_page\",\"return_url\":\"javascript:x\"}", "{}", "[]", "\"token\"", "null"]),
                ("{\"checkout_id\":\"chk_bad\",\"buyer\":§,\"payment_method\":{\"type\":\"token\",\"token\":\"pm_card_visa\"},\"orders\":[" + order + "]}",
                    ["{}", "{\"id\":\"\"}", "{\"id\":1}", $"{{\"id\":\"{new string('b', 2049)}\"}}", "{\"id\":\"b\",\"email\":\"nope\"}", "{\"id\":\"4242424242424242\"}", "null", "[]"]),
                ("{\"checkout_id\":\"chk_bad\",\"buyer\":{\"id\":\"b\"},\"payment_method\":{\"type\":\"token\",\"token\":\"pm_card_visa\"},\"orders\":§}",
                    ["[]", "{}", "null", "[1]", "[" + order + "," + order + "]", "[" + string.Join(",", Enumerable.Repeat(order, 101)) + "]"]),
            ],
            "/v1/payments/{paymentOrderId}/refunds" =>
            [
                ("{\"amount\":§,\"reason\":\"requested_by_customer\"}", InvalidAmountsJson),
                ("{\"amount\":\"1.00\",\"reason\":§}", ["\"\"", $"\"{new string('r', 101)}\"", "1", "[]", "{}", "true"]),
            ],
            "/v1/payments/{paymentOrderId}/fulfillment" or "/v1/ops/dead-letters/{id}/replay" => [("§", NonObjectJsonBodies.Where(b => b != "null").ToArray())],
            "/v1/sellers/{sellerAccount}/payout_settings" =>
            [
                ("{\"destination\":§,\"interval\":\"manual\"}", ["\"\"", "\"ba_\"", "\"ba_-\"", "\"NL91ABNA0417164300\"", "\"ba_é\"", $"\"ba_{new string('a', 62)}\"", "1", "[]"]),
                ("{\"destination\":\"ba_sim_ok\",\"interval\":§}", InvalidEnumsJson),
                ("{\"destination\":\"ba_sim_ok\",\"interval\":\"weekly\",\"weekly_anchor\":§}", ["\"Monday\"", "\"mon\"", "\"\"", "1", "null", "\"funday\""]),
            ],
            "/v1/payouts" =>
            [
                ($"{{\"payout_id\":\"pay_bad\",\"seller_account\":\"{known.Seller}\",\"currency\":\"USD\",\"amount\":§}}", InvalidAmountsJson),
                ($"{{\"payout_id\":§,\"seller_account\":\"{known.Seller}\",\"currency\":\"USD\",\"amount\":\"1.00\"}}", [.. InvalidIdsJson, "\"sched_x\""]),
                ($"{{\"payout_id\":\"pay_bad\",\"seller_account\":\"{known.Seller}\",\"currency\":§,\"amount\":\"1.00\"}}", currencies),
                ("{\"payout_id\":\"pay_bad\",\"seller_account\":§,\"currency\":\"USD\",\"amount\":\"1.00\"}", InvalidIdsJson),
            ],
            "/v1/webhook_endpoint" =>
            [
                ("{\"url\":§,\"events\":[\"*\"]}", InvalidUrlsJson),
                ("{\"url\":\"https://hooks.example.com/x\",\"events\":§}", ["[]", "[\"nope\"]", "[1]", "\"*\"", "[null]", "{}", "[\"*\",\"payout.paid\",\"x\"]"]),
                ("{\"url\":\"https://hooks.example.com/x\",\"events\":[\"*\"],\"rotate_secret\":§}", ["\"yes\"", "1", "[]", "{}"]),
            ],
            "/v1/ops/payout-runs" => [("{\"date\":§}", InvalidDatesJson)],
            "/v1/reconciliation/runs" =>
            [
                ("{\"source\":§,\"settlement_date\":\"2026-11-20\"}", InvalidEnumsJson),
                ("{\"source\":\"psp\",\"settlement_date\":§}", InvalidDatesJson),
                ("{\"source\":\"bank\",\"statement_date\":§}", InvalidDatesJson),
                ("{\"source\":\"bank\",\"settlement_date\":\"2026-11-20\"§}", ["", ",\"x\":1"]),
            ],
            "/v1/reconciliation/breaks/{breakId}/resolve" =>
            [
                ("{\"resolution\":§,\"note\":\"n\"}", InvalidEnumsJson),
                ("{\"resolution\":\"accepted\",\"note\":§}", [$"\"{new string('n', 2001)}\"", "1", "[]", "{}"]),
            ],
            "/v1/psp/webhooks" =>
            [
                ("{\"id\":§,\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{\"id\":\"pi_1\",\"metadata\":{\"payment_order_id\":\"" + known.PaymentOrderId + "\"}}}}", InvalidIdsJson),
                ("{\"id\":\"evt_1\",\"object\":\"event\",\"type\":§,\"data\":{}}", InvalidEnumsJson),
            ],
            "/dashboard-sign-in" => [("§", ["{\"key\":\"x\"}", "key=", "key=%00", "key=" + new string('k', 5000), "key=sk_test_merchant_a"])],
            _ => [("{\"x\":§}", NoiseJson)],
        };
    }

    /// <summary>A Stripe-Signature that must not verify: garbage, another secret, an old timestamp, a MAC of other bytes.</summary>
    private string BadSignature(byte[] body)
    {
        var payload = System.Text.Encoding.UTF8.GetString(body);
        var now = DateTimeOffset.UtcNow;
        return _random.Next(9) switch
        {
            0 => "",
            1 => "garbage",
            2 => "t=,v1=",
            3 => StripeEvents.Signature(payload, "whsec_forged", now),
            4 => StripeEvents.Signature(payload, TestServer.WebhookSecret, now.AddMinutes(-10)),
            5 => StripeEvents.Signature(payload + " ", TestServer.WebhookSecret, now),
            6 => $"t={long.MaxValue},v1=00,t=-1",
            7 => "t=1,v1=" + new string('f', 64) + ",v0=" + new string('0', 5000),
            _ => $"t=99999999999999999999999,v1={StripeEvents.Mac(payload, TestServer.WebhookSecret, "99999999999999999999999")}",
        };
    }
}
