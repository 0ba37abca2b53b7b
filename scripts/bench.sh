#!/usr/bin/env bash
# `make bench`: restrouter side by side with plain Envoy, on loopback (BENCHMARKS.md).
# Arguments go to bench/bench.py (`scripts/bench.sh --help`; `--quick` for a short check).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -m | awk '/^Mem:/ {print $2}') MB RAM; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec python3 bench/bench.py "$@"
