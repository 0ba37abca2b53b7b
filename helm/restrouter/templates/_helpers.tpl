{{- define "restrouter.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 53 | trimSuffix "-" }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 53 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "restrouter.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "restrouter.labels" -}}
{{ include "restrouter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The headless Service whose DNS name resolves to every pod: the DHT seed. */}}
{{- define "restrouter.dhtService" -}}
{{ include "restrouter.fullname" . }}-ratelimit
{{- end }}

{{/* The values the Envoy config depends on; restrouter-render records the same selection in
the config it renders (render/src/chart.rs, `recorded`). Not rollout.percent: the runtime
ConfigMap carries it. */}}
{{- define "restrouter.renderedFrom" -}}
{{- $v := .Values }}
{{- $rollout := dict "enabled" $v.rollout.enabled "mirror" $v.rollout.mirror "shadowPort" $v.rollout.shadowPort }}
{{- dict "backends" $v.backends "settings" $v.settings "spec" $v.spec "rollout" $rollout "ports" $v.ports "tls" $v.tls.enabled "wasmPath" $v.image.wasmPath "adminPort" $v.envoy.adminPort "xffTrustedHops" $v.envoy.xffTrustedHops "ratelimit" $v.ratelimit.enabled | toJson }}
{{- end }}

{{/* Envoy's configuration: the one `restrouter-render chart` renders from the envoy/ templates
and this release's values, refused when it was rendered from other values. */}}
{{- define "restrouter.envoyConfig" -}}
{{- $config := required "envoyConfig is required: render it with `restrouter-render chart -f <values files>` and pass it with --set-file envoyConfig=<file>" .Values.envoyConfig }}
{{- $recorded := dig "node" "metadata" "restrouter_chart_values" (dict) (fromYaml $config) | toJson }}
{{- if ne $recorded (include "restrouter.renderedFrom" .) }}
{{- fail "envoyConfig was rendered from other values than this release's: render it again with `restrouter-render chart -f <values files>`" }}
{{- end }}
{{- $config }}
{{- end }}


{{/* Where the runtime ConfigMap is mounted: restrouter-render chart points the disk layer at it
(render/src/chart.rs, RUNTIME_DIR). */}}
{{- define "restrouter.runtimeDir" -}}
/etc/restrouter/runtime
{{- end }}
