{{/*
Names. Kubernetes names are at most 63 characters.
*/}}
{{- define "metrics-manager.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "metrics-manager.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The namespace of every namespaced object.
*/}}
{{- define "metrics-manager.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "metrics-manager.controllerName" -}}
{{- printf "%s-controller" (include "metrics-manager.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "metrics-manager.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "metrics-manager.agentServiceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (printf "%s-agent" (include "metrics-manager.fullname" .) | trunc 63 | trimSuffix "-") .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "metrics-manager.controllerServiceAccountName" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- default (include "metrics-manager.controllerName" .) .Values.controller.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.controller.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Labels. Selector labels never change after install (a DaemonSet's selector is immutable).
*/}}
{{- define "metrics-manager.labels" -}}
helm.sh/chart: {{ include "metrics-manager.chart" . }}
app.kubernetes.io/name: {{ include "metrics-manager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: metrics-manager
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "metrics-manager.agentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics-manager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end -}}

{{- define "metrics-manager.agentLabels" -}}
{{ include "metrics-manager.labels" . }}
app.kubernetes.io/component: agent
{{- end -}}

{{- define "metrics-manager.controllerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics-manager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/*
A label map as a Kubernetes selector string: k1=v1,k2=v2 (sorted).
*/}}
{{- define "metrics-manager.labelList" -}}
{{- $parts := list -}}
{{- range $k, $v := . -}}
{{- $parts = append $parts (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $parts -}}
{{- end -}}

{{- define "metrics-manager.controllerLabels" -}}
{{ include "metrics-manager.labels" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{/*
The image of the agent and the controller; global.imageRegistry wins over image.registry.
*/}}
{{- define "metrics-manager.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry -}}
{{- $repo := ternary (printf "%s/%s" $registry .Values.image.repository) .Values.image.repository (ne $registry "") -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "metrics-manager.telegrafImage" -}}
{{- $registry := default .Values.telegraf.image.registry .Values.global.imageRegistry -}}
{{- $repo := ternary (printf "%s/%s" $registry .Values.telegraf.image.repository) .Values.telegraf.image.repository (ne $registry "") -}}
{{- printf "%s:%s" $repo .Values.telegraf.image.tag -}}
{{- end -}}

{{/*
imagePullSecrets of every pod: global.imagePullSecrets and imagePullSecrets, as names or
{name: ...} objects, without duplicates.
*/}}
{{- define "metrics-manager.imagePullSecrets" -}}
{{- $names := list -}}
{{- range (concat .Values.global.imagePullSecrets .Values.imagePullSecrets) -}}
{{- if kindIs "string" . -}}
{{- $names = append $names . -}}
{{- else if kindIs "map" . -}}
{{- $names = append $names (.name | default "") -}}
{{- end -}}
{{- end -}}
{{- with ($names | compact | uniq) }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Labels of every scrape object (rendered here or registered by the controller), then the object's own.
*/}}
{{- define "metrics-manager.monitorLabels" -}}
{{- $labels := merge (dict) (.own | default dict) (.root.Values.monitoring.monitorLabels | default dict) -}}
{{- with $labels }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/*
Whether the cluster serves an API (group/version/Kind): monitoring objects render only then, so an
install without the CRDs does not fail. `helm template` needs --api-versions for them.
*/}}
{{- define "metrics-manager.hasApi" -}}
{{- if .root.Capabilities.APIVersions.Has .api -}}true{{- end -}}
{{- end -}}

{{/*
The agent's system metrics source.
*/}}
{{- define "metrics-manager.systemMetricsSource" -}}
{{- if .Values.agent.systemMetricsSource -}}
{{- .Values.agent.systemMetricsSource -}}
{{- else if .Values.telegraf.enabled -}}
telegraf
{{- else -}}
builtin
{{- end -}}
{{- end -}}

{{/*
Where the agent reads the host's /proc: its own /proc when it shares the host's PID namespace,
else the host's /proc mounted at /host/proc when its built-in cpu/mem collectors need it.
Empty: no host /proc needed.
*/}}
{{- define "metrics-manager.agentHostProc" -}}
{{- if or .Values.agent.hostPID .Values.agent.gpu.perProcess -}}
/proc
{{- else if eq (include "metrics-manager.systemMetricsSource" .) "builtin" -}}
/host/proc
{{- end -}}
{{- end -}}

{{/*
The agent DaemonSet's node placement, shared with the helm test pod (which must land on a node that
runs an agent: the Service only routes to the local one).
*/}}
{{- define "metrics-manager.agentPlacement" -}}
{{- with .Values.agent.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.agent.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .Values.agent.affinity }}
affinity:
  {{- toYaml .Values.agent.affinity | nindent 2 }}
{{- else if .Values.agent.acceleratorNodesOnly }}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      {{- if .Values.agent.gpu.resource }}
      # Nodes with an Intel GPU: only they offer {{ .Values.agent.gpu.resource }}.
      {{- else }}
      # Terms are ORed: a node with an Intel GPU or an Intel NPU.
      {{- end }}
      nodeSelectorTerms:
        - matchExpressions:
            - key: intel.feature.node.kubernetes.io/gpu
              operator: In
              values: ["true"]
        {{- if not .Values.agent.gpu.resource }}
        - matchExpressions:
            - key: intel.feature.node.kubernetes.io/npu
              operator: In
              values: ["true"]
        {{- end }}
{{- end }}
{{- end -}}

{{/*
The label matchers alert rules and dashboards use to find this release's agents: the job is the
Service name (what ServiceMonitor / VMServiceScrape endpoints discovery sets).
*/}}
{{- define "metrics-manager.alertSelector" -}}
job="{{ include "metrics-manager.fullname" . }}", namespace="{{ include "metrics-manager.namespace" . }}"
{{- end -}}

{{/*
A restricted container securityContext (non-root, read-only root, no capabilities).
metrics-manager.securityContext merges values over a default: (dict "default" <yaml> "override" <map>).
*/}}
{{- define "metrics-manager.securityContext" -}}
{{- $merged := mergeOverwrite (fromYaml .default) (deepCopy (.override | default dict)) -}}
{{- toYaml $merged -}}
{{- end -}}

{{- define "metrics-manager.restrictedSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
The controller's permissions on namespaced objects around the configs: cluster-wide, or in
watchNamespace only.
*/}}
{{- define "metrics-manager.controllerConfigRules" -}}
# The configs it reconciles, and their status.
- apiGroups: ["metricsmanager.dev"]
  resources: ["metricsmanagerconfigs"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["metricsmanager.dev"]
  resources: ["metricsmanagerconfigs/status"]
  verbs: ["get", "patch", "update"]
# The monitors it registers beside a config (owned by it, so in the config's namespace).
# (watched, label-selected to this release's own, so it never lists them per pass).
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: ["operator.victoriametrics.com"]
  resources: ["vmservicescrapes"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
# Events on the configs (rejected specs, overlaps): each is created once, never updated.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{- define "metrics-manager.agentConfigRules" -}}
- apiGroups: ["metricsmanager.dev"]
  resources: ["metricsmanagerconfigs"]
  verbs: ["get", "list", "watch"]
{{- end -}}
