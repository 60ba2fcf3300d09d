using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Payments.Server.Hosting;

namespace Payments.Server.Telemetry;

/// <summary>
/// OpenTelemetry traces and metrics of a server process: incoming HTTP (ASP.NET Core), outgoing HTTP (the PSP, the bank),
/// PostgreSQL (Npgsql), Orleans grain calls, the .NET runtime, and our own meters. Exported by OTLP only when an endpoint
/// is configured: without one nothing is collected beyond what the process does anyway.
/// </summary>
public static class TelemetryHosting
{
    /// <summary>Our own meters: payments (stuck orders) and reconciliation (breaks filed).</summary>
    private static readonly string[] PaymentMeters = ["Payments", "Payments.Reconciliation"];

    public static WebApplicationBuilder AddPaymentsTelemetry(this WebApplicationBuilder builder, ServerRole role)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var endpoint = options.OtlpEndpoint ?? builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return builder;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"Telemetry:OtlpEndpoint must be an absolute http(s) URL, not '{endpoint}'.");
        }

        var grpc = string.Equals(options.OtlpProtocol, "grpc", StringComparison.OrdinalIgnoreCase);
        void Exporter(OtlpExporterOptions exporter, string signal)
        {
            exporter.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
            // Over HTTP each signal has its own path under the collector's address.
            exporter.Endpoint = grpc ? baseUri : new Uri(baseUri, signal);
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName, serviceInstanceId: $"{Environment.MachineName}:{Environment.ProcessId}")
                .AddAttributes([new("payments.role", role.ToString())]))
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(aspNet =>
                {
                    aspNet.Filter = http => !http.Request.Path.StartsWithSegments("/health");
                    // Paths and query strings are caller input: spans get them as scrubbed as the request log does.
                    SpanScrubbing.Scrub(aspNet);
                })
                .AddHttpClientInstrumentation(SpanScrubbing.Scrub)
                .AddNpgsql()
                .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddOtlpExporter(exporter => Exporter(exporter, "v1/traces")))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(PaymentMeters)
                .AddMeter("Microsoft.Orleans")
                .AddNpgsqlInstrumentation()
                .AddOtlpExporter((exporter, reader) =>
                {
                    Exporter(exporter, "v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.MetricsExportInterval.TotalMilliseconds;
                }));
        return builder;
    }
}
