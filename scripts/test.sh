#!/usr/bin/env bash
# npm test: install what is missing, then run every test against real services
# (Redis, Dovecot, the SMTP server and the identity imitation are started by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec npx vitest run "$@"
