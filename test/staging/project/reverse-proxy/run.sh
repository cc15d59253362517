#!/bin/sh
# Stand-in for Traefik: an API/metrics endpoint on 127.0.0.1:$PROXY_PORT, a SIGHUP that reloads
# (the runbook's "Reload Traefik" step sends one after renewing certificates), and the host's real
# certbot in PATH working on /etc/letsencrypt (= /letsencrypt).
set -u

log() { echo "time=\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" level=info msg=\"$*\""; }

www=/tmp/www
mkdir -p "$www/api/http"
printf 'OK' >"$www/ping"
cat >"$www/api/http/routers" <<'JSON'
[{"name":"api@docker","rule":"Host(`brainbytes.example.com`) && PathPrefix(`/api`)","service":"adonisjs","status":"enabled","tls":{"certResolver":"letsencrypt"}},{"name":"web@docker","rule":"Host(`brainbytes.example.com`)","service":"nextjs","status":"enabled","tls":{"certResolver":"letsencrypt"}}]
JSON
cat >"$www/api/http/services" <<JSON
[{"name":"adonisjs@docker","loadBalancer":{"servers":[{"url":"http://127.0.0.1:${APP_PORT:-3333}"}]},"status":"enabled"},{"name":"nextjs@docker","loadBalancer":{"servers":[{"url":"http://127.0.0.1:${NEXT_PORT:-3000}"}]},"status":"enabled"}]
JSON
printf '[]\n' >"$www/api/http/middlewares"
{
  printf '{"routers":'; cat "$www/api/http/routers"
  printf ',"services":'; cat "$www/api/http/services"
  printf ',"middlewares":[]}\n'
} >"$www/api/rawdata"
cat >"$www/metrics" <<'PROM'
# HELP traefik_entrypoint_requests_total How many HTTP requests processed on an entrypoint.
# TYPE traefik_entrypoint_requests_total counter
traefik_entrypoint_requests_total{code="200",entrypoint="websecure",method="GET",protocol="http"} 18342
traefik_entrypoint_requests_total{code="502",entrypoint="websecure",method="GET",protocol="http"} 3
PROM

# busybox's own: the host's /usr is mounted over the image's /usr (for certbot).
busybox httpd -f -p "127.0.0.1:${PROXY_PORT:?PROXY_PORT is not set}" -h "$www" &
httpd_pid=$!

trap 'log "received SIGHUP, reloading configuration"; log "Configuration reloaded"' HUP
trap 'log "Stopping server gracefully"; kill "$httpd_pid" 2>/dev/null; exit 0' TERM INT

log "Configuration loaded from flags."
log "Traefik version 2.11.0 (staging)"
log "traefik started"
sleep 0.2
kill -0 "$httpd_pid" 2>/dev/null || { log "cannot listen on 127.0.0.1:$PROXY_PORT"; exit 1; }

while :; do
  # A trapped SIGHUP interrupts `wait`; the loop simply goes on.
  sleep 30 &
  wait $!
  kill -0 "$httpd_pid" 2>/dev/null || { log "API server exited"; exit 1; }
done
