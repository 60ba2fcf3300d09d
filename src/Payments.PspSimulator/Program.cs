using Payments.PspSimulator;

// Standalone: dotnet run --project src/Payments.PspSimulator [-- --urls http://127.0.0.1:5090] [--data-dir DIR]
await PspSimulatorApplication.Build(args).RunAsync();
