{{/* Names, truncated to 63 characters (DNS label limit). */}}
{{- define "platform.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "platform.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "platform.selectorLabels" -}}
app.kubernetes.io/name: {{ include "platform.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "platform.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "platform.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The existing Secret holding the platform's credentials. */}}
{{- define "platform.secretName" -}}
{{- .Values.secret.name | default (include "platform.fullname" .) -}}
{{- end -}}

{{- define "platform.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "platform.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "platform.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
platform.secretEnv: one env entry from the existing Secret.
Arguments: list of root context, env name, key, optional (bool), secret name.
*/}}
{{- define "platform.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 4 | default (include "platform.secretName" $root) }}
      key: {{ index . 2 }}
      {{- if index . 3 }}
      optional: true
      {{- end }}
{{- end -}}

{{/*
platform.env: the environment of every platform container (serve and the
migration Job): plain settings from values, credentials from the Secret.
A setting left empty (or 0) is not set: the binary's default applies.
*/}}
{{- define "platform.env" -}}
{{- $c := .Values.config -}}
{{- $keys := .Values.secret.keys -}}
- name: PLATFORM_BASE_DOMAIN
  value: {{ .Values.baseDomain | quote }}
- name: VAULT_ADDR
  value: {{ .Values.vault.addr | quote }}
{{- with .Values.vault.kvMount }}
- name: PLATFORM_VAULT_KV_MOUNT
  value: {{ . | quote }}
{{- end }}
{{ include "platform.secretEnv" (list . "PLATFORM_DATABASE_URL" $keys.databaseUrl false "") }}
{{ include "platform.secretEnv" (list . "PLATFORM_DB_ADMIN_URL" $keys.dbAdminUrl false "") }}
{{ include "platform.secretEnv" (list . "REDIS_URL" $keys.redisUrl false "") }}
{{- if eq .Values.vault.auth.method "token" }}
{{ include "platform.secretEnv" (list . "VAULT_TOKEN" .Values.vault.auth.token.key false .Values.vault.auth.token.secretName) }}
{{- else }}
{{ include "platform.secretEnv" (list . "VAULT_ROLE_ID" .Values.vault.auth.appRole.roleIdKey false .Values.vault.auth.appRole.secretName) }}
{{ include "platform.secretEnv" (list . "VAULT_SECRET_ID" .Values.vault.auth.appRole.secretIdKey false .Values.vault.auth.appRole.secretName) }}
{{- end }}
{{ include "platform.secretEnv" (list . "PLATFORM_OPERATOR_TOKEN" $keys.operatorToken true "") }}
{{ include "platform.secretEnv" (list . "PLATFORM_SMTP_URL" $keys.smtpUrl true "") }}
{{ include "platform.secretEnv" (list . "PLATFORM_ALERT_WEBHOOK_URL" $keys.alertWebhookUrl true "") }}
{{ include "platform.secretEnv" (list . "PLATFORM_S3_ACCESS_KEY" $keys.s3AccessKey true "") }}
{{ include "platform.secretEnv" (list . "PLATFORM_S3_SECRET_KEY" $keys.s3SecretKey true "") }}
{{- if .Values.metrics.token.enabled }}
{{ include "platform.secretEnv" (list . "PLATFORM_METRICS_TOKEN" .Values.metrics.token.key false .Values.metrics.token.secretName) }}
{{- end }}
{{- with $c.trustedProxies }}
- name: PLATFORM_TRUSTED_PROXIES
  value: {{ join "," . | quote }}
{{- end }}
{{- range $name, $v := dict
    "PLATFORM_TEMPLATE_PREFIX" $c.templatePrefix
    "PLATFORM_DB_BUDGET_WAIT" $c.dbBudgetWait
    "PLATFORM_DB_CONNECT_TIMEOUT" $c.dbConnectTimeout
    "PLATFORM_POOL_IDLE_TIMEOUT" $c.poolIdleTimeout
    "PLATFORM_SECRETS_TTL" $c.secretsTTL
    "PLATFORM_HTTP_READ_TIMEOUT" $c.httpReadTimeout
    "PLATFORM_SMTP_FROM" $c.smtpFrom
    "PLATFORM_RATE_LIMIT_LOGIN" $c.rateLimitLogin
    "PLATFORM_RATE_LIMIT_DEFAULT" $c.rateLimitDefault
    "PLATFORM_ROTATION_CHECK_INTERVAL" $c.rotationCheckInterval
    "PLATFORM_LOG_FORMAT" $c.logFormat
    "PLATFORM_LOG_LEVEL" $c.logLevel
    "PLATFORM_BACKUP_URL" $c.backupUrl
    "PLATFORM_BACKUP_COPY_URL" $c.backupCopyUrl
    "PLATFORM_S3_ENDPOINT" $c.s3Endpoint
    "PLATFORM_S3_REGION" $c.s3Region
    "PLATFORM_PG_BIN_DIR" $c.pgBinDir
    "PLATFORM_DB_CONN_BUDGET" $c.dbConnBudget
    "PLATFORM_TENANT_MAX_CONNS" $c.tenantMaxConns
    "PLATFORM_MAX_POOLS" $c.maxPools
    "PLATFORM_BCRYPT_COST" $c.bcryptCost
    "PLATFORM_RESTORE_KEEP_DAYS" $c.restoreKeepDays
    "PLATFORM_METRICS_TOP_TENANTS" $c.metricsTopTenants
    "PLATFORM_METRICS_CATALOG_TTL" $c.metricsCatalogTTL
    "PLATFORM_TLS" $c.tls
    "PLATFORM_HSTS_MAX_AGE" $c.hstsMaxAge
    "PLATFORM_IMPORT_MAX_UPLOAD_MIB" $c.importMaxUploadMiB }}
{{- if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
- name: {{ $name }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end }}
{{- if not (kindIs "invalid" $c.s3Insecure) }}
- name: PLATFORM_S3_INSECURE
  value: {{ ternary "1" "0" $c.s3Insecure | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
