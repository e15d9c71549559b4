#!/usr/bin/env bash
# Set up a fresh checkout: the project venv (.venv) with tripgen-cdk8s installed editable.
#   scripts/setup.sh        -> what `python main.py synth` needs (the venv, and the pinned helm
#                              binary .tools/bin/helm: synth renders the snapshots with it)
#   scripts/setup.sh test   -> also the test dependencies, the pinned helm binary (.tools/bin/helm)
#                              checkov in its own venv (.venv-checkov) and mermaid-cli with
#                              Debian chromium (.tools/mermaid) for the diagram tests, Debian's
#                              strace and chattr for the crash and read-only tests, and promtool
#                              and amtool (Debian packages, no daemon started) for the alerting tests,
#                              and kube-apiserver and etcd built from the Go module proxy for the
#                              cluster tests (scripts/install-kube.sh; reused while its inputs are unchanged),
#                              and Argo CD's controller and repo server, built the same way, with Debian's
#                              redis-server, for the sync test (scripts/install-argocd.sh)
# Idempotent: a second run only checks what is there.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
command -v node >/dev/null || { echo "ERROR: Node.js (>= 18) is required: cdk8s runs on jsii" >&2; exit 1; }

[[ -x .venv/bin/python ]] || python3 -m venv .venv
pip_install() {
  # This machine's pip config lists local mirrors that may not exist; keep their warnings out of the log.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
  return "${PIPESTATUS[0]}"
}
if [[ "${1:-}" == "test" ]]; then
  pip_install -e '.[test]'
  scripts/install-helm.sh
  scripts/install-checkov.sh
  scripts/install-mermaid.sh
  scripts/install-debian-tools.sh
  scripts/install-actionlint.sh
  scripts/install-prometheus-tools.sh
  scripts/install-kube.sh
  scripts/install-argocd.sh
else
  pip_install -e .
  scripts/install-helm.sh
fi
