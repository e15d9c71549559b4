{{/*
Image reference: registry/repository@digest when a digest is set, else registry/repository:tag.
*/}}
{{- define "api.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s/%s@%s" .Values.image.registry .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository .Values.image.tag -}}
{{- end -}}
{{- end -}}
