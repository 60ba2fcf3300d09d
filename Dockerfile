# The server (every role) and the PSP simulator, built from this repository.
#   docker build -t payments-orleans .
# Multi-stage: the SDK image builds, the ASP.NET runtime image runs, as the unprivileged user "app".

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so that a change of code does not download the packages again.
COPY global.json Directory.Build.props Directory.Packages.props PaymentsOrleans.sln ./
COPY src/Payments.Core/Payments.Core.csproj src/Payments.Core/
COPY src/Payments.Database/Payments.Database.csproj src/Payments.Database/
COPY src/Payments.Psp/Payments.Psp.csproj src/Payments.Psp/
COPY src/Payments.PspSimulator/Payments.PspSimulator.csproj src/Payments.PspSimulator/
COPY src/Payments.Reconciliation/Payments.Reconciliation.csproj src/Payments.Reconciliation/
COPY src/Payments.Grains/Payments.Grains.csproj src/Payments.Grains/
COPY src/Payments.Api/Payments.Api.csproj src/Payments.Api/
COPY src/Payments.Server/Payments.Server.csproj src/Payments.Server/
RUN dotnet restore src/Payments.Server/Payments.Server.csproj
COPY sql/ sql/
COPY src/ src/
RUN dotnet publish src/Payments.Server/Payments.Server.csproj -c Release --no-restore -o /app/server \
 && dotnet publish src/Payments.PspSimulator/Payments.PspSimulator.csproj -c Release -o /app/psp-simulator

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl for the health checks of docker-compose.yml.
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown app:app /data
USER app
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    PAYMENTS_DATA_DIR=/data
EXPOSE 8080 11111 30000
ENTRYPOINT ["dotnet", "/app/server/Payments.Server.dll"]
