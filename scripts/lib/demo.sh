# Sourced by scripts/demo and scripts/cluster: what both demos share. The demo's credentials,
# the reference case service with its demo messages, a staff account per demo authority, and
# the summary printed once everything runs. Expects to run from the repository with
# scripts/env.sh sourced; every process started is stopped on exit.

pids=()
demo_cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap demo_cleanup EXIT INT TERM

# Fresh random credentials for this machine's demo, kept out of git (data/ is ignored); and the
# settings of the portal and the case service that follow from them and the ports.
# Usage: demo_settings PUBLIC_PORT CASE_SERVICE_PORT
demo_settings() {
  mkdir -p data
  if [ ! -f data/demo.env ]; then
    python - > data/demo.env <<'PY'
import secrets
print(f"CASESVC_PORTAL_KEY={secrets.token_urlsafe(32)}")
print(f"DEMO_AUTHORITY_KEY={secrets.token_urlsafe(32)}")
print(f"DEMO_OTHER_AUTHORITY_KEY={secrets.token_urlsafe(32)}")
print(f"DEMO_STAFF_PASSWORD={secrets.token_urlsafe(12)}")
PY
    chmod 600 data/demo.env
  fi
  # One staff account per demo authority: an older demo.env has no password yet.
  grep -q '^DEMO_STAFF_PASSWORD=' data/demo.env \
    || echo "DEMO_STAFF_PASSWORD=$(python -c 'import secrets; print(secrets.token_urlsafe(12))')" >> data/demo.env
  set -a; . data/demo.env; set +a
  case_port=$2
  export CASESVC_AUTHORITY_KEYS="abh-potsdam:${DEMO_AUTHORITY_KEY},abh-cottbus:${DEMO_OTHER_AUTHORITY_KEY}"
  export CASESVC_PORTAL_BASE_URL="${PORTAL_PUBLIC_URL:-http://localhost:$1}"
  export PORTAL_PUBLIC_URL="$CASESVC_PORTAL_BASE_URL"
  export PORTAL_PORT="$1"
  export PORTAL_CASE_SERVICE_URL="http://127.0.0.1:${case_port}"
  export PORTAL_CASE_SERVICE_KEY="$CASESVC_PORTAL_KEY"
}

# The case service with the demo messages (their links in $links), and the staff accounts
# (kept across restarts).
demo_case_service() {
  python -m casesvc serve --host 127.0.0.1 --port "$case_port" > data/casesvc.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:${case_port}/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
  links=$(python -m casesvc seed-demo)
  for account in potsdam:abh-potsdam cottbus:abh-cottbus; do
    printf '%s\n' "$DEMO_STAFF_PASSWORD" | python -m portal.staff create-user --username "staff-${account%%:*}" \
      --authority "${account#*:}" --display-name "Demo ${account%%:*}" >/dev/null 2>&1 || true  # exists already
  done
}

# Usage: demo_summary LOGS
demo_summary() {
  echo
  echo "Rückkanal-Portal is running at ${PORTAL_PUBLIC_URL}"
  echo "Demo reply links, one per message kind:"
  printf '%s\n' "$links"
  echo
  echo "Authority API of the demo (abh-potsdam): http://127.0.0.1:${case_port}/api/v1  (OpenAPI: /docs)"
  echo "  credential: Authorization: Bearer ${DEMO_AUTHORITY_KEY}"
  echo "  e.g. curl -H 'Authorization: Bearer ${DEMO_AUTHORITY_KEY}' http://127.0.0.1:${case_port}/api/v1/replies"
  echo "Staff area: ${PORTAL_PUBLIC_URL}/staff  (user staff-potsdam or staff-cottbus, password ${DEMO_STAFF_PASSWORD})"
  echo "Logs: $1. Stop with Ctrl-C."
}
