#!/usr/bin/env bash
# Installs what bench/shipments.mjs needs beyond the workspace, on a bare Debian machine. The
# harness does the same by itself when something is missing; this is for doing it ahead of time.
#   - PostgreSQL from Debian's packages (initdb/pg_ctl under /usr/lib/postgresql/<ver>/bin)
#   - the Emmett peer's npm packages, from its own lockfile (not a workspace member)
#   - the workspace build (libs' dist/)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
  else
    echo "PostgreSQL is missing: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
fi
npm ci --prefix bench/peers/emmett --no-audit --no-fund
npm run build
