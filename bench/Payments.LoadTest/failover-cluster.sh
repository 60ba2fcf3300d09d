#!/usr/bin/env bash
# The failover bench's cluster, as docker-compose.yml shapes it but as processes on loopback: one PostgreSQL, the PSP
# simulator, three silos and one gateway, from the Release build. It prints the gateway's address and each silo's pid
# (the bench's --kill-pid takes one), then waits; Ctrl-C (or SIGTERM) stops everything and deletes the data folder.
#   bench/Payments.LoadTest/failover-cluster.sh &          # then, once it prints "ready":
#   dotnet run -c Release --project bench/Payments.LoadTest -- --url http://127.0.0.1:15080 \
#     --checkouts 3000 --concurrency 32 --kill-pid <a silo's pid> --kill-after 8
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="$(mktemp -d /tmp/payments-failover-XXXXXX)"
pg_port=15432; api_port=15080; psp_port=15090; secret=whsec_dev_payments_orleans
server="$root/src/Payments.Server/bin/Release/net10.0/Payments.Server.dll"
simulator="$root/src/Payments.PspSimulator/bin/Release/net10.0/Payments.PspSimulator.dll"
[[ -f "$server" && -f "$simulator" ]] || dotnet build "$root/PaymentsOrleans.sln" -c Release --nologo -v quiet
pids=()
as_postgres() { if [[ $EUID -eq 0 ]]; then su -s /bin/sh nobody -c "$*"; else sh -c "$*"; fi; }
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_postgres "pg_ctl stop -D '$data/postgres' -m fast -w" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap stop EXIT
trap 'exit 0' INT TERM

# PostgreSQL refuses to run as root: the cluster belongs to nobody. fsync off: the bench measures the cluster, not the disk.
mkdir -p "$data/postgres"; chmod 755 "$data"; [[ $EUID -eq 0 ]] && chown nobody "$data/postgres"
as_postgres "initdb -D '$data/postgres' -U postgres -A trust -E UTF8 --locale=C --no-sync" >/dev/null
as_postgres "pg_ctl start -D '$data/postgres' -l '$data/postgres/server.log' -w -o \"-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories='' -c max_connections=300 -c fsync=off\"" >/dev/null
psql -h 127.0.0.1 -p $pg_port -U postgres -qc 'CREATE DATABASE payments' >/dev/null
export ConnectionStrings__Payments="Host=127.0.0.1;Port=$pg_port;Database=payments;Username=postgres;Maximum Pool Size=60"
export Psp__BaseUrl="http://127.0.0.1:$psp_port" Psp__WebhookSecrets__0=$secret Server__RunPspSimulator=false
# Timestamps in the logs, to tell when the dead silo was declared dead and when calls failed.
export Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff "

dotnet "$simulator" --urls "http://127.0.0.1:$psp_port" --data-dir "$data/psp" \
  --webhook-url "http://127.0.0.1:$api_port/v1/psp/webhooks" --webhook-secret $secret >"$data/psp.log" 2>&1 &
pids+=($!)
wait_ready() { for _ in $(seq 1 180); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.5; done; echo "not ready: $1" >&2; exit 1; }
for n in 1 2 3; do
  dotnet "$server" --urls "http://127.0.0.1:$((api_port + 100 + n))" --Server:Role=Silo \
    --Server:SiloPort=$((11110 + n)) --Server:GatewayPort=$((30000 + n)) >"$data/silo-$n.log" 2>&1 &
  pids+=($!)
  echo "silo-$n pid $! (log $data/silo-$n.log)"
  # One at a time, as compose's health checks do: the first applies the schema, the others find it done.
  [[ $n -eq 1 ]] && wait_ready "http://127.0.0.1:$((api_port + 101))/health/ready"
done
for n in 2 3; do wait_ready "http://127.0.0.1:$((api_port + 100 + n))/health/ready"; done
dotnet "$server" --urls "http://127.0.0.1:$api_port" --Server:Role=Gateway >"$data/gateway.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$api_port/health/ready"
echo "ready: gateway http://127.0.0.1:$api_port (pid $!), simulator http://127.0.0.1:$psp_port, data $data"
wait
