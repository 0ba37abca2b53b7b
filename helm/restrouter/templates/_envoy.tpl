{{/*
Envoy's configuration: the same listeners, filters, routes and clusters as envoy/restrouter.yaml.j2
(and envoy/rollout.yaml.j2 when rollout.enabled), plus a metrics listener on the pod address that
exposes only GET /stats/prometheus and GET /ready of the loopback-only admin (and the sidecar's
GET /metrics as /ratelimit/metrics).
*/}}
{{- define "restrouter.cluster" -}}
{{- $name := index . 0 }}{{ $addr := index . 1 }}
{{- $host := regexReplaceAll ":[0-9]+$" $addr "" | trimPrefix "[" | trimSuffix "]" }}
{{- $port := regexFind "[0-9]+$" $addr }}
- name: {{ $name }}
  type: {{ if regexMatch "^[0-9.]+$|:" $host }}STATIC{{ else }}STRICT_DNS{{ end }}
  connect_timeout: 1s
  dns_lookup_family: V4_PREFERRED
  typed_extension_protocol_options:
    envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
      "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
      explicit_http_config: {http_protocol_options: {}}
      common_http_protocol_options: {idle_timeout: 60s}
  circuit_breakers:
    thresholds: [{max_connections: 4096, max_pending_requests: 4096, max_requests: 8192}]
  outlier_detection: {consecutive_5xx: 20, interval: 5s, base_ejection_time: 10s, max_ejection_percent: 50}
  load_assignment:
    cluster_name: {{ $name }}
    endpoints:
    - lb_endpoints:
      - endpoint: {address: {socket_address: {address: {{ $host | quote }}, port_value: {{ $port }}}}}
{{- end }}

{{- define "restrouter.notFound" -}}
direct_response: {status: 404, body: {inline_string: "{\"type\":\"https://mediawiki.org/wiki/HyperSwitch/errors/not_found#route\",\"title\":\"Not found.\"}"}}
{{- end }}

{{- define "restrouter.legacyRoute" -}}
{{- $ := index . 0 }}{{- $mirror := index . 1 }}
# A client's x-restrouter-cluster naming no back-end route lands here: RESTBase need not see it.
request_headers_to_remove: [x-restrouter-cluster]
route:
  cluster: restbase_legacy
  timeout: {{ divf $.Values.settings.timeouts_ms.backend 1000 }}s
  {{- if $mirror }}
  request_mirror_policies:
  - cluster: restrouter_shadow
    runtime_fraction: {default_value: {numerator: 100, denominator: HUNDRED}, runtime_key: restrouter.mirror.{{ $mirror }}}
  {{- end }}
typed_per_filter_config:
  envoy.filters.http.wasm:
    "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
    disabled: true
{{- end }}

