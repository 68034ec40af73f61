#!/usr/bin/env bash
# The ctsync failover demo: a stateful firewall pair in network namespaces,
# 10 long-lived TCP streams and a passive FTP session (through the ftp
# conntrack helper) through the master, the master crashes; once
# with connection-state replication (ctsyncd with its embedded VRRP when it
# works, else keepalived + ctsyncd, else keepalived + conntrackd),
# once without. Writes demo-out/failover.svg and demo-out/failover.json.
# Runs as root on Debian 12. Extra arguments go to dist/lab/demo.js
# (--streams N --flows N --sync auto|ctsyncd-vrrp|ctsyncd|conntrackd --advert S --observe MS --out DIR --no-ftp).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: must run as root (network namespaces, nftables, keepalived)" >&2
  exit 1
fi
[ -n "${CTSYNC_SKIP_SETUP:-}" ] || scripts/setup.sh
# Whatever happens, leave no namespaces or daemons of this demo behind.
trap 'node dist/lab/demo.js --sweep >/dev/null 2>&1 || true' EXIT
node dist/lab/demo.js "$@"
