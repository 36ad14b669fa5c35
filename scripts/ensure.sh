#!/usr/bin/env bash
# Installs what vidpipe needs and is missing, so `npm run demo` and `npm test` work on a fresh
# machine that has only Node 20 and npm:
#   - npm packages from the lockfile (including the Node 22 runtime from the `node` package);
#   - the command line's bundle in dist/cli, when a source changed since it was built;
#   - ffmpeg/ffprobe from Debian;
#   - with --test: xmllint (MPD schema checks), Chromium (playback tests), redis-server, packer
#     (`packer validate` of the worker AMI) and systemd (`systemd-analyze verify` of its units) from
#     Debian, and a Redis on 127.0.0.1:6379 unless VIDPIPE_TEST_REDIS_URL points elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=false
[ "${1:-}" = "--test" ] && for_tests=true

say() { echo "vidpipe: $*" >&2; }

# npm packages: (re)install when missing or when the lockfile changed since the last install.
stamp=node_modules/.vidpipe-lockfile-hash
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/node ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

# The command line's bundle (dist/cli), rebuilt when a source is newer (scripts/buildCli.ts).
node_modules/.bin/node scripts/buildCli.ts

# Debian packages.
missing=()
{ command -v ffmpeg && command -v ffprobe; } >/dev/null || missing+=(ffmpeg)
if $for_tests; then
  command -v xmllint >/dev/null || missing+=(libxml2-utils)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v packer >/dev/null || missing+=(packer)
  command -v systemd-analyze >/dev/null || missing+=(systemd)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    say "please install these Debian packages first: ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]} with apt-get…"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A Redis for the tests (the Redis suites and the multi-process fleet tests).
if $for_tests && [ -z "${VIDPIPE_TEST_REDIS_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  say "starting redis-server on 127.0.0.1:6379…"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --logfile /tmp/vidpipe-test-redis.log
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
fi
