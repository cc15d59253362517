# shellcheck shell=bash
# Shared by test/staging/up and test/staging/down: paths, settings and small helpers.
# Everything the staging host owns lives under STAGING_DIR, so `down` can stop exactly what `up`
# started (by pid) and nothing else on this machine is touched.

STAGING_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Absolute, so the paths written into sshd_config, the deploy user's login shell and env.json
# keep working whatever directory a client runs from.
STAGING_DIR=$(realpath -m "${STAGING_DIR:-/var/lib/opsbot-staging}")
STAGING_SSH_PORT=${STAGING_SSH_PORT:-2222}
STAGING_APP_PORT=${STAGING_APP_PORT:-3333}
STAGING_NEXT_PORT=${STAGING_NEXT_PORT:-3000}
STAGING_PROXY_PORT=${STAGING_PROXY_PORT:-8080}
export STAGING_DIR STAGING_SSH_PORT STAGING_APP_PORT STAGING_NEXT_PORT STAGING_PROXY_PORT

IMAGE=opsbot-staging/busybox:latest
DEPLOY_USER=${STAGING_USER:-deploy}
[[ $DEPLOY_USER =~ ^[a-z][a-z0-9-]{0,30}$ ]] || { echo "[staging] error: not a user name: $DEPLOY_USER" >&2; exit 1; }
# A fleet member (parts/fleet) is a further host beside the main one: its own engine, sshd, user,
# host key and project, but no pebble and no registry of its own; it pulls from the main host's
# registry and seeds certificates from the main host's pebble account (STAGING_MAIN_DIR).
STAGING_MAIN_DIR=${STAGING_MAIN_DIR:-}
# Names the engine's containerd namespaces: several engines may share a system containerd.
CONTAINERD_NS=opsbot-${STAGING_NAME:-staging}
COMPOSE_FILE_REL=docker/compose.prod.yml
COMPOSE_PROJECT=brainbytes
SERVICES=(adonisjs nextjs reverse-proxy mongo watchtower)

DOCKER_SOCK=$STAGING_DIR/docker.sock
DOCKERD_PIDFILE=$STAGING_DIR/docker.pid
DOCKERD_LOG=$STAGING_DIR/dockerd.log
DOCKER_DATA=$STAGING_DIR/docker-data
DOCKER_EXEC=$STAGING_DIR/docker-exec
SSH_DIR=$STAGING_DIR/ssh
SSHD_CONFIG=$SSH_DIR/sshd_config
# Next to docker.pid: tests read both (test/e2e/ssh-drop.test.ts kills sshd sessions by parent).
SSHD_PIDFILE=$STAGING_DIR/sshd.pid
SSHD_LOG=$SSH_DIR/sshd.log
HOST_KEY=$SSH_DIR/ssh_host_ed25519_key
KNOWN_HOSTS=$SSH_DIR/known_hosts
DEPLOY_KEY=$STAGING_DIR/deploy_ed25519
LOGGING_SHELL=$STAGING_DIR/bin/logging-shell
COMMANDS_LOG=$STAGING_DIR/commands.log
# The deploy key's forced command (deploy/opsbot-guard, installed here by up) and its log.
GUARD_SRC=$(cd "$STAGING_SRC/../.." && pwd)/deploy/opsbot-guard
GUARD=$STAGING_DIR/bin/opsbot-guard
GUARD_LOG=$STAGING_DIR/guard.log
PROJECT_DIR=$STAGING_DIR/project
# The swarm engine of parts/swarm (in its own network namespace); the deploy key may name it
# with `docker --host=unix://…` (OPSBOT_GUARD_DOCKER_HOSTS in the forced command).
SWARM_SOCK=$STAGING_DIR/swarm/docker.sock
ENV_JSON=$STAGING_DIR/env.json

# Every docker / docker-compose call of these scripts goes to the staging engine, never to a
# system Docker that other work on this machine may use.
export DOCKER_HOST=unix://$DOCKER_SOCK
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH COMPOSE_FILE COMPOSE_PROJECT_NAME

log() { printf '[staging] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the pid recorded in PIDFILE when that process is alive and its command line contains
# NEEDLE (our socket or config path): a stale pidfile, or a pid reused by an unrelated process,
# must never make us skip a start or kill a stranger.
our_pid() {
  local pidfile=$1 needle=$2 pid cmdline
  [[ -r $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n $pid ]] || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmdline == *"$needle"* ]] || return 1
  echo "$pid"
}

# A process that exited but was not reaped yet (a zombie) counts as gone: on some machines PID 1
# reaps orphans late, and `kill -0` would still succeed on them.
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# SIGTERM, then SIGKILL after TIMEOUT seconds; by pid only.
stop_pid() {
  local pid=$1 what=$2 timeout=${3:-15} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    alive "$pid" || { log "stopped $what (pid $pid)"; return 0; }
    sleep 0.1
  done
  log "$what (pid $pid) ignored SIGTERM for ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# Pids whose parent is PID (from /proc: procps is not on every fresh machine).
children_of() {
  local stat f ppid
  for f in /proc/[0-9]*/stat; do
    { read -r stat <"$f"; } 2>/dev/null || continue
    stat=${stat##*) }
    read -r _ ppid _ <<<"$stat"
    [[ $ppid == "$1" ]] && { f=${f#/proc/}; echo "${f%/stat}"; }
  done
  return 0
}

# Stops containerd-shim processes of our engine (their command line names our exec root), and
# the container each one still runs (its child, the container's PID 1). With "idle", only shims
# whose container is gone: a shim that lost its containerd together with its state can never be
# cleaned up otherwise, while one that still runs a container is adopted by the next containerd.
stop_leftover_shims() {
  local f pid cmdline children child
  for f in /proc/[0-9]*/cmdline; do
    cmdline=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    [[ $cmdline == *containerd-shim* && $cmdline == *" -address $DOCKER_EXEC/"* ]] || continue
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    children=$(children_of "$pid")
    [[ ${1:-} == idle && -n $children ]] && continue
    for child in $children; do
      stop_pid "$child" "leftover container process" 5
    done
    stop_pid "$pid" "leftover containerd-shim" 5
  done
  return 0
}

docker_ready() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

compose() { (cd "$PROJECT_DIR" && docker-compose -f "$COMPOSE_FILE_REL" "$@"); }

# `service state health` for every container of the project, found by compose labels (names
# depend on the project name docker-compose v1 guessed; labels do not).
project_states() {
  local ids
  ids=$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT")
  [[ -n $ids ]] || return 0
  # shellcheck disable=SC2086
  docker inspect --format \
    '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}' \
    $ids
}

json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
