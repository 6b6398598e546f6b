#!/usr/bin/env bash
# Throughput and claim latency of N server replicas on one PostgreSQL store (issue 14), on this machine's CPU:
#   bash tools/bench/replicas.sh N [REQUESTS]
# Starts a throwaway PostgreSQL cluster (Debian's postgresql package: /usr/lib/postgresql/*/bin; as root through
# runuser, since initdb refuses root), N servers on the built-in demo model (ort-cpu) sharing it and one outputs folder,
# warms each (the first job builds the engines), then sends REQUESTS small video jobs round-robin with ServerLoad and
# prints its table, the throughput and each server's claim metrics. Everything is removed at the end.
# Needs: dotnet build tests/VisualGen.Tests -c Release (builds the server and ServerLoad), ffmpeg, postgresql.
set -euo pipefail
cd "$(dirname "$0")/../.."
replicas=${1:?usage: replicas.sh N [REQUESTS]}
requests=${2:-60}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/vg-replicas-XXXXXX)
pids=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_pg "$bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

[ "$(id -u)" = 0 ] && chown postgres "$work"
pgport=$(free_port)
as_pg "$bin/initdb" -D "$work/pg" -U visualgen --auth=trust -E UTF8 --no-sync >/dev/null
as_pg "$bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w -o "-p $pgport -k $work -c listen_addresses=127.0.0.1" start >/dev/null
as_pg "$bin/createdb" -h 127.0.0.1 -p "$pgport" -U visualgen visualgen
store="postgres://visualgen@127.0.0.1:$pgport/visualgen"
mkdir -p "$work/outputs" "$work/cache"

urls=()
for i in $(seq 1 "$replicas"); do
  port=$(free_port)
  VISUALGEN_DEMO="$work/demo" dotnet src/VisualGen.Server/bin/Release/net10.0/VisualGen.Server.dll --port "$port" \
    --data "$work/data$i" --store "$store" --outputs "$work/outputs" --engine-cache "$work/cache" --queue-size 1000 \
    >"$work/server$i.log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$port")
  for _ in $(seq 1 600); do grep -q "Now listening" "$work/server$i.log" && break; sleep 0.2; done
  grep -q "Now listening" "$work/server$i.log" || { cat "$work/server$i.log"; exit 1; }
done

load() { dotnet tools/bench/ServerLoad/bin/Release/net10.0/ServerLoad.dll "$@" --size 48x32 --frames 5 --steps 1; }
# warm-up: builds the engines once (a shared cache) and loads them in the servers (four jobs each, round-robin)
args=()
for u in "${urls[@]}"; do args+=(--url "$u"); done
load "${args[@]}" --requests $((4 * replicas)) >/dev/null || { tail -20 "$work"/server*.log; exit 1; }
load "${args[@]}" --requests "$requests"
