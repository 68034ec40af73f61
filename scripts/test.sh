#!/usr/bin/env bash
# The whole suite: unit tests, kernel tests in network namespaces, shell hook tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "npm test: the suite needs root (network namespaces, conntrack, raw sockets); run it as root." >&2
  exit 1
fi
# setup.sh installs Debian and npm packages and builds; with CTSYNC_SKIP_SETUP only build.
if [ -n "${CTSYNC_SKIP_SETUP:-}" ]; then npm run --silent build; else scripts/setup.sh; fi
npx vitest run "$@"
if ls test/bats/*.bats >/dev/null 2>&1; then
  npx bats test/bats
fi
