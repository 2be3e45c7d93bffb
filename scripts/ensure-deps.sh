#!/usr/bin/env bash
# Installs what this project needs and a fresh machine lacks: Debian packages
# (redis-server, dovecot-imapd, openssl) through apt-get, and npm packages
# through `npm ci` when node_modules is missing or older than the lock file.
# Used by `npm test`, `npm run demo` and .ci/run; quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
for extra in "$@"; do
  case "$extra" in
    docker-compose) command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose) ;;
    chromium) command -v chromium >/dev/null 2>&1 || need+=(chromium) ;;
    # promtool (checks /metrics in CI) comes with Debian's prometheus package.
    prometheus) command -v promtool >/dev/null 2>&1 || need+=(prometheus) ;;
    *) need+=("$extra") ;;
  esac
done

if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "mailsync: missing system packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "mailsync: installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts a system-wide dovecot/redis on install where it can; the sandbox runs its own.
  if command -v systemctl >/dev/null 2>&1; then
    for unit in dovecot prometheus; do systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
  fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "mailsync: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
