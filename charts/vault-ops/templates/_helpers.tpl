{{/* Chart name, possibly overridden. */}}
{{- define "vault-ops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name (release-based, at most 63 characters). */}}
{{- define "vault-ops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "vault-ops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vault-ops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vault-ops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vault-ops.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "vault-ops.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end }}

{{/*
The jobs this chart can run: values key -> job name, the vault-ops command, and what each needs.
Order matters (rendering order).
*/}}
{{- define "vault-ops.jobTable" -}}
snapshot: { name: snapshot, command: "snapshot save", vault: true, store: true }
verify: { name: verify, command: verify, vault: false, store: true }
rotateKv: { name: rotate-kv, command: "rotate kv", vault: true, store: false }
prune: { name: prune, command: "snapshot prune", vault: false, store: true }
report: { name: report, command: report, vault: false, store: true }
{{- end }}

{{/* The Secret holding the store's signing key: the user's, or the one the chart makes. */}}
{{- define "vault-ops.signingSecretName" -}}
{{- .Values.signing.existingSecret | default (printf "%s-signing" (include "vault-ops.fullname" .)) -}}
{{- end }}

{{- define "vault-ops.jobKeys" -}}
snapshot verify rotateKv prune report
{{- end }}

{{/* Resource name of a job's objects: <fullname>-<job>, at most 52 characters (CronJob limit). */}}
{{- define "vault-ops.jobResourceName" -}}
{{- printf "%s-%s" (include "vault-ops.fullname" .root) .name | trunc 52 | trimSuffix "-" }}
{{- end }}

{{/* Service account of a job: dict root, job (values), name (job name). */}}
{{- define "vault-ops.serviceAccountName" -}}
{{- if .job.serviceAccount.name -}}
{{- .job.serviceAccount.name -}}
{{- else -}}
{{- include "vault-ops.jobResourceName" (dict "root" .root "name" .name) -}}
{{- end -}}
{{- end }}

{{/*
The job definition file a CronJob runs (the schema of jobs/*.yaml): dict root, key, job, spec.
*/}}
{{- define "vault-ops.jobDefinition" -}}
{{- $opts := deepCopy (.job.options | default dict) -}}
{{- if and (eq .key "snapshot") (or .root.Values.jobs.prune.enabled (eq (include "vault-ops.storePrunes" .root) "true")) -}}
{{- $_ := set $opts "prune" false -}}
{{- end -}}
{{- $def := dict "name" .spec.name "command" .spec.command "schedule" .job.schedule "timeout" .job.timeout "options" $opts -}}
{{- $file := dict "job" $def -}}
{{- if eq .key "rotateKv" -}}
{{- $_ := set $file "secrets" .job.secrets -}}
{{- end -}}
{{- toYaml $file -}}
{{- end }}

{{/* Check the values a rendered job needs; fail with a message naming the value. */}}
{{- define "vault-ops.validate" -}}
{{- $table := include "vault-ops.jobTable" . | fromYaml -}}
{{- range $key := splitList " " (include "vault-ops.jobKeys" .) -}}
{{- $job := index $.Values.jobs $key -}}
{{- $spec := index $table $key -}}
{{- if $job.enabled -}}
{{- $fields := regexSplit "\\s+" (trim $job.schedule) -1 -}}
{{- if ne (len $fields) 5 -}}
{{- fail (printf "jobs.%s.schedule %q: a Kubernetes CronJob takes a 5-field cron expression (minute hour day month weekday, UTC)" $key $job.schedule) -}}
{{- end -}}
{{- if and $spec.vault (not $.Values.vault.address) -}}
{{- fail (printf "vault.address is required by jobs.%s (e.g. https://vault.vault.svc:8200)" $key) -}}
{{- end -}}
{{- if $spec.store -}}
{{- if not $.Values.store.url -}}
{{- fail (printf "store.url is required by jobs.%s: s3://bucket/prefix, az://container/prefix or gs://bucket/prefix" $key) -}}
{{- end -}}
{{- $creds := $.Values.store.credentials -}}
{{- $what := "store" -}}
{{- if and (or (eq $key "prune") (eq $key "verify")) $job.credentials $job.credentials.existingSecret -}}
{{- $creds = $job.credentials -}}
{{- $what = printf "store (jobs.%s.credentials)" $key -}}
{{- end -}}
{{- include "vault-ops.validateStore" (dict "what" $what "s" $.Values.store "creds" $creds) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.jobs.verify.enabled (not .Values.jobs.verify.unsealKeys.existingSecret) -}}
{{- fail "jobs.verify.unsealKeys.existingSecret is required: a Secret holding the source cluster's unseal keys (one per line) under jobs.verify.unsealKeys.key" -}}
{{- end -}}
{{- if and .Values.jobs.verify.enabled (eq (toString (.Values.jobs.verify.options.mode | default "recovery")) "unsealed") -}}
{{- fail "jobs.verify.options.mode: unsealed is refused: an unsealed drill runs the restored copy live (it revokes leases production renewed, rotates static roles, reaches out through plugins); scheduled drills run in recovery mode, an unsealed one is an operator's command-line run (vault-ops verify --mode unsealed --i-understand-unsealed-runs-live) on an isolated network" -}}
{{- end -}}
{{- /* A range wider than /8 (IPv4) or /16 (IPv6) is refused: two halves (0.0.0.0/1 + 128.0.0.0/1) cover everything as /0 does. */ -}}
{{- range (.Values.jobs.verify.networkPolicy.store.cidrs | default list) -}}
{{- $parts := splitList "/" (toString .) -}}
{{- $bits := (len $parts | eq 2) | ternary (last $parts) "" -}}
{{- $widest := contains ":" (toString .) | ternary 16 8 -}}
{{- if or (not (regexMatch "^[0-9]{1,3}$" $bits)) (lt (atoi $bits) $widest) -}}
{{- fail (printf "jobs.verify.networkPolicy.store.cidrs holds %s: the drill's pod may reach only the store; name the S3 endpoint's address ranges (at most /%d each), not a range that covers everything" . $widest) -}}
{{- end -}}
{{- end -}}
{{- $names := dict -}}
{{- range $i, $s := (.Values.stores | default list) -}}
{{- if not (regexMatch "^[a-z][a-z0-9-]{0,30}$" (toString $s.name)) -}}
{{- fail (printf "stores[%d].name %q: lower-case letters, digits and \"-\" (it names the store's variables, VAULT_OPS_STORE_<NAME>_*)" $i (toString $s.name)) -}}
{{- end -}}
{{- if hasKey $names $s.name -}}
{{- fail (printf "stores[%d].name %s is used twice: give each store its own name" $i $s.name) -}}
{{- end -}}
{{- $_ := set $names $s.name true -}}
{{- include "vault-ops.validateStore" (dict "what" (printf "stores[%d]" $i) "s" $s "creds" $s.credentials) -}}
{{- if and $s.prune $s.prune.credentials -}}
{{- include "vault-ops.validateStore" (dict "what" (printf "stores[%d] (prune.credentials)" $i) "s" $s "creds" $s.prune.credentials) -}}
{{- end -}}
{{- if eq $s.url $.Values.store.url -}}
{{- fail (printf "stores[%d].url is store.url: a store is named twice" $i) -}}
{{- end -}}
{{- end -}}
{{- if and (eq (include "vault-ops.storePrunes" .) "true") (not .Values.jobs.prune.enabled) .Values.jobs.snapshot.options.prune -}}
{{- fail "stores[] have prune jobs of their own, so the snapshot job no longer prunes: enable jobs.prune for the retention of store.url (or set jobs.snapshot.options.prune: false to keep it unpruned)" -}}
{{- end -}}
{{- if and .Values.jobs.report.enabled (not (regexMatch "^(s3|az|gs)://[^/]+/.*[^/]$" (toString .Values.jobs.report.out))) -}}
{{- fail "jobs.report.out is required: the store URL the page is published to, ending in its name (s3://bucket/prefix/vault-backups.html, az://container/prefix/… or gs://bucket/prefix/…); the pods' filesystem is read-only and thrown away" -}}
{{- end -}}
{{- if and .Values.jobs.rotateKv.enabled (not .Values.jobs.rotateKv.secrets) -}}
{{- fail "jobs.rotateKv.secrets is empty: list the secrets to rotate (the secrets: of a rotate-kv policy)" -}}
{{- end -}}
{{- if and .Values.vault.caCert.configMap .Values.vault.caCert.secret -}}
{{- fail "vault.caCert: set configMap or secret, not both" -}}
{{- end -}}
{{- end }}

{{/* "true" when one of stores[] has a prune job of its own (the snapshot job then never prunes). */}}
{{- define "vault-ops.storePrunes" -}}
{{- $any := false -}}
{{- range (.Values.stores | default list) -}}{{- if and .prune .prune.enabled -}}{{- $any = true -}}{{- end -}}{{- end -}}
{{- $any -}}
{{- end }}

{{/*
Every CronJob to render, as {items: [{key, job, spec, store}]}: the jobs of jobs.*, then one prune
job per stores[] entry with prune.enabled (key "prune", its own schedule, retention and
credentials; `store` is that entry).
*/}}
{{- define "vault-ops.jobInstances" -}}
{{- $table := include "vault-ops.jobTable" . | fromYaml -}}
{{- $items := list -}}
{{- range $key := splitList " " (include "vault-ops.jobKeys" .) -}}
{{- $job := index $.Values.jobs $key -}}
{{- if $job.enabled -}}
{{- $items = append $items (dict "key" $key "job" $job "spec" (index $table $key)) -}}
{{- end -}}
{{- end -}}
{{- range $s := (.Values.stores | default list) -}}
{{- if and $s.prune $s.prune.enabled -}}
{{- $base := $.Values.jobs.prune -}}
{{- $job := dict "enabled" true "schedule" ($s.prune.schedule | default $base.schedule) "timeout" ($s.prune.timeout | default $base.timeout) "options" ($s.prune.options | default $base.options) "credentials" ($s.prune.credentials | default $s.credentials) "serviceAccount" (dict "name" ($s.prune.serviceAccountName | default (ternary (include "vault-ops.serviceAccountName" (dict "root" $ "job" $base "name" "prune")) "default" $base.enabled))) "resources" $base.resources "cronJob" $base.cronJob -}}
{{- $spec := dict "name" (printf "prune-%s" $s.name) "command" "snapshot prune" "vault" false "store" true -}}
{{- $items = append $items (dict "key" "prune" "job" $job "spec" $spec "store" $s) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end }}

{{/*
The environment of one of stores[] (dict s, creds): its S3 settings and credentials under its own
prefix, VAULT_OPS_STORE_<NAME>_, which vault-ops reads for the store named NAME (NAME=URL).
*/}}
{{- define "vault-ops.storeEnv" -}}
{{- $p := printf "VAULT_OPS_STORE_%s_" (.s.name | upper | replace "-" "_") -}}
{{- $s3 := .s.s3 | default dict -}}
{{- with $s3.endpoint }}
- name: {{ printf "%sVAULT_OPS_S3_ENDPOINT" $p }}
  value: {{ . | quote }}
{{- end }}
{{- with $s3.region }}
- name: {{ printf "%sVAULT_OPS_S3_REGION" $p }}
  value: {{ . | quote }}
{{- end }}
{{- if $s3.forcePathStyle }}
- name: {{ printf "%sVAULT_OPS_S3_FORCE_PATH_STYLE" $p }}
  value: "true"
{{- end }}
{{- with $s3.sse }}
- name: {{ printf "%sVAULT_OPS_S3_SSE" $p }}
  value: {{ . | quote }}
{{- end }}
{{- with $s3.kmsKeyId }}
- name: {{ printf "%sVAULT_OPS_S3_KMS_KEY_ID" $p }}
  value: {{ . | quote }}
{{- end }}
{{- include "vault-ops.cloudStoreEnv" (dict "s" .s "creds" .creds "prefix" $p "dir" (printf "/etc/vault-ops/store-credentials/%s" .s.name)) }}
{{- if and .creds .creds.existingSecret (eq (include "vault-ops.storeKind" .s.url) "s3") }}
- name: {{ printf "%sAWS_ACCESS_KEY_ID" $p }}
  valueFrom:
    secretKeyRef:
      name: {{ .creds.existingSecret | quote }}
      key: {{ .creds.accessKeyIdKey | default "AWS_ACCESS_KEY_ID" | quote }}
- name: {{ printf "%sAWS_SECRET_ACCESS_KEY" $p }}
  valueFrom:
    secretKeyRef:
      name: {{ .creds.existingSecret | quote }}
      key: {{ .creds.secretAccessKeyKey | default "AWS_SECRET_ACCESS_KEY" | quote }}
{{- end }}
{{- end }}

{{/* The vault_cluster label of the release's metrics (and of its alert rules' selector). */}}
{{- define "vault-ops.vaultClusterName" -}}
{{- .Values.metrics.vaultClusterName | default .Release.Name -}}
{{- end }}

{{/* The alert rules' label matchers: the release's own cluster, plus monitoring.prometheusRule.selector. */}}
{{- define "vault-ops.metricsSelector" -}}
{{- $own := printf "vault_cluster=%q" (include "vault-ops.vaultClusterName" .) -}}
{{- with .Values.monitoring.prometheusRule.selector }}{{ printf "%s,%s" $own . }}{{ else }}{{ $own }}{{ end -}}
{{- end }}

{{/* The kind of a store URL: s3, az or gs; empty for anything else. */}}
{{- define "vault-ops.storeKind" -}}
{{- $u := toString . -}}
{{- if regexMatch "^s3://[^/]+" $u }}s3{{ else if regexMatch "^az://[^/]+" $u }}az{{ else if regexMatch "^gs://[^/]+" $u }}gs{{ end -}}
{{- end }}

{{/*
Check one store and the credentials a job uses for it (dict what, s, creds); fail naming the value
and the accepted forms. Credentials are Secret references only: for az:// and gs:// one key of the
Secret is mounted as a file.
*/}}
{{- define "vault-ops.validateStore" -}}
{{- $kind := include "vault-ops.storeKind" .s.url -}}
{{- if not $kind -}}
{{- fail (printf "%s.url %q: expected s3://bucket/prefix, az://container/prefix or gs://bucket/prefix" .what (toString .s.url)) -}}
{{- end -}}
{{- $c := .creds | default dict -}}
{{- $fileKeys := list "azureAccountKeyKey" "azureSasKey" "azureConnectionStringKey" "gcsServiceAccountKeyKey" -}}
{{- if $c.existingSecret -}}
{{- $set := list -}}
{{- range $fileKeys }}{{ if index $c . }}{{ $set = append $set . }}{{ end }}{{ end -}}
{{- if eq $kind "az" -}}
{{- if or (ne (len $set) 1) $c.gcsServiceAccountKeyKey -}}
{{- fail (printf "%s: an az:// store's Secret %s is mounted as a file: set exactly one of azureAccountKeyKey (account key), azureSasKey (SAS token) or azureConnectionStringKey (connection string) to the Secret's key" .what $c.existingSecret) -}}
{{- end -}}
{{- else if eq $kind "gs" -}}
{{- if or (ne (len $set) 1) (not $c.gcsServiceAccountKeyKey) -}}
{{- fail (printf "%s: a gs:// store's Secret %s is mounted as a file: set gcsServiceAccountKeyKey to the Secret's key holding the service-account key JSON (and no azure* key)" .what $c.existingSecret) -}}
{{- end -}}
{{- else if $set -}}
{{- fail (printf "%s: %s apply to az:// or gs:// stores; an s3:// store's Secret holds accessKeyIdKey and secretAccessKeyKey" .what (join ", " $set)) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $kind "az") (not (.s.azure | default dict).account) (not (and $c.existingSecret $c.azureConnectionStringKey)) -}}
{{- fail (printf "%s.azure.account is required for az:// (the storage account), unless the credentials are a connection string (azureConnectionStringKey)" .what) -}}
{{- end -}}
{{- end }}

{{/* The credentials file of a store (dict s, creds): "SECRETKEY FILE ENVVAR", or empty (none mounted). */}}
{{- define "vault-ops.credentialFile" -}}
{{- $kind := include "vault-ops.storeKind" .s.url -}}
{{- $c := .creds | default dict -}}
{{- if $c.existingSecret -}}
{{- if and (eq $kind "az") $c.azureAccountKeyKey -}}{{ printf "%s azure-account-key VAULT_OPS_AZURE_KEY_FILE" $c.azureAccountKeyKey }}
{{- else if and (eq $kind "az") $c.azureSasKey -}}{{ printf "%s azure-sas VAULT_OPS_AZURE_SAS_FILE" $c.azureSasKey }}
{{- else if and (eq $kind "az") $c.azureConnectionStringKey -}}{{ printf "%s azure-connection-string VAULT_OPS_AZURE_CONNECTION_STRING_FILE" $c.azureConnectionStringKey }}
{{- else if and (eq $kind "gs") $c.gcsServiceAccountKeyKey -}}{{ printf "%s gcs-service-account.json VAULT_OPS_GCS_CREDENTIALS_FILE" $c.gcsServiceAccountKeyKey }}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
The Azure / GCS environment of a store (dict s, creds, prefix, dir): account and endpoint, and the
variable naming its mounted credentials file. S3 stores have none here.
*/}}
{{- define "vault-ops.cloudStoreEnv" -}}
{{- $kind := include "vault-ops.storeKind" .s.url -}}
{{- $p := .prefix -}}
{{- if eq $kind "az" }}
{{- $az := .s.azure | default dict }}
{{- with $az.account }}
- name: {{ printf "%sAZURE_STORAGE_ACCOUNT" $p }}
  value: {{ . | quote }}
{{- end }}
{{- with $az.endpoint }}
- name: {{ printf "%sVAULT_OPS_AZURE_ENDPOINT" $p }}
  value: {{ . | quote }}
{{- end }}
{{- else if eq $kind "gs" }}
{{- with (.s.gcs | default dict).endpoint }}
- name: {{ printf "%sVAULT_OPS_GCS_ENDPOINT" $p }}
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- $file := include "vault-ops.credentialFile" . }}
{{- if $file }}
{{- $parts := splitList " " $file }}
- name: {{ printf "%s%s" $p (index $parts 2) }}
  value: {{ printf "%s/%s" .dir (index $parts 1) | quote }}
{{- end }}
{{- end }}

