#!/usr/bin/env bash
# Installs what the gateway needs (only what changed) and starts it in the foreground with the
# demo config (endpoint enabled, echo agent, token "demo-token-change-me", loopback only). The
# demo keeps its state (session store) in .state/demo inside the project (git-ignored), never in
# your real ~/.openclaw; set OPENCLAW_STATE_DIR to choose another folder.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
bash scripts/install-deps.sh
export OPENCLAW_STATE_DIR="${OPENCLAW_STATE_DIR:-$PWD/.state/demo}"
exec node bin/openclaw.js gateway --config examples/demo.json5 "$@"
