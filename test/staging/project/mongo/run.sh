#!/bin/sh
# Stand-in for MongoDB: no server, just a process that logs. Backups live in /backups (a folder
# of the project on the host); `mongodump` and `mongorestore` are scripts in PATH.
set -u

log() { echo "{\"t\":{\"\$date\":\"$(date -u +%Y-%m-%dT%H:%M:%S.000+00:00)\"},\"s\":\"I\",\"c\":\"$1\",\"msg\":\"$2\"}"; }

trap 'log CONTROL "Received signal, shutting down"; exit 0' TERM INT

log CONTROL "MongoDB starting (staging stand-in)"
log NETWORK "Waiting for connections on 127.0.0.1:27017"
while :; do
  sleep 15 &
  wait $!
  log STORAGE "WiredTiger checkpoint"
done
