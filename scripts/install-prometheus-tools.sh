#!/usr/bin/env bash
# Install promtool and amtool (Debian packages `prometheus` and `prometheus-alertmanager`) for the
# tests that run the real alert rules and routing tree through them.
#
# - Only the command-line tools are used; the packages' daemons must not run. A policy-rc.d that
#   denies every start is put in place for the install (and removed after, unless one was there),
#   so no service is started even where invoke-rc.d could start one.
# - apt-get needs root (as on CI; through sudo elsewhere, e.g. hosted runners). `apt-get update`
#   only when the lists do not know the packages, or when an install fails on a stale list (then it
#   is retried once).
# Idempotent: with both tools on PATH it only prints their versions.
set -euo pipefail
START=$SECONDS

if command -v promtool >/dev/null && command -v amtool >/dev/null; then
  echo "promtool already installed: $(promtool --version 2>&1 | head -n1)"
  echo "amtool already installed: $(amtool --version 2>&1 | head -n1)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
sudo=""; [[ $EUID -eq 0 ]] || sudo="sudo"
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\n# installed by tripgen-cdk8s scripts/install-prometheus-tools.sh: start no service\nexit 101\n' \
    | $sudo tee "$POLICY" >/dev/null
  $sudo chmod 755 "$POLICY"
  OWN_POLICY=1
fi
cleanup() { if [[ "$OWN_POLICY" == 1 ]]; then $sudo rm -f "$POLICY"; fi; }
trap cleanup EXIT

PACKAGES=(prometheus prometheus-alertmanager)
if ! apt-cache show "${PACKAGES[@]}" >/dev/null 2>&1; then
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
if ! $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; then
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi

# A system without policy-rc.d support (systemd in a container) may still have started them: stop
# exactly these two units, and keep them from starting at boot.
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  $sudo systemctl disable --now prometheus.service prometheus-alertmanager.service >/dev/null 2>&1 || true
fi

echo "installed promtool: $(promtool --version 2>&1 | head -n1)"
echo "installed amtool: $(amtool --version 2>&1 | head -n1)"
echo "install-prometheus-tools: done in $((SECONDS - START)) s"
