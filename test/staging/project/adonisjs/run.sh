#!/bin/sh
# Stand-in for the AdonisJS API: /health on 127.0.0.1:$APP_PORT and a steady trickle of logs.
# Two start-up lines leak secrets on purpose (APP_KEY and a bearer token): the bot must redact
# them before anything reaches Discord, and tests check that it does.
set -u

log() { echo "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"; }

www=/tmp/www
mkdir -p "$www"
# APP_VERSION and STAGING_FAULT come from the image (test/staging/parts/registry builds its versions).
version=${APP_VERSION:-staging}
printf '{"name":"brainbytes-api","version":"%s"}\n' "$version" >"$www/index.html"
if [ "${STAGING_FAULT:-}" = startup ]; then
  # A broken release: it runs, but logs an error and has no /health (404), so it turns unhealthy.
  log "ERROR (app): migration 2026_11_29_add_sessions failed: column \"tutor_id\" does not exist (version $version)"
else
  printf '{"status":"ok"}\n' >"$www/health"
fi

log "INFO (app): starting AdonisJS HTTP server $version (NODE_ENV=production)"
log "DEBUG (app): booting with APP_KEY=${APP_KEY:-}"
log "DEBUG (http): upstream request headers: Authorization: Bearer ${INTERNAL_API_TOKEN:-}"
log "INFO (db): connected to mongodb at 127.0.0.1:27017/brainbytes"

httpd -f -p "127.0.0.1:${APP_PORT:?APP_PORT is not set}" -h "$www" &
httpd_pid=$!

# `docker restart` sends SIGTERM and waits 10 s before SIGKILL: answer it at once.
trap 'log "INFO (app): received SIGTERM, shutting down"; kill "$httpd_pid" 2>/dev/null; exit 0' TERM INT

sleep 0.2
kill -0 "$httpd_pid" 2>/dev/null || { log "ERROR (app): cannot listen on 127.0.0.1:$APP_PORT"; exit 1; }
log "INFO (app): started HTTP server on http://127.0.0.1:$APP_PORT"

while :; do
  kill -0 "$httpd_pid" 2>/dev/null || { log "ERROR (app): HTTP server exited"; exit 1; }
  log "INFO (http): GET /health 200 0.4ms"
  # Background sleep + wait: a trapped signal interrupts `wait` immediately, not `sleep`.
  sleep 3 &
  wait $!
done
