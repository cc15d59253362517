#!/bin/sh
# Stand-in for Watchtower: says it checks for updates every WATCHTOWER_POLL_INTERVAL seconds.
set -u

log() { echo "time=\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" level=info msg=\"$*\""; }

interval=${WATCHTOWER_POLL_INTERVAL:-10}
# Takes 2 s to stop, on purpose ("finishing the current session"): still far below docker's 10 s,
# and it gives tests a window in which a restart is in flight (test/e2e/ssh-drop.test.ts).
trap 'log "Got SIGTERM, finishing the current session"; sleep 2; log "Stopped"; exit 0' TERM INT

log "Watchtower 1.7.1 (staging)"
log "Using no notifications"
log "Checking all containers (except explicitly disabled with label)"
while :; do
  echo "watchtower: checking for updates"
  log "Session done Failed=0 Scanned=5 Updated=0 notify=no"
  sleep "$interval" &
  wait $!
done
