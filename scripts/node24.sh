#!/usr/bin/env bash
# Runs a command with Node 24 first on PATH: GitHub's runners start the actions with node24
# (runs.using in every action.yml), while the machines the tests run on may have another Node
# (Debian's is 20). The binary comes from the npm registry, the one registry CI can reach: the
# package node-linux-<arch> (what the `node` package installs) holds the Node.js release's own
# binary, and npm checks the tarball against the registry's integrity hash. Kept in
# .tmp/node24-<version>.
#
#   bash scripts/node24.sh npx vitest run test/actions
set -euo pipefail
VERSION=24.22.3
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.tmp/node24-$VERSION
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node24: no Node 24 package for $(uname -m)" >&2; exit 1 ;;
esac
if [ ! -x "$dir/bin/node" ]; then
  rm -rf "$dir.part" && mkdir -p "$dir.part"
  (cd "$dir.part" && npm pack --silent "node-linux-$arch@$VERSION" >/dev/null && tar xzf node-linux-*.tgz --strip-components=1 && rm node-linux-*.tgz)
  rm -rf "$dir" && mv "$dir.part" "$dir"
fi
actual=$("$dir/bin/node" --version)
[ "$actual" = "v$VERSION" ] || { echo "node24: $dir/bin/node is $actual, not v$VERSION" >&2; exit 1; }
echo "node24: running with Node $actual"
PATH="$dir/bin:$PATH" exec "$@"
