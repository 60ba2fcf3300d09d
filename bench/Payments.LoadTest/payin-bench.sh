#!/usr/bin/env bash
# The pay-in bench as issue 11 measures it: a fresh Release server (with its private PostgreSQL, fsync on) on a fresh data
# folder, a warm-up, then each measured shape against the same server, each printing its orders/s and latencies, its
# commits per order, the pgbench -N ratio on the same PostgreSQL, the machine and the targets that apply to it. Then it
# stops the server (which stops its PostgreSQL) and deletes the folder. It builds nothing: first
#   dotnet build -c Release PaymentsOrleans.sln && dotnet build -c Release bench/Payments.LoadTest
# Shapes are CONCURRENCYxCHECKOUTS or CONCURRENCYxCHECKOUTSxORDERS_PER_CHECKOUT; options after -- go to every measured run:
#   bench/Payments.LoadTest/payin-bench.sh                                   # 64x5000 1x500 16x500x10
#   bench/Payments.LoadTest/payin-bench.sh 16x300 1x100 16x50x10 -- --pgbench-seconds 5
#   bench/Payments.LoadTest/payin-bench.sh 64x300000 -- --rss-at 100000,300000
# PAYIN_PSP=apart runs the PSP simulator as a process of its own, as a real PSP is: the server's RSS and CPU are then the
# server's alone (the simulator keeps every payment it saw in memory), and the simulator's CPU shows as other processes.
# Exits 0 when every run passed (each checkout SUCCEEDED, invariants ok); targets missed do not change that.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# PAYMENTS_SERVER_DLL runs another build of the server (an A/B against an older commit) with this bench.
server="${PAYMENTS_SERVER_DLL:-$root/src/Payments.Server/bin/Release/net10.0/Payments.Server.dll}"
bench="$root/bench/Payments.LoadTest/bin/Release/net10.0/Payments.LoadTest.dll"
simulator="$root/src/Payments.PspSimulator/bin/Release/net10.0/Payments.PspSimulator.dll"
psp="${PAYIN_PSP:-in-process}"
[[ "$psp" == in-process || "$psp" == apart ]] || { echo "PAYIN_PSP is in-process or apart, not $psp" >&2; exit 2; }
for dll in "$server" "$bench" $([[ "$psp" == apart ]] && echo "$simulator"); do
  if [[ ! -f "$dll" ]]; then
    echo "missing $dll: run 'dotnet build -c Release PaymentsOrleans.sln && dotnet build -c Release bench/Payments.LoadTest' first" >&2
    exit 2
  fi
done

shapes=(); extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    *x*) [[ "$1" =~ ^[0-9]+x[0-9]+(x[0-9]+)?$ ]] || { echo "not a shape (CxN or CxNxK): $1" >&2; exit 2; }; shapes+=("$1"); shift ;;
    *) echo "not a shape (CxN or CxNxK; bench options go after --): $1" >&2; exit 2 ;;
  esac
done
[[ ${#shapes[@]} -gt 0 ]] || shapes=(64x5000 1x500 16x500x10)

# Ports of their own, so this runs beside failover-cluster.sh and soak-cluster.sh (and a dotnet run server on 5080).
api_port=17080; psp_port=17090; silo_port=17111; gateway_port=17300
url="http://127.0.0.1:$api_port"
data="$(mktemp -d /tmp/payments-payin-XXXXXX)"
server_pid=""; simulator_pid=""
stop() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    # SIGTERM: the server stops its host, then its private PostgreSQL (LocalPostgres on dispose).
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$server_pid" 2>/dev/null && { echo "server $server_pid did not stop within 60 s: killed" >&2; kill -KILL "$server_pid" 2>/dev/null || true; }
  fi
  # A killed server leaves its PostgreSQL running (it runs as nobody when we are root: it refuses root).
  if [[ -f "$data/postgres/postmaster.pid" ]]; then
    pg_ctl="$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -1 || true)"; pg_ctl="${pg_ctl:-pg_ctl}"
    if [[ $EUID -eq 0 ]]; then runuser -u nobody -- "$pg_ctl" stop -D "$data/postgres" -m fast -w >/dev/null 2>&1 || true
    else "$pg_ctl" stop -D "$data/postgres" -m fast -w >/dev/null 2>&1 || true; fi
  fi
  [[ -n "$simulator_pid" ]] && kill -TERM "$simulator_pid" 2>/dev/null || true
  rm -rf "$data"
  echo "stopped the server, deleted $data"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The daily reconciliation would fetch yesterday's report from the simulator in the middle of a measured run.
psp_args=()
if [[ "$psp" == apart ]]; then
  secret="whsec_payin_bench_apart"; mkdir -p "$data/psp"
  dotnet "$simulator" --urls "http://127.0.0.1:$psp_port" --data-dir "$data/psp" \
    --webhook-url "$url/v1/psp/webhooks" --webhook-secret "$secret" >"$data/psp.log" 2>&1 &
  simulator_pid=$!
  psp_args=(--Server:RunPspSimulator=false --Psp:WebhookSecrets:0="$secret")
  echo "PSP simulator apart: pid $simulator_pid at http://127.0.0.1:$psp_port"
fi
dotnet "$server" --Database:DataDirectory="$data" --urls "$url" --Psp:BaseUrl="http://127.0.0.1:$psp_port" \
  --Server:SiloPort=$silo_port --Server:GatewayPort=$gateway_port --Reconciliation:DailyRuns=false "${psp_args[@]}" >"$data/server.log" 2>&1 &
server_pid=$!
for i in $(seq 1 360); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" 2>/dev/null || true)" == 200 ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null || [[ $i -eq 360 ]]; then
    echo "the server did not become ready (exited or 3 min passed); the end of its log:" >&2
    tail -n 30 "$data/server.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "server pid $server_pid ready at $url, data $data"

run() { echo; echo "== $*"; dotnet "$bench" --url "$url" "$@"; }
rc=0
# Warm-up: JIT, grain activations, the connection pools and the database's caches, so the first shape is not the cold one.
run --checkouts 300 --concurrency 16 --warmup 0 || rc=1
for shape in "${shapes[@]}"; do
  IFS=x read -r concurrency checkouts orders <<<"$shape"
  run --concurrency "$concurrency" --checkouts "$checkouts" --orders-per-checkout "${orders:-1}" \
    --data-dir "$data" --server-pid "$server_pid" "${extra[@]}" || rc=1
done
echo
echo "payin-bench: $([[ $rc -eq 0 ]] && echo PASS || echo FAIL) (shapes ${shapes[*]}, after a warm-up of 300 checkouts)"
exit $rc
