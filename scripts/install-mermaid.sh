#!/usr/bin/env bash
# Install the Mermaid CLI (mmdc) into <repo>/.tools/mermaid/ and a browser for it to render with.
#
# - @mermaid-js/mermaid-cli and puppeteer are pinned (the newest releases that still run on
#   Node 20: mermaid-cli 12.x and puppeteer 25.x need Node >= 22) and installed with npm under a
#   local prefix; Puppeteer is told not to download a browser (only package registries are
#   reachable here, and Debian's chromium is used instead).
# - Debian's `chromium` is installed with apt-get when /usr/bin/chromium is missing.
# - .tools/mermaid/puppeteer.json points mmdc at /usr/bin/chromium with the flags it needs to
#   run headless as root in a container without network.
# Idempotent: a second run with everything in place changes nothing.
set -euo pipefail

MERMAID_CLI_VERSION="11.17.0"
PUPPETEER_VERSION="24.43.1"
CHROMIUM="/usr/bin/chromium"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$REPO/.tools/mermaid"
MMDC="$DEST/node_modules/.bin/mmdc"
START=$SECONDS

# 1. The browser (Debian's package; no Puppeteer-managed download).
if [[ ! -x "$CHROMIUM" ]]; then
  export DEBIAN_FRONTEND=noninteractive
  # `apt-get update` only when the package lists don't know chromium, or are stale (the
  # install then fails on a vanished .deb and is retried once after an update).
  if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -qq
  fi
  if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
  echo "installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
else
  echo "chromium already installed: $CHROMIUM"
fi

# 2. mermaid-cli + puppeteer, pinned, under the local prefix.
installed_version() { # installed_version PACKAGE -> version in $DEST/node_modules, or empty
  local pkg_json="$DEST/node_modules/$1/package.json"
  [[ -f "$pkg_json" ]] && node -p "require(process.argv[1]).version" "$pkg_json" 2>/dev/null || true
}
if [[ -x "$MMDC" && "$(installed_version @mermaid-js/mermaid-cli)" == "$MERMAID_CLI_VERSION" \
      && "$(installed_version puppeteer)" == "$PUPPETEER_VERSION" ]]; then
  echo "mermaid-cli already installed: $MMDC ($MERMAID_CLI_VERSION, puppeteer $PUPPETEER_VERSION)"
else
  mkdir -p "$DEST"
  PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=true \
    npm install --prefix "$DEST" --save-exact --no-audit --no-fund --loglevel=error \
      "@mermaid-js/mermaid-cli@$MERMAID_CLI_VERSION" "puppeteer@$PUPPETEER_VERSION"
  echo "installed $MMDC ($MERMAID_CLI_VERSION, puppeteer $PUPPETEER_VERSION)"
fi

# 3. Puppeteer config for mmdc -p (rewritten only when its content differs).
CONFIG="$DEST/puppeteer.json"
WANT='{
  "executablePath": "/usr/bin/chromium",
  "args": [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync"
  ]
}'
if [[ -f "$CONFIG" && "$(cat "$CONFIG")" == "$WANT" ]]; then
  echo "puppeteer config up to date: $CONFIG"
else
  printf '%s\n' "$WANT" > "$CONFIG"
  echo "wrote $CONFIG"
fi

echo "install-mermaid: done in $((SECONDS - START)) s"
