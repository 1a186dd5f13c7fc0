{{/*
Alert rule groups, shared by the PrometheusRule and the VMRule (same schema: groups[].rules[] with
alert, expr, for, labels, annotations). Annotation templates ({{ $labels.x }}) are for the rule
evaluator, so they are written as raw strings here.
*/}}
{{- define "metrics-manager.ruleGroups" -}}
{{- $sel := include "metrics-manager.alertSelector" . -}}
{{- $a := .Values.monitoring.alerts -}}
- name: metrics-manager.agent
  rules:
    - alert: MetricsManagerAgentDown
      expr: up{ {{- $sel -}} } == 0
      for: 5m
      labels:
        severity: critical
        {{- with $a.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: A metrics-manager agent cannot be scraped.
        description: {{`'{{ $labels.pod }} ({{ $labels.instance }}) has not answered a scrape for 5 minutes: pushes to its node are lost and the node has no system metrics.'`}}
    - alert: MetricsManagerSinkDroppingData
      expr: sum by (namespace, pod, node, sink, reason) (rate(metrics_manager_forward_samples_dropped_total{ {{- $sel -}} }[5m])) > 0
      for: 10m
      labels:
        severity: warning
        {{- with $a.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: A metrics-manager sink is dropping samples.
        description: {{`'{{ $labels.pod }} drops {{ $value | humanize }} samples/s for sink {{ $labels.sink }} (reason {{ $labels.reason }}): the target is down, slow or rejecting data and the forward queue is full.'`}}
    - alert: MetricsManagerStoreEvicting
      expr: sum by (namespace, pod, node, reason) (rate(metrics_manager_events_series_removed_total{ {{- $sel -}}, reason=~"max_.*"}[5m])) > 0
      for: 10m
      labels:
        severity: warning
        {{- with $a.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: A metrics-manager store is evicting series to stay within its bounds.
        description: {{`'{{ $labels.pod }} evicts {{ $value | humanize }} series/s ({{ $labels.reason }}): raise MAX_METRICS_IN_MEMORY / MAX_STORE_BYTES (spec.retention) or push fewer series.'`}}
    {{- if .Values.telegraf.enabled }}
    - alert: MetricsManagerTelegrafDown
      expr: max by (namespace, pod, node) (metrics_manager_health_dependencies_status{ {{- $sel -}}, dependency="telegraf"}) == 0
      for: 5m
      labels:
        severity: warning
        {{- with $a.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: Telegraf beside a metrics-manager agent is down.
        description: {{`'{{ $labels.pod }} cannot read Telegraf: the node has no CPU, memory or temperature metrics.'`}}
    {{- end }}
- name: metrics-manager.accelerators
  rules:
    - alert: MetricsManagerGpuTemperatureHigh
      expr: max by (namespace, host, gpu_id, sensor) (gpu_temperature_celsius{ {{- $sel -}} }) > {{ $a.gpuTemperatureCelsius }}
      for: 5m
      labels:
        severity: warning
        {{- with $a.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: An Intel GPU runs hot.
        description: {{ printf "'GPU {{ $labels.gpu_id }} on {{ $labels.host }} reads {{ $value }} °C (sensor {{ $labels.sensor }}), above %v °C for 5 minutes.'" $a.gpuTemperatureCelsius }}
    - alert: MetricsManagerGpuThrottled
      expr: avg by (namespace, host, gpu_id) (avg_over_time(gpu_throttle_active{ {{- $sel -}} }[10m])) > {{ $a.gpuThrottleRatio }}
      for: 5m
      labels:
        severity: warning
        {{- with $a.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: An Intel GPU is throttling.
        description: {{`'GPU {{ $labels.gpu_id }} on {{ $labels.host }} was throttled {{ $value | humanizePercentage }} of the last 10 minutes (power, thermal or current limit).'`}}
    - alert: MetricsManagerNpuTemperatureHigh
      expr: max by (namespace, host) (npu_temperature{ {{- $sel -}} }) > {{ $a.npuTemperatureCelsius }}
      for: 5m
      labels:
        severity: warning
        {{- with $a.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: An Intel NPU runs hot.
        description: {{ printf "'The NPU on {{ $labels.host }} reads {{ $value }} °C, above %v °C for 5 minutes.'" $a.npuTemperatureCelsius }}
{{- end -}}
