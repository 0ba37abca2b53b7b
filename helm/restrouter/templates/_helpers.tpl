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

{{/* The spec as a map: values.spec, else the bundled file. */}}
{{- define "restrouter.spec" -}}
{{- if .Values.spec }}{{ toJson .Values.spec }}{{ else }}{{ .Files.Get "files/wikimedia.yaml" | fromYaml | toJson }}{{ end }}
{{- end }}