{{/* Routes: back-end routes first (only the filter sets x-restrouter-cluster; it removes a
client's value first), then either the rollout table or restrouter for everything. */}}
{{- define "restrouter.routes" -}}
{{- $ := index . 0 }}{{ $kind := index . 1 }}{{ $clusters := index . 2 }}
{{- $timeout := divf $.Values.settings.timeouts_ms.backend 1000 }}
# Stored routes: the filter sends the request itself to storage's key_value path.
- match: {prefix: "/", headers: [{name: x-restrouter-cluster, string_match: {exact: storage}}]}
  route: {cluster: storage, timeout: {{ divf $.Values.settings.timeouts_ms.storage 1000 }}s}
{{- range $clusters }}
- match: {prefix: "/", headers: [{name: x-restrouter-cluster, string_match: {exact: {{ . }}}}]}
  route: {cluster: {{ . }}, timeout: {{ $timeout }}s}
{{- end }}
{{- if eq $kind "rollout" }}
{{- range $svc := $.Values.rollout.services }}
{{- if or (lt (int $svc.percent) 0) (gt (int $svc.percent) 100) }}{{ fail (printf "rollout.services: %s: percent must be 0 to 100" $svc.name) }}{{ end }}
{{- range $svc.paths }}
- name: {{ $svc.name }}-restrouter
  match:
    safe_regex: {regex: {{ printf "/[^/]+/v1/%s" . | quote }}}
    runtime_fraction: {default_value: {numerator: {{ int $svc.percent }}, denominator: HUNDRED}, runtime_key: restrouter.rollout.{{ $svc.name }}}
  {{- include "restrouter.notFound" . | nindent 2 }}
{{- end }}
{{- range $svc.paths }}
- name: {{ $svc.name }}-legacy
  match: {safe_regex: {regex: {{ printf "/[^/]+/v1/%s" . | quote }}}}
  stat_prefix: rollout_legacy_{{ $svc.name | replace "-" "_" }}
  {{- include "restrouter.legacyRoute" (list $ (ternary $svc.name "" (default false $svc.mirror))) | nindent 2 }}
{{- end }}
{{- end }}
- name: legacy-other
  match: {prefix: "/"}
  {{- include "restrouter.legacyRoute" (list $ "") | nindent 2 }}
{{- else }}
- match: {prefix: "/"}
  {{- include "restrouter.notFound" . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "restrouter.hcm" -}}
{{- $ := index . 0 }}{{ $prefix := index . 1 }}{{ $kind := index . 2 }}{{ $hops := index . 3 }}{{ $clusters := index . 4 }}{{ $plugin := index . 5 }}
- name: envoy.filters.network.http_connection_manager
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
    stat_prefix: {{ $prefix }}
    # The client address is Envoy's view of the connection (plus trusted XFF hops).
    use_remote_address: true
    xff_num_trusted_hops: {{ $hops }}
    preserve_external_request_id: true
    always_set_request_id_in_response: true
    max_request_headers_kb: 32
    server_name: restrouter
    request_timeout: 60s
    common_http_protocol_options:
      idle_timeout: 300s
      headers_with_underscores_action: REJECT_REQUEST
    http_protocol_options: {accept_http_10: true}
    route_config:
      name: restrouter
      virtual_hosts:
      - name: restrouter
        domains: ["*"]
        routes:
        {{- include "restrouter.routes" (list $ $kind $clusters) | nindent 8 }}
    http_filters:
    - name: envoy.filters.http.wasm
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
        config:
          name: restrouter
          root_id: restrouter
          # A panic recreates the worker's VM on the next request instead of failing closed.
          failure_policy: FAIL_RELOAD
          # Hold the headers while the body of a POST is validated.
          allow_on_headers_stop_iteration: true
          vm_config:
            vm_id: restrouter
            runtime: envoy.wasm.runtime.v8
            code: {local: {filename: {{ $.Values.image.wasmPath | quote }}}}
          configuration:
            "@type": type.googleapis.com/google.protobuf.StringValue
            value: {{ $plugin | toJson }}
    - name: envoy.filters.http.router
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
{{- end }}

{{- define "restrouter.envoy" -}}
{{- $spec := include "restrouter.spec" . | fromJson }}
{{- /* Back-end clusters of the pass-through routes (operations without storage). */}}
{{- $clusters := list }}
{{- range $path, $item := $spec.paths }}{{ range $method, $op := $item }}{{ if kindIs "map" $op }}{{ with index $op "x-restrouter" }}{{ if not .storage }}{{ $clusters = append $clusters .backend.cluster }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}
{{- $clusters = without ($clusters | uniq | sortAlpha) "restbase_legacy" }}
{{- $fixed := dict "storage_cluster" "storage" "event_cluster" (ternary "eventgate" "" (not (empty .Values.backends.eventgate))) }}
{{- $rl := merge (dict "sidecar_cluster" (ternary "ratelimit" "" .Values.ratelimit.enabled)) .Values.settings.ratelimit }}
{{- $settings := merge (dict "ratelimit" $rl) $fixed (omit .Values.settings "ratelimit") }}
{{- $plugin := dict "spec" $spec "settings" $settings | toJson }}
{{- $service := dict "settings" $settings | toJson }}
{{- $kind := ternary "rollout" "restrouter" .Values.rollout.enabled }}
{{- $mirrored := list }}{{ if .Values.rollout.enabled }}{{ range .Values.rollout.services }}{{ if .mirror }}{{ $mirrored = append $mirrored .name }}{{ end }}{{ end }}{{ end }}
node: {id: restrouter, cluster: restrouter}

admin:
  address: {socket_address: {address: 127.0.0.1, port_value: {{ .Values.envoy.adminPort }}}}

# Rollout fractions: route defaults, overridden at run time through the admin layer.
layered_runtime:
  layers:
  - {name: static, static_layer: {}}
  - {name: admin, admin_layer: {}}

stats_config:
  stats_tags:
  # restrouter.route.<operationId>.rq_<class> → restrouter_route_rq{restrouter_route, status_class}
  - tag_name: restrouter_route
    regex: '^wasmcustom\.restrouter\.route\.(([^.]+)\.)'
  - tag_name: status_class
    regex: '^wasmcustom\.restrouter\.route\.[^.]+\.rq(_([1-5]xx))$'

bootstrap_extensions:
# The singleton service VM: event delivery and rate-limit sync.
- name: envoy.bootstrap.wasm
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.wasm.v3.WasmService
    singleton: true
    config:
      name: restrouter_service
      root_id: restrouter_service
      failure_policy: FAIL_RELOAD
      vm_config:
        vm_id: restrouter
        runtime: envoy.wasm.runtime.v8
        code: {local: {filename: {{ .Values.image.wasmPath | quote }}}}
      configuration:
        "@type": type.googleapis.com/google.protobuf.StringValue
        value: {{ $service | toJson }}

