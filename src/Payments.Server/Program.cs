using Payments.Server.Hosting;

await using var server = await PaymentsServer.StartAsync(args);
await server.WaitForShutdownAsync();
