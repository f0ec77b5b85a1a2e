#!/usr/bin/env bash
# The one test command (`npm test`, also what .ci/run calls): installs what a fresh machine lacks
# (npm dependencies; Debian's redis-server, chromium, cmake), starts Redis, builds everything, runs every
# package's tests one package at a time (2-core machines). PostgreSQL is embedded unless
# TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v cmake >/dev/null || missing+=(cmake)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

export REDIS_URL_FOR_TESTS="${REDIS_URL_FOR_TESTS:-redis://127.0.0.1:6379}"
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi

npx turbo run build --output-logs=errors-only
npx turbo run test --concurrency=1 "$@"
