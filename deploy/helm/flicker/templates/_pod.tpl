{{/* The pod every mode runs: one template, so the modes differ only where this says. */}}
{{- define "flicker.podTemplate" -}}
{{- $registry := include "flicker.registryType" . }}
{{- $node := eq .Values.mode "daemonset" }}
metadata:
  labels:
    {{- include "flicker.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- if not .Values.existingConfigMap }}
    # A change of the configuration or the rendered Secret rolls the pods.
    checksum/config: {{ include "flicker.configYAML" . | sha256sum }}
    {{- end }}
    {{- if and .Values.secret.data (not .Values.secret.existingSecret) }}
    checksum/secret: {{ toYaml .Values.secret.data | sha256sum }}
    {{- end }}
    {{- if .Values.prometheusAnnotations }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ .Values.metricsPort | quote }}
    prometheus.io/path: /metrics
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "flicker.serviceAccountName" . }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  # Above --shutdown-timeout, so the drain, the final snapshot and the lease release always finish.
  terminationGracePeriodSeconds: {{ add .Values.shutdownTimeoutSeconds 10 }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- if .Values.podSecurityContext }}
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
    {{- else }}
    seccompProfile:
      type: RuntimeDefault
    {{- if not $node }}
    fsGroup: 65532
    {{- end }}
    {{- end }}
  {{- if $node }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: flicker
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        {{- include "flicker.args" . | nindent 8 }}
      env:
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        # The Go heap's soft limit follows the container's memory limit (bytes).
        - name: GOMEMLIMIT
          valueFrom:
            resourceFieldRef:
              containerName: flicker
              resource: limits.memory
        - name: TMPDIR
          value: /var/lib/flicker
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with include "flicker.secretName" . }}
      envFrom:
        - secretRef:
            name: {{ . }}
      {{- end }}
      ports:
        - name: http-metrics
          containerPort: {{ .Values.metricsPort }}
          protocol: TCP
        {{- range $line := include "flicker.listenPorts" . | trim | splitList "\n" }}
        {{- if $line }}
        {{- $p := splitList " " $line }}
        - name: {{ index $p 0 }}
          containerPort: {{ index $p 1 }}
          protocol: {{ index $p 2 }}
        {{- end }}
        {{- end }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: http-metrics
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        httpGet:
          path: {{ and (eq .Values.mode "deployment") (eq (int .Values.replicas) 2) | ternary "/healthz" "/readyz" }}
          port: http-metrics
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- if .Values.securityContext }}
        {{- toYaml .Values.securityContext | nindent 8 }}
        {{- else if $node }}
        # The node's container logs are root's (0640): uid 0 reads them as their owner, with no capability.
        runAsUser: 0
        runAsGroup: 0
        runAsNonRoot: false
        {{- else }}
        runAsUser: 65532
        runAsGroup: 65532
        runAsNonRoot: true
        {{- end }}
        {{- if not .Values.securityContext }}
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: [ALL]
        {{- end }}
      volumeMounts:
        - name: config
          mountPath: /etc/flicker
          readOnly: true
        - name: state
          mountPath: /var/lib/flicker
        {{- if eq $registry "local" }}
        - name: registry
          mountPath: /var/lib/flicker/registry
        {{- end }}
        {{- if $node }}
        {{- range $i, $path := .Values.nodeLogPaths }}
        - name: {{ printf "node-logs-%d" $i }}
          mountPath: {{ $path }}
          readOnly: true
        {{- end }}
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "flicker.configMapName" . }}
    - name: state
      emptyDir:
        {{- with .Values.stateDir.medium }}
        medium: {{ . }}
        {{- end }}
        {{- with .Values.stateDir.sizeLimit }}
        sizeLimit: {{ . }}
        {{- end }}
    {{- if eq $registry "local" }}
    - name: registry
      {{- if $node }}
      hostPath:
        path: {{ printf "%s/%s" (trimSuffix "/" .Values.registry.local.hostPath) (include "flicker.fullname" .) }}
        type: DirectoryOrCreate
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- end }}
    {{- if $node }}
    {{- range $i, $path := .Values.nodeLogPaths }}
    - name: {{ printf "node-logs-%d" $i }}
      hostPath:
        path: {{ $path }}
    {{- end }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
