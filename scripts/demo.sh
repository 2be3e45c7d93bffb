#!/usr/bin/env bash
# npm run demo: install what is missing, then run mailsync against the bundled sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec npx tsx scripts/demo.ts "$@"
