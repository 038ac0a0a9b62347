#!/usr/bin/env bash
# Builds dist/kubeon-linux-x64: a single executable (Node SEA) that runs where no Node is installed.
# The runtime is the Node that runs this script; the blob must be made by that same binary.
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin=$(command -v node)
# The SEA's main script must not start with the bundle's shebang line.
sed '1{/^#!/d}' dist/kubeon.js > dist/sea-main.cjs
cat > dist/sea-config.json <<JSON
{ "main": "dist/sea-main.cjs", "output": "dist/sea-prep.blob", "disableExperimentalSEAWarning": true, "useCodeCache": true }
JSON
node --experimental-sea-config dist/sea-config.json
out=dist/kubeon-linux-x64
cp "$node_bin" "$out"
chmod u+w "$out"
strip "$out" 2>/dev/null || true
npx --no-install postject "$out" NODE_SEA_BLOB dist/sea-prep.blob \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 | grep -v "Can't find string offset" || true
rm -f dist/sea-prep.blob dist/sea-config.json dist/sea-main.cjs
echo "built $out ($(du -h "$out" | cut -f1))"
