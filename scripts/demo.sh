#!/usr/bin/env bash
# Installs what the gateway needs and starts it in the foreground with the demo config
# (endpoint enabled, echo agent, token "demo-token-change-me", loopback only).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
npm ci --no-audit --no-fund --loglevel=error
exec node bin/openclaw.js gateway --config examples/demo.json5 "$@"
