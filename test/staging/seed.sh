#!/usr/bin/env bash
# Writes the generated parts of the staging compose project: the .env with its planted fake
# secrets, the certbot state and the mongo backups. `up` seeds what is missing; resetStaging()
# (staging.ts) re-seeds certificates and backups before each test that needs them.
#
#   seed.sh env PROJECT_DIR           (re)write .env when its content differs; ports come from
#                                     STAGING_APP_PORT / STAGING_NEXT_PORT / STAGING_PROXY_PORT
#   seed.sh letsencrypt PROJECT_DIR   certbot lineages expiring in 10 and 80 days from now
#                                     (letsencrypt-if-stale: only when missing or for another
#                                     pebble account)
#   seed.sh backups PROJECT_DIR       dumps from 1, 2 and 3 days ago + latest.dump
#   seed.sh secrets-json | certs-json  what was planted, as JSON, for env.json
#
# Files are rewritten in place (never the folders themselves): the running containers bind-mount
# these folders and would keep seeing a replaced folder's old inode.
set -euo pipefail

what=$1
project=${2:-}

# The secrets the staging host plants; tests assert that none of them ever reaches Discord.
# up copies them into env.json ("secrets"), so keep the two in one place: here.
declare -A SECRETS=(
  [MONGO_PASSWORD]=staging-mongo-pass-0042
  [APP_KEY]=base64:stagingappkey0042
  [JWT_SECRET]=staging-jwt-0042
  [GHCR_TOKEN]=ghp_staging0042token
  # JWT-shaped ({"alg":"HS256","typ":"JWT"}.{"sub":"staging-service",…}.sig); adonisjs logs it
  # in an Authorization header at start.
  [INTERNAL_API_TOKEN]=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdGFnaW5nLXNlcnZpY2UiLCJpYXQiOjE3OTU0MDAwMDB9.c3RhZ2luZy1zaWduYXR1cmUtMDA0Mg
)
CERTS=(brainbytes.example.com=10 monitoring.brainbytes.example.com=80)
BACKUP_DAYS_AGO=(3 2 1)

case $what in
  env)
    want=$(
      cat <<ENV
# Staging only: fake secrets, planted so tests can prove the bot never shows them.
COMPOSE_PROJECT_NAME=brainbytes
NODE_ENV=production
HOST=127.0.0.1
APP_PORT=${STAGING_APP_PORT:-3333}
NEXT_PORT=${STAGING_NEXT_PORT:-3000}
PROXY_PORT=${STAGING_PROXY_PORT:-8080}
REGISTRY=127.0.0.1:${STAGING_REGISTRY_PORT:-5000}
MONGO_USER=brainbytes
MONGO_PASSWORD=${SECRETS[MONGO_PASSWORD]}
APP_KEY=${SECRETS[APP_KEY]}
JWT_SECRET=${SECRETS[JWT_SECRET]}
GHCR_TOKEN=${SECRETS[GHCR_TOKEN]}
INTERNAL_API_TOKEN=${SECRETS[INTERNAL_API_TOKEN]}
ENV
    )
    if [[ ! -f $project/.env || $(<"$project/.env") != "$want" ]]; then
      printf '%s\n' "$want" >"$project/.env"
    fi
    ln -sfn ../.env "$project/docker/.env"
    chown -h --reference="$project" "$project/.env" "$project/docker/.env"
    chmod 640 "$project/.env"
    ;;
  letsencrypt | letsencrypt-if-stale)
    # Real certbot lineages renewable from pebble (parts/pebble start must have run: it holds the
    # account pebble knows). -if-stale: only when the folder has no lineage or another account.
    pebble=${STAGING_PEBBLE_DIR:-${STAGING_DIR:-$(dirname "$project")}/pebble}
    port=${STAGING_PEBBLE_PORT:-14000}
    if [[ $what == letsencrypt-if-stale && -f $project/letsencrypt/acme-ca.pem ]] &&
      cmp -s <(ls "$pebble/certbot/accounts/127.0.0.1:$port/dir" 2>/dev/null) \
        <(ls "$project/letsencrypt/accounts/127.0.0.1:$port/dir" 2>/dev/null); then
      exit 0
    fi
    python3 "$(dirname "${BASH_SOURCE[0]}")/parts/seed-certs.py" "$project/letsencrypt" "$pebble" "$port" "${CERTS[@]}"
    chown -R --reference="$project" "$project/letsencrypt"
    ;;
  backups)
    BACKUP_DIR=$project/backups sh "$project/mongo/mongodump" staging-seed "${BACKUP_DAYS_AGO[@]}"
    chown -R --reference="$project" "$project/backups"
    ;;
  secrets-json)
    # For env.json: {"NAME":"value",…}
    sep=
    printf '{'
    for name in MONGO_PASSWORD APP_KEY JWT_SECRET GHCR_TOKEN INTERNAL_API_TOKEN; do
      printf '%s"%s":"%s"' "$sep" "$name" "${SECRETS[$name]}"
      sep=,
    done
    printf '}'
    ;;
  certs-json)
    # For env.json: [{"domain":"…","expiresInDays":N},…] as seeded.
    sep=
    printf '['
    for spec in "${CERTS[@]}"; do
      printf '%s{"domain":"%s","expiresInDays":%s}' "$sep" "${spec%%=*}" "${spec#*=}"
      sep=,
    done
    printf ']'
    ;;
  *)
    echo "usage: seed.sh env|letsencrypt|backups PROJECT_DIR" >&2
    exit 2
    ;;
esac
