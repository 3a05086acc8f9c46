#!/usr/bin/env bash
# Builds the device kit for bench/webgpu-vs-cpu.ts into an ignored folder of the checkout that the device tool sends.
#   SRC: checkout holding bench/webgpu-vs-cpu.ts and node_modules; KIT: output folder (listed in .git/info/exclude).
set -euo pipefail
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
KIT=${KIT:-$SRC/.gpu-kit}
HERE=$(cd "$(dirname "$0")" && pwd)
NM=$SRC/node_modules
ORT=$NM/onnxruntime-node
mkdir -p "$KIT/app/node_modules" "$KIT/models"
rm -rf "$KIT/app/node_modules/onnxruntime-node" "$KIT/app/node_modules/onnxruntime-common"
(cd "$SRC" && node "$HERE/bundle.mjs" "$SRC" "$KIT/app/webgpu-vs-cpu.mjs")
cp -r "$NM/onnxruntime-common" "$KIT/app/node_modules/"
mkdir -p "$KIT/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
cp -r "$ORT/package.json" "$ORT/dist" "$KIT/app/node_modules/onnxruntime-node/"
cp "$ORT/bin/napi-v6/linux/x64/onnxruntime_binding.node" "$KIT/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/"
# The 45 MB runtime and the node binary travel compressed; run.sh unpacks them on the device.
[ -s "$KIT/libonnxruntime.so.1.xz" ] || xz -T1 -9 -c "$ORT/bin/napi-v6/linux/x64/libonnxruntime.so.1" > "$KIT/libonnxruntime.so.1.xz"
[ -s "$KIT/node.xz" ] || xz -T1 -9 -c "$(command -v node)" > "$KIT/node.xz"
rm -rf "$KIT/models/tiny-random-LlamaForCausalLM-fp16"
cp -r "${MODEL_DIR:-$SRC/../shared/models/tiny-random-LlamaForCausalLM-fp16}" "$KIT/models/"
chmod -R u+w "$KIT/models"
cp "$HERE/run.sh" "$KIT/run.sh"; cp "$HERE/probe.mjs" "$KIT/app/probe.mjs"
du -sh "$KIT"; du -sh "$KIT"/*
# WebGPU needs the Vulkan loader, which a bare GPU machine may lack: Debian's debs, unpacked there by run.sh.
if ! ls "$KIT"/gl/*.deb >/dev/null 2>&1; then
  mkdir -p "$KIT/gl" /tmp/px-apt-lists/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/px-apt-lists'
  apt-get $o update >/dev/null
  (cd "$KIT/gl" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
