{{/* Names and labels. */}}
{{- define "flicker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flicker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "flicker.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "flicker.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "flicker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flicker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flicker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "flicker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .Values.mode }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "flicker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flicker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "flicker.configMapName" -}}
{{- default (include "flicker.fullname" .) .Values.existingConfigMap }}
{{- end }}

{{- define "flicker.secretName" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecret }}
{{- else if .Values.secret.data }}
{{- include "flicker.fullname" . }}
{{- end }}
{{- end }}

{{/* The configuration as YAML: the config value, or the mode's example when it is empty. */}}
{{- define "flicker.configYAML" -}}
{{- if .Values.config }}
{{- toYaml .Values.config }}
{{- else }}
{{- .Files.Get (printf "files/config-%s.yaml" .Values.mode) }}
{{- end }}
{{- end }}

{{/* Whether this mode keeps a registry: aggregator mode never does. */}}
{{- define "flicker.registryType" -}}
{{- if eq .Values.mode "aggregator" }}none{{ else }}{{ .Values.registry.type }}{{ end }}
{{- end }}

{{/*
The listening ports of the configuration, one "name port protocol" line each: every http_sources entry (TCP)
and every syslog_sources entry (udp: UDP; tcp and tls: TCP; tcp when protocol is not set), the port being what
follows the last ":" of address. Nothing with existingConfigMap: the chart cannot read that config.
*/}}
{{- define "flicker.listenPorts" -}}
{{- if not .Values.existingConfigMap }}
{{- $config := include "flicker.configYAML" . | fromYaml }}
{{- range $i, $src := $config.http_sources }}
{{ printf "http-%d" $i }} {{ include "flicker.port" (list "http_sources" $i $src) }} TCP
{{- end }}
{{- range $i, $src := $config.syslog_sources }}
{{ printf "syslog-%d" $i }} {{ include "flicker.port" (list "syslog_sources" $i $src) }} {{ eq (default "tcp" $src.protocol) "udp" | ternary "UDP" "TCP" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The port of one source's address; fails naming the field when there is none. */}}
{{- define "flicker.port" -}}
{{- $list := index . 0 }}{{ $i := index . 1 }}{{ $src := index . 2 }}
{{- $port := regexFind "[0-9]+$" (toString $src.address) }}
{{- if not (regexMatch ":[0-9]+$" (toString $src.address)) }}
{{- fail (printf "config.%s[%d].address %q: want host:port or :port, the Service's port is derived from it" $list $i (toString $src.address)) }}
{{- end }}
{{- $port }}
{{- end }}

{{/* --snapshot-interval and --lease-ttl in S3 mode: the value, else the mode's default (README "What S3 costs"). */}}
{{- define "flicker.snapshotInterval" -}}
{{- .Values.registry.s3.snapshotInterval | default (eq .Values.mode "daemonset" | ternary "10s" "5s") }}
{{- end }}
{{- define "flicker.leaseTTL" -}}
{{- .Values.registry.s3.leaseTTL | default (eq .Values.mode "daemonset" | ternary "120s" "60s") }}
{{- end }}

{{/*
Refuses values that render a deployment flicker cannot run as asked: two replicas without the S3 lease the
standby waits on (both would ship), a zero snapshot interval, and an aggregator whose shutdown budget is not above an http_sources
ack_timeout (flicker exits 2: it could not answer a request waiting for its events). An ack_timeout written in
seconds ("20s") is checked; the default is 15s.
*/}}
{{- define "flicker.check" -}}
{{- if and (eq .Values.mode "deployment") (eq (int .Values.replicas) 2) }}
{{- if ne (include "flicker.registryType" .) "s3" }}
{{- fail "replicas: 2 (active and standby) needs registry.type s3: the standby waits for the S3 registry's lease; with a local registry or none both pods would ship every event" }}
{{- end }}
{{- if eq (toString .Values.registry.s3.lease) "off" }}
{{- fail "replicas: 2 (active and standby) needs registry.s3.lease on: --standby waits for the lease" }}
{{- end }}
{{- end }}
{{- if regexMatch "^(0+(\\.0*)?(ns|us|µs|ms|s|m|h))+$" (toString .Values.registry.s3.snapshotInterval) }}
{{- fail (printf "registry.s3.snapshotInterval %s: must be above zero (flicker refuses --snapshot-interval 0)" (toString .Values.registry.s3.snapshotInterval)) }}
{{- end }}
{{- if and (eq .Values.mode "aggregator") (not .Values.existingConfigMap) }}
{{- $t := int .Values.shutdownTimeoutSeconds }}
{{- $budget := sub $t (min (div $t 5) 3) }}
{{- $config := include "flicker.configYAML" . | fromYaml }}
{{- range $i, $src := $config.http_sources }}
{{- $ack := toString (default "15s" $src.ack_timeout) }}
{{- if regexMatch "^[0-9]+s$" $ack }}
{{- if ge (int (trimSuffix "s" $ack)) $budget }}
{{- fail (printf "shutdownTimeoutSeconds %d leaves a shutdown budget of %ds, not above config.http_sources[%d].ack_timeout %s: raise shutdownTimeoutSeconds (or lower ack_timeout)" $t $budget $i $ack) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The flicker arguments. */}}
{{- define "flicker.args" -}}
{{- $_ := include "flicker.check" . -}}
- run
- --config=/etc/flicker/config.yaml
- --http-addr=:{{ .Values.metricsPort }}
- --shutdown-timeout={{ .Values.shutdownTimeoutSeconds }}s
{{- $registry := include "flicker.registryType" . }}
{{- if eq $registry "s3" }}
{{- $s3 := .Values.registry.s3 }}
{{- $key := eq .Values.mode "daemonset" | ternary "$(NODE_NAME)" (default (include "flicker.fullname" .) $s3.key) }}
- --registry-file=s3://{{ required "registry.s3.bucket is required with registry.type s3" $s3.bucket }}/{{ with $s3.prefix }}{{ trimSuffix "/" . }}/{{ end }}{{ $key }}/registry.json
- --state-dir=/var/lib/flicker/state
{{- with $s3.endpoint }}
- --s3-endpoint={{ . }}
{{- end }}
{{- with $s3.region }}
- --s3-region={{ . }}
{{- end }}
{{- with $s3.pathStyle }}
- --s3-path-style={{ . }}
{{- end }}
- --lease={{ $s3.lease }}
- --snapshot-interval={{ include "flicker.snapshotInterval" . }}
- --lease-ttl={{ include "flicker.leaseTTL" . }}
{{- if and (eq .Values.mode "deployment") (eq (int .Values.replicas) 2) }}
- --standby
{{- end }}
{{- else if eq $registry "local" }}
- --registry-file=/var/lib/flicker/registry/registry.db
{{- end }}
{{- range .Values.extraArgs }}
- {{ . }}
{{- end }}
{{- end }}
