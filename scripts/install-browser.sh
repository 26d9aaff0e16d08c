#!/usr/bin/env bash
# Installs Debian's Chromium for the chat page's browser test (test/chat-page.test.ts drives
# /usr/bin/chromium with playwright-core). Idempotent: does nothing when it is already there.
# Needs root and apt (Debian 12); CI runs it before the tests.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { echo "install-browser: $*" >&2; }

if [ -x /usr/bin/chromium ]; then
  log "chromium already installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
[ "$EUID" -eq 0 ] || { log "ERROR: chromium is missing; run 'sudo $0'"; exit 1; }
cmd=(apt-get install -y -q --no-install-recommends chromium)
log "${cmd[*]}"
# A fresh machine may have no package lists yet, or stale ones: update once and retry.
"${cmd[@]}" >&2 || { log "install failed; retrying after apt-get update"
  apt-get update -q >&2 || { log "ERROR: apt-get update failed (is the Debian mirror reachable?)"; exit 1; }
  "${cmd[@]}" >&2 || { log "ERROR: apt-get install chromium failed"; exit 1; }; }
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
