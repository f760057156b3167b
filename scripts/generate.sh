#!/usr/bin/env bash
# `npm run generate`: generated/ from openapi/ (types via @hey-api/openapi-ts, then the spec as JSON
# and the ahead-of-time config validator), and docs/configuration.md from the config schema. Runs on the project's Node (>= 22, installed into .node/
# when the system one is older), since the second step loads TypeScript sources.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/ensure-node.sh
npx --no-install openapi-ts
node scripts/generate-extras.ts
node scripts/config-reference.ts
