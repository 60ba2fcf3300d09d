#!/usr/bin/env bash
# The chaos soak's cluster, as failover-cluster.sh runs it (one PostgreSQL, the PSP simulator, three silos and one gateway
# as processes on loopback, from the Release build), except that each silo runs under a loop that starts it again, on the
# same ports, whenever it dies, and writes its pid and address into the cluster's folder: the soak (--soak-cluster) kills
# the pid it finds there with SIGKILL and waits for the next one to be ready. With arguments it runs the soak itself,
# then stops everything and exits with the soak's code:
#   dotnet build -c Release PaymentsOrleans.sln && dotnet build -c Release bench/Payments.LoadTest
#   bench/Payments.LoadTest/soak-cluster.sh --soak-minutes 5
# Without, it prints "ready" and the folder and waits (Ctrl-C or SIGTERM stops everything and deletes the folder):
#   dotnet bench/Payments.LoadTest/bin/Release/net10.0/Payments.LoadTest.dll --soak-minutes 5 --soak-cluster <folder> \
#     --url http://127.0.0.1:16080 --psp-url http://127.0.0.1:16090
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="$(mktemp -d /tmp/payments-soak-XXXXXX)"
# Ports of their own, so this runs beside failover-cluster.sh.
pg_port=16432; api_port=16080; psp_port=16090; secret=whsec_dev_payments_orleans
server="$root/src/Payments.Server/bin/Release/net10.0/Payments.Server.dll"
simulator="$root/src/Payments.PspSimulator/bin/Release/net10.0/Payments.PspSimulator.dll"
bench="$root/bench/Payments.LoadTest/bin/Release/net10.0/Payments.LoadTest.dll"
[[ -f "$server" && -f "$simulator" ]] || dotnet build "$root/PaymentsOrleans.sln" -c Release --nologo -v quiet
[[ $# -eq 0 || -f "$bench" ]] || dotnet build "$root/bench/Payments.LoadTest" -c Release --nologo -v quiet
pids=()
as_postgres() { if [[ $EUID -eq 0 ]]; then su -s /bin/sh nobody -c "$*"; else sh -c "$*"; fi; }
stop() {
  touch "$data/stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for file in "$data"/silo-*.pid; do [[ -f "$file" ]] && kill "$(cat "$file")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_postgres "pg_ctl stop -D '$data/postgres' -m fast -w" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap stop EXIT
trap 'exit 130' INT TERM

# PostgreSQL refuses to run as root: the cluster belongs to nobody. fsync off: the soak judges the cluster, not the disk.
mkdir -p "$data/postgres"; chmod 755 "$data"; [[ $EUID -eq 0 ]] && chown nobody "$data/postgres"
as_postgres "initdb -D '$data/postgres' -U postgres -A trust -E UTF8 --locale=C --no-sync" >/dev/null
as_postgres "pg_ctl start -D '$data/postgres' -l '$data/postgres/server.log' -w -o \"-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories='' -c max_connections=300 -c fsync=off\"" >/dev/null
psql -h 127.0.0.1 -p $pg_port -U postgres -qc 'CREATE DATABASE payments' >/dev/null
export ConnectionStrings__Payments="Host=127.0.0.1;Port=$pg_port;Database=payments;Username=postgres;Maximum Pool Size=60"
export Psp__BaseUrl="http://127.0.0.1:$psp_port" Psp__WebhookSecrets__0=$secret Server__RunPspSimulator=false
export Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff " Logging__LogLevel__Default=Warning
# What the soak changes from production, as its test does (ChaosSoakTests, ProcessCluster): the merchant's webhook endpoint
# is on loopback; an order whose silo died is driven on within seconds (reminders every 2 s, not every minute); a payment
# or payout whose webhook the simulator dropped asks the PSP after 10 s (production: a minute, an hour); a webhook prompt
# lost with a silo is swept up in 5 s; no nightly reconciliation in the middle of the load.
export Webhooks__AllowPrivateNetworks=true Server__ReminderPeriodMin=00:00:01 PaymentOrders__ReminderPeriod=00:00:02 \
  PaymentOrders__PspPollAfter=00:00:10 Payouts__PspPollAfter=00:00:10 Webhooks__SweepPeriod=00:00:05 Reconciliation__DailyRuns=false

dotnet "$simulator" --urls "http://127.0.0.1:$psp_port" --data-dir "$data/psp" \
  --webhook-url "http://127.0.0.1:$api_port/v1/psp/webhooks" --webhook-secret $secret >"$data/psp.log" 2>&1 &
pids+=($!)
wait_ready() { for _ in $(seq 1 240); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.5; done; echo "not ready: $1" >&2; exit 1; }
# Silo n, started again whenever it exits, until the cluster stops; its current pid in silo-n.pid.
supervise() {
  local n=$1
  while [[ ! -e "$data/stopping" ]]; do
    dotnet "$server" --urls "http://127.0.0.1:$((api_port + 100 + n))" --Server:Role=Silo \
      --Server:SiloPort=$((12110 + n)) --Server:GatewayPort=$((31000 + n)) >>"$data/silo-$n.log" 2>&1 &
    echo $! >"$data/silo-$n.pid"
    wait $! || true
  done
}
for n in 1 2 3; do
  echo "http://127.0.0.1:$((api_port + 100 + n))" >"$data/silo-$n.url"
  supervise $n &
  pids+=($!)
  # One at a time, as compose's health checks do: the first applies the schema, the others find it done.
  [[ $n -eq 1 ]] && wait_ready "http://127.0.0.1:$((api_port + 101))/health/ready"
done
for n in 2 3; do wait_ready "http://127.0.0.1:$((api_port + 100 + n))/health/ready"; done
dotnet "$server" --urls "http://127.0.0.1:$api_port" --Server:Role=Gateway >"$data/gateway.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$api_port/health/ready"
echo "ready: gateway http://127.0.0.1:$api_port, simulator http://127.0.0.1:$psp_port, soak cluster folder $data"
if [[ $# -gt 0 ]]; then
  rc=0
  dotnet "$bench" --soak-cluster "$data" --url "http://127.0.0.1:$api_port" --psp-url "http://127.0.0.1:$psp_port" "$@" || rc=$?
  exit $rc
fi
wait
