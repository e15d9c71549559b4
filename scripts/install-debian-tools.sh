#!/usr/bin/env bash
# Install the Debian tools the tests drive (root as on CI, or sudo on a hosted runner): strace (crash tests kill synth at each
# rename with `strace -e inject=...:signal=KILL`), chattr from e2fsprogs (a read-only --out) and
# docker-registry, the CNCF distribution registry the publish tests start on loopback themselves
# (tests/registry.py; the package's systemd unit is not used and not needed).
# Idempotent: a tool already on PATH is not reinstalled.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
declare -A PACKAGE_OF=([strace]=strace [chattr]=e2fsprogs [docker-registry]=docker-registry)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$tool]}")
done
if (( ${#missing[@]} )); then
  sudo=""; [[ $EUID -eq 0 ]] || sudo="sudo"
  apt_install() { $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
  apt_install || { $sudo apt-get update -qq && apt_install; }
  echo "installed ${missing[*]}"
else
  echo "strace, chattr and docker-registry already installed"
fi
