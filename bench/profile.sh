#!/usr/bin/env bash
# Where an Envoy with the filter spends its CPU on one path: `perf record` on the Envoy process
# (--concurrency 1, pinned to CPU 0) under wrk load (CPU 1), then the split by object: Envoy
# itself, the kernel, libc and the JIT code V8 generated from the module ([JIT]). Envoy's
# binary is stripped, so the split stops there.
#   bench/profile.sh [PATH] [SECONDS] [WASM]
# Needs perf (linux-perf); everything on 127.0.0.1, stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
path=${1:-/en.wikipedia.org/v1/page/html/Earth}
secs=${2:-8}
wasm=${3:-target/wasm32-wasip1/wasm/restrouter.wasm}
envoy=${ENVOY:-$(ls .venv/lib/python3*/site-packages/envoy/_bin/envoy | head -1)}
command -v perf >/dev/null || { echo "profile: perf not found" >&2; exit 1; }
dir=$(mktemp -d -t restrouter-profile-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
taskset -c 1 target/release/restrouter-storage --listen 127.0.0.1:27233 --db "$dir/storage.sqlite3" >/dev/null 2>&1 & pids+=($!)
taskset -c 1 target/release/restrouter-devbackend --listen 127.0.0.1:27888 >/dev/null 2>&1 & pids+=($!)
sets=(--set wasm="$wasm" --set http_port=27261 --set admin_port=27941 --set storage=127.0.0.1:27233 --set ratelimit_sidecar=)
for c in parsoid mobileapps wikifeeds aqs eventgate; do sets+=(--set "$c=127.0.0.1:27888"); done
target/release/restrouter-render envoy --template envoy/restrouter.yaml.j2 "${sets[@]}" > "$dir/envoy.yaml"
taskset -c 0 "$envoy" -c "$dir/envoy.yaml" --concurrency 1 --disable-hot-restart --log-level warning > "$dir/envoy.log" 2>&1 & envoy_pid=$!; pids+=($envoy_pid)
for _ in $(seq 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:27261/en.wikipedia.org/v1/page/html/Earth)" = 200 ] && break
  sleep 0.05
done
taskset -c 1 wrk -t1 -c10 -d$((secs + 2))s "http://127.0.0.1:27261$path" > "$dir/wrk.txt" & wrk_pid=$!
sleep 1
perf record -F 1999 -p "$envoy_pid" -o "$dir/perf.data" -- sleep "$secs" >/dev/null 2>&1
wait "$wrk_pid" || true
grep -E "Requests/sec" "$dir/wrk.txt"
perf report -i "$dir/perf.data" --no-children --sort dso -g none 2>/dev/null | grep -E '^ +[0-9]' | sed 's/tid [0-9]*//'
echo "perf data: $dir/perf.data" >&2
