#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 60) each: with libFuzzer through cargo-fuzz
# when it is installed (`scripts/setup.sh fuzz`), else with the stable mutation driver.
# Usage: scripts/fuzz.sh [target...]   (FUZZ_SECONDS, FUZZ_SEED, FUZZ_DRIVER=stable|libfuzzer)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(route validate spec config flow sidecar_sync)
driver="${FUZZ_DRIVER:-}"
if [ -z "$driver" ]; then
  if cargo fuzz --version >/dev/null 2>&1; then driver=libfuzzer; else driver=stable; fi
fi

if [ "$driver" = stable ]; then
  for t in "${targets[@]}"; do
    FUZZ_TARGET="$t" FUZZ_SECONDS="$seconds" cargo test --release --features sidecar --test corpus -- --nocapture
  done
  exit 0
fi

# cargo-fuzz wants nightly for its -Z flags; RUSTC_BOOTSTRAP lets the stable compiler take them.
# No sanitizer (safe Rust; the point is panics and broken invariants) keeps the build stable-only.
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  features=libfuzzer
  [ "$t" = sidecar_sync ] && features=libfuzzer,sidecar
  # New inputs go to a scratch corpus; the checked-in one (read-only here) stays small.
  scratch="target/corpus/$t"
  mkdir -p "$scratch"
  echo "== $t: ${seconds}s"
  cargo fuzz run "$t" --features "$features" -s none "$scratch" "corpus/$t" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
