#!/usr/bin/env bash
# The whole suite: unit tests, kernel tests in network namespaces, shell hook tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "npm test: the suite needs root (network namespaces, conntrack, raw sockets); run it as root." >&2
  exit 1
fi
[ -n "${CTSYNC_SKIP_SETUP:-}" ] || scripts/setup.sh
npx vitest run "$@"
if ls test/bats/*.bats >/dev/null 2>&1; then
  npx bats test/bats
fi
