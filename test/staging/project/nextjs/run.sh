#!/bin/sh
# Stand-in for the Next.js frontend: a static page on 127.0.0.1:$NEXT_PORT.
set -u

log() { echo "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"; }

www=/tmp/www
mkdir -p "$www"
printf '<!doctype html><title>BrainBytes</title><h1>BrainBytes AI Tutoring (staging)</h1><p>version %s</p>\n' \
  "${APP_VERSION:-staging}" >"$www/index.html"

log "  Next.js 14.2.3 (staging) brainbytes-web ${APP_VERSION:-staging}"
# A broken release (STAGING_FAULT from the image): it keeps running but logs an error at start.
[ "${STAGING_FAULT:-}" != startup ] || log "Error: Failed to load chunk app/page-${APP_VERSION:-staging}.js (build is incomplete)"
log "  - Local: http://127.0.0.1:${NEXT_PORT:?NEXT_PORT is not set}"

httpd -f -p "127.0.0.1:$NEXT_PORT" -h "$www" &
httpd_pid=$!
trap 'log "received SIGTERM, exiting"; kill "$httpd_pid" 2>/dev/null; exit 0' TERM INT

sleep 0.2
kill -0 "$httpd_pid" 2>/dev/null || { log "Error: listen EADDRINUSE 127.0.0.1:$NEXT_PORT"; exit 1; }
log "  Ready in 212ms"

while :; do
  sleep 30 &
  wait $!
  kill -0 "$httpd_pid" 2>/dev/null || { log "Error: server exited"; exit 1; }
done