{{/* A job's workload identity: its serviceAccount.workloadIdentity over the top-level one (dict root, key). */}}
{{- define "vault-ops.workloadIdentity" -}}
{{- $job := index .root.Values.jobs .key -}}
{{- $own := deepCopy (($job.serviceAccount | default dict).workloadIdentity | default dict) -}}
{{- toYaml (merge $own (deepCopy (.root.Values.workloadIdentity | default dict))) -}}
{{- end }}

{{/* The endpoint a store is read from (dict s): what the verify job's NetworkPolicy must let it reach. */}}
{{- define "vault-ops.storeEndpoint" -}}
{{- $kind := include "vault-ops.storeKind" .s.url -}}
{{- if eq $kind "az" -}}
{{- (.s.azure | default dict).endpoint | default (printf "https://%s.blob.core.windows.net" ((.s.azure | default dict).account | default "ACCOUNT")) -}}
{{- else if eq $kind "gs" -}}
{{- (.s.gcs | default dict).endpoint | default "https://storage.googleapis.com" -}}
{{- else -}}
{{- $s3 := .s.s3 | default dict -}}
{{- $s3.endpoint | default (ternary (printf "https://s3.%s.amazonaws.com" $s3.region) "https://s3.amazonaws.com" (not (empty $s3.region))) -}}
{{- end -}}
{{- end }}
