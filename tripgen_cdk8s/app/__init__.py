"""The application model: what every app's environments share, whatever builds their charts.

:mod:`.model` (Project, Guardrails, GitOps, NodePool), :mod:`.loader` (overlays as real modules),
:mod:`.pipeline` (synthesis, checks, files), :mod:`.guardrails`, :mod:`.gitops` (Argo CD),
:mod:`.releases` (``releases.yaml``), :mod:`.overrides` (``--set``), :mod:`.capacity` and
:mod:`.topology` (the environment README).  It imports the generic library and never an app layer.
"""
