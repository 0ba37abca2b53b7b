# restrouter: `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
CARGO ?= cargo
WASM := target/wasm32-wasip1/wasm/restrouter.wasm
BINS := restrouter-storage restrouter-devbackend restrouter-render restrouter-ratelimit

.PHONY: setup build wasm bins run test chart-test unit integration lint wasm-test fuzz fuzz-replay bench clean

setup:
	@scripts/setup.sh

wasm: setup
	$(CARGO) build --profile wasm --target wasm32-wasip1 --lib

bins:
	$(CARGO) build --release $(addprefix -p ,$(BINS))

build: wasm bins

run: build
	scripts/run.sh

# Unit tests of every crate, then the integration tests that drive a real Envoy. Also: the lints
# (no unwrap/panic/indexing reachable in the filter, native and wasm), the unit tests compiled
# to wasm, and the fuzz corpus with a few seconds of mutations per target.
test: build chart-test lint wasm-test fuzz-replay
	$(CARGO) test --release --workspace --no-fail-fast

# The Helm chart: lint, render, Kubernetes schemas, and Envoy on the config it renders.
chart-test: build
	.venv/bin/python scripts/chart_check.py

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target wasm32-wasip1 --lib -- -D warnings

# The filter's unit tests compiled to wasm32-wasip1, run under Node's WASI (.cargo/config.toml).
wasm-test: setup
	$(CARGO) test --lib --target wasm32-wasip1

# Every fuzz target for FUZZ_SECONDS (default 60) each: libFuzzer if cargo-fuzz is installed
# (`scripts/setup.sh fuzz`), else the stable mutation driver (fuzz/README.md).
fuzz:
	scripts/fuzz.sh

# The fuzz corpus plus a few seconds of mutations per target, on the stable driver; with the
# sidecar's half of `sidecar_sync` (its sync request and peer messages).
fuzz-replay:
	cd fuzz && FUZZ_SECONDS=$${FUZZ_SECONDS:-2} $(CARGO) test --release --features sidecar

# Benchmarks side by side with plain Envoy (BENCHMARKS.md); BENCH_ARGS="--quick" for a short check.
bench: build
	scripts/bench.sh $(BENCH_ARGS)

clean:
	$(CARGO) clean
	rm -rf .run
