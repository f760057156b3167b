#!/usr/bin/env bash
# Installs the npm packages exactly as package-lock.json says (npm ci), but only when the lockfile
# changed since the last install here: a second demo start must not wipe node_modules (under a
# gateway that may still be running) to put back the same packages. The stamp lives inside
# node_modules, so deleting node_modules also forgets it. Expects a Node on PATH
# (scripts/ensure-node.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
stamp=node_modules/.openclaw-installed-lock
lock_hash=$(node -e 'process.stdout.write(require("node:crypto").createHash("sha256").update(require("node:fs").readFileSync("package-lock.json")).digest("hex"))')
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  exit 0
fi
echo "Installing npm packages (package-lock.json changed since the last install)…" >&2
npm ci --no-audit --no-fund --loglevel=error
printf '%s' "$lock_hash" > "$stamp"
