#!/usr/bin/env bash
# Installs everything ctsync needs on Debian 12: system packages and npm packages,
# then builds the native addon and the TypeScript. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PKGS=(conntrack conntrackd keepalived dbus iproute2 nftables iptables tcpdump resource-agents pacemaker-cli-utils
          python3 make g++ libxml2-utils procps psmisc kmod)

if [ "$(id -u)" -ne 0 ]; then
  echo "ctsync setup: must run as root (installs Debian packages, and the tests create network namespaces)." >&2
  echo "missing privileges: run 'sudo $0'" >&2
  exit 1
fi

missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "ctsync setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# keepalived and conntrackd are references for the tests; they must not run as services here.
for svc in keepalived conntrackd; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
  pkill -x "$svc" >/dev/null 2>&1 || true
done

for mod in nf_conntrack nf_conntrack_netlink nf_conntrack_ftp nf_nat xt_cluster; do
  modprobe "$mod" >/dev/null 2>&1 || true
done

if ! command -v node >/dev/null 2>&1; then
  echo "ctsync setup: Node.js >= 20 is required (apt-get install nodejs npm)" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -f build/Release/ctsock.node ]; then
  # npm install (not npm ci): npm 11 drops other platforms' optional packages from the
  # lockfile and then refuses `npm ci`; `npm install` still installs the pinned versions.
  echo "ctsync setup: npm install"
  npm install --no-audit --no-fund
fi
npm run --silent build
echo "ctsync setup: ready"
