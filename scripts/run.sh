#!/usr/bin/env bash
# `make run`: the storage service, the development back-end and Envoy with the filter, all on
# loopback. Addresses come from RESTROUTER_* variables (see `restrouter-render vars`): point
# RESTROUTER_STORAGE, RESTROUTER_PARSOID, … at real services and the local stand-ins for them
# are not started.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY=${ENVOY:-.venv/bin/envoy}
BIN=target/release
STATE=.run
mkdir -p "$STATE"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Self-signed certificate for the HTTPS listener, made once.
if [ -z "${RESTROUTER_TLS_CERT:-}" ]; then
  if [ ! -f "$STATE/tls.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
      -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$STATE/tls.key" -out "$STATE/tls.crt" 2>/dev/null
  fi
  export RESTROUTER_TLS_CERT="$PWD/$STATE/tls.crt" RESTROUTER_TLS_KEY="$PWD/$STATE/tls.key"
fi
# Envoy reads the pair through an SDS file and reloads it when the directory's files are swapped.
if [ -z "${RESTROUTER_TLS_SECRET:-}" ]; then
  target/release/restrouter-render envoy --template envoy/tls-secret.yaml.j2 > "$STATE/tls-secret.yaml"
  export RESTROUTER_TLS_SECRET="$PWD/$STATE/tls-secret.yaml"
fi

storage=${RESTROUTER_STORAGE:-127.0.0.1:7233}
if [ "$storage" = "127.0.0.1:7233" ]; then
  # page_revisions reads the same action API the filter asks for siteinfo.
  mwapi="http://${RESTROUTER_MWAPI:-127.0.0.1:8888}${RESTROUTER_MWAPI_PATH:-/w/api.php}"
  "$BIN/restrouter-storage" --listen "$storage" --db "$STATE/storage.sqlite3" --mwapi "$mwapi" &
  pids+=($!)
fi
backend=127.0.0.1:8888
uses_devbackend=no
for v in PARSOID MOBILEAPPS WIKIFEEDS AQS MWAPI EVENTGATE; do
  var="RESTROUTER_$v"
  [ "${!var:-$backend}" = "$backend" ] && uses_devbackend=yes
done
if [ "$uses_devbackend" = yes ]; then
  "$BIN/restrouter-devbackend" --listen "$backend" &
  pids+=($!)
fi

# The rate-limit sidecar: one node here; in Kubernetes every pod runs one and they form a DHT.
if [ -z "${RESTROUTER_RATELIMIT_SIDECAR+set}" ]; then
  "$BIN/restrouter-ratelimit" --http-listen 127.0.0.1:7235 --dht-listen 127.0.0.1:3050 --advertise 127.0.0.1:3050 &
  pids+=($!)
  export RESTROUTER_RATELIMIT_SIDECAR=127.0.0.1:7235
fi

"$BIN/restrouter-render" envoy --template envoy/restrouter.yaml.j2 > "$STATE/envoy.yaml"
echo "restrouter: http://127.0.0.1:${RESTROUTER_HTTP_PORT:-7231}/en.wikipedia.org/v1/page/html/Earth (admin http://127.0.0.1:${RESTROUTER_ADMIN_PORT:-9901}/)"
"$ENVOY" -c "$STATE/envoy.yaml" --concurrency "${RESTROUTER_CONCURRENCY:-2}" --base-id "${RESTROUTER_BASE_ID:-7231}" \
  --log-level "${RESTROUTER_LOG_LEVEL:-warning}" --component-log-level wasm:info &
pids+=($!)
wait -n "${pids[@]}"
