using Payments.PspSimulator;

// Standalone: dotnet run --project src/Payments.PspSimulator [-- --urls http://127.0.0.1:5090] [--data-dir DIR]
//   [--webhook-url http://127.0.0.1:5080/v1/psp/webhooks] [--webhook-secret whsec_...] [--processing-delay-ms 2000]
await PspSimulatorApplication.Build(args).RunAsync();
