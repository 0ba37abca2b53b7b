# restrouter: `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
CARGO ?= cargo
WASM := target/wasm32-wasip1/wasm/restrouter.wasm
BINS := restrouter-storage restrouter-devbackend restrouter-render restrouter-ratelimit

# The image's tag: the git revision (scripts/image.sh computes the same when run alone).
IMAGE_TAG := $(shell git describe --always --dirty 2>/dev/null)
IMAGE := target/image/restrouter-$(IMAGE_TAG).oci.tar

.PHONY: setup build wasm bins spec run test chart-test image image-test unit integration lint wasm-test fuzz fuzz-replay bench clean

setup:
	@scripts/setup.sh

wasm: setup
	$(CARGO) build --profile wasm --target wasm32-wasip1 --lib

bins:
	$(CARGO) build --release $(addprefix -p ,$(BINS))

build: wasm bins

# spec/wikimedia.yaml, joined from spec/root.yaml and one file per API area in spec/areas/ (a
# render test fails while the committed file is stale).
spec:
	$(CARGO) run --release -q -p restrouter-render -- spec --dir spec

run: build
	scripts/run.sh

# Unit tests of every crate, then the integration tests that drive a real Envoy. Also: the lints
# (no unwrap/panic/indexing reachable in the filter, native and wasm), the unit tests compiled
# to wasm, the fuzz corpus with a few seconds of mutations per target, and the OCI image built
# and run as the chart runs it.
test: build chart-test image-test lint wasm-test fuzz-replay
	$(CARGO) test --release --workspace --no-fail-fast

# The Helm chart: lint, render, Kubernetes schemas, and Envoy on the config it renders.
chart-test: build
	.venv/bin/python scripts/chart_check.py

# The OCI image the chart runs, as an archive in target/image (scripts/image.sh; the Dockerfile
# builds the same with other tooling). Installs mmdebstrap, umoci and runc with apt if missing.
image: build
	IMAGE_TAG=$(IMAGE_TAG) scripts/image.sh

# The image run with runc as the chart runs it: Envoy on the chart's config, the sidecar,
# storage; /ready, a stored page through the filter, the sidecar's /healthz.
image-test: image
	timeout 300 .venv/bin/python scripts/image_check.py $(IMAGE)

lint:
	$(CARGO) fmt --all --check
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
