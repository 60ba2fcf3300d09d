namespace Payments.Server.Telemetry;

/// <summary>Settings of the OpenTelemetry export, bound from the <c>Telemetry</c> configuration section.</summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>
    /// Where traces and metrics go by OTLP (a collector, <c>http://127.0.0.1:4318</c>); unset, nothing is exported. The
    /// standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable is honoured too.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>http/protobuf</c> (OTLP over HTTP, the default) or <c>grpc</c>.</summary>
    public string OtlpProtocol { get; set; } = "http/protobuf";

    /// <summary>How often metrics are exported.</summary>
    public TimeSpan MetricsExportInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The service name traces and metrics carry.</summary>
    public string ServiceName { get; set; } = "payments-orleans";
}
