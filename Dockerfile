# restrouter's image for operators who build with their own tooling:
#
#   scripts/image.sh stage          # builds and lays out target/image/overlay
#   docker build -f Dockerfile -t REGISTRY/restrouter:TAG target/image/overlay
#
# `make image` builds the same image without a container engine (scripts/image.sh): it reads
# the packages, environment, user, entrypoint and command below from this file, and copies the
# same overlay, so the two agree on every path the Helm chart uses.

FROM debian:bookworm-slim

# Runtime packages besides Debian's essential set: certificates for TLS to back-ends, and curl
# for the chart's preStop hook (`sh` and `sleep` are essential).
ARG PACKAGES="ca-certificates curl"
RUN apt-get update \
 && apt-get install -y --no-install-recommends $PACKAGES \
 && rm -rf /var/lib/apt/lists/*

# /usr/bin/envoy, /usr/bin/restrouter-ratelimit, /usr/bin/restrouter-storage,
# /usr/lib/restrouter/restrouter.wasm (the chart's image.wasmPath) and /etc/envoy (where the
# chart mounts its ConfigMap).
COPY . /

ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# nobody:nogroup, the user the chart's pod securityContext runs as.
USER 65534:65534
WORKDIR /
ENTRYPOINT ["envoy"]
CMD ["--config-path", "/etc/envoy/envoy.yaml", "--disable-hot-restart"]
