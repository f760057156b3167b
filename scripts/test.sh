#!/usr/bin/env bash
# Installs what the project needs (Node >= 22, npm packages) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh
npm ci --no-audit --no-fund --loglevel=error
npm test