static_resources:
  listeners:
  - name: http
    address: {socket_address: {address: 0.0.0.0, port_value: {{ .Values.ports.http }}}}
    per_connection_buffer_limit_bytes: 1048576
    filter_chains:
    - filters:
      {{- include "restrouter.hcm" (list . "restrouter_http" $kind .Values.envoy.xffTrustedHops $clusters $plugin) | nindent 6 }}
  {{- if .Values.tls.enabled }}
  - name: https
    address: {socket_address: {address: 0.0.0.0, port_value: {{ .Values.ports.https }}}}
    per_connection_buffer_limit_bytes: 1048576
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            tls_params: {tls_minimum_protocol_version: TLSv1_2}
            alpn_protocols: ["h2", "http/1.1"]
            tls_certificates:
            - certificate_chain: {filename: /etc/restrouter/tls/tls.crt}
              private_key: {filename: /etc/restrouter/tls/tls.key}
      filters:
      {{- include "restrouter.hcm" (list . "restrouter_https" $kind .Values.envoy.xffTrustedHops $clusters $plugin) | nindent 6 }}
  {{- end }}
  {{- if $mirrored }}
  # Mirrored requests only, on loopback; the mirror appended the client to x-forwarded-for.
  - name: shadow
    address: {socket_address: {address: 127.0.0.1, port_value: {{ .Values.rollout.shadowPort }}}}
    per_connection_buffer_limit_bytes: 1048576
    filter_chains:
    - filters:
      {{- include "restrouter.hcm" (list . "restrouter_shadow" "restrouter" (add1 .Values.envoy.xffTrustedHops) $clusters $plugin) | nindent 6 }}
  {{- end }}
  # Prometheus and the readiness probe: two read-only admin paths on the pod address; the admin
  # itself stays on loopback.
  - name: metrics
    address: {socket_address: {address: 0.0.0.0, port_value: {{ .Values.ports.metrics }}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: metrics
          route_config:
            name: metrics
            virtual_hosts:
            - name: metrics
              domains: ["*"]
              routes:
              {{- range list "/stats/prometheus" "/ready" }}
              - match: {path: {{ . }}, headers: [{name: ":method", string_match: {exact: GET}}]}
                route: {cluster: envoy_admin, timeout: 10s}
              {{- end }}
              {{- if .Values.ratelimit.enabled }}
              # The sidecar's own metrics (DHT peers, owner calls), whose API is loopback-only too.
              - match: {path: /ratelimit/metrics, headers: [{name: ":method", string_match: {exact: GET}}]}
                route: {cluster: ratelimit, timeout: 10s, prefix_rewrite: /metrics}
              {{- end }}
              - match: {prefix: "/"}
                direct_response: {status: 404}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router

  clusters:
  {{- include "restrouter.cluster" (list "storage" .Values.backends.storage) | nindent 2 }}
  {{- include "restrouter.cluster" (list "parsoid" .Values.backends.parsoid) | nindent 2 }}
  {{- include "restrouter.cluster" (list "mobileapps" .Values.backends.mobileapps) | nindent 2 }}
  {{- include "restrouter.cluster" (list "wikifeeds" .Values.backends.wikifeeds) | nindent 2 }}
  {{- include "restrouter.cluster" (list "aqs" .Values.backends.aqs) | nindent 2 }}
  {{- if .Values.rollout.enabled }}
  {{- include "restrouter.cluster" (list "restbase_legacy" .Values.backends.legacy) | nindent 2 }}
  {{- end }}
  {{- if .Values.backends.eventgate }}
  {{- include "restrouter.cluster" (list "eventgate" .Values.backends.eventgate) | nindent 2 }}
  {{- end }}
  {{- if .Values.ratelimit.enabled }}
  {{- include "restrouter.cluster" (list "ratelimit" (printf "127.0.0.1:%v" .Values.ports.ratelimitApi)) | nindent 2 }}
  {{- end }}
  {{- if $mirrored }}
  # This Envoy's own shadow listener; load tests need the same connection limits as the others.
  - name: restrouter_shadow
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http_protocol_options: {}}
        common_http_protocol_options: {idle_timeout: 60s}
    circuit_breakers:
      thresholds: [{max_connections: 4096, max_pending_requests: 4096, max_requests: 8192}]
    load_assignment:
      cluster_name: restrouter_shadow
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: {{ .Values.rollout.shadowPort }}}}}
  {{- end }}
  {{- include "restrouter.cluster" (list "envoy_admin" (printf "127.0.0.1:%v" .Values.envoy.adminPort)) | nindent 2 }}
{{- end }}
