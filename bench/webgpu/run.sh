#!/usr/bin/env bash
# Device entry for issue 13's WebGPU vs CPU measurement: `bash .gpu-kit/run.sh [measure args]` from the repo root.
# Reports the machine, brings the Vulkan loader (Debian debs in gl/), probes WebGPU, then runs the measurement
# (app/webgpu-vs-cpu.mjs, the bundled bench/webgpu-vs-cpu.ts). Everything lands in $OUT (log.txt, probe.txt,
# result.json). Exit status: the measurement's (0 measured, 3 a device could not load the model).
set -u
KIT=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$KIT/out}
mkdir -p "$OUT"

main() {
echo "== machine $(date -u +%FT%TZ)"
uname -srm; nproc; grep -m1 'model name' /proc/cpuinfo
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 || echo "no nvidia-smi"
if command -v node >/dev/null; then echo "machine node: $(node -v) (the kit's own node is used)"; else echo "machine node: none"; fi
echo "== vulkan loader before: $(ldconfig -p | grep -c libvulkan) entries"
if [ "${KIT_NO_DEBS:-0}" != 1 ]; then  # KIT_NO_DEBS=1: a dry run on a machine whose / must stay untouched
  for f in "$KIT"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
ldconfig -p | grep -i 'libvulkan\|libGLX_nvidia\|libEGL_nvidia' || true
echo "== vulkan drivers (ICD manifests)"
ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  echo "VK_DRIVER_FILES=$VK_DRIVER_FILES"
fi

echo "== unpack"
W=/tmp/gpu-kit
rm -rf "$W"; mkdir -p "$W"
cp -r "$KIT/app" "$W/app"
xz -dc "$KIT/node.xz" > "$W/node" && chmod +x "$W/node"
xz -dc "$KIT/libonnxruntime.so.1.xz" > "$W/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
NODE="$W/node"
"$NODE" -v || { echo "the kit's node does not run here"; exit 5; }
MODEL_DIR="$KIT/models"
MODEL_FILE="$MODEL_DIR/tiny-random-LlamaForCausalLM-fp16/onnx/model_fp16.onnx"

probe() {
  VK_LOADER_DEBUG=driver timeout 90 "$NODE" "$W/app/probe.mjs" "$MODEL_FILE" 2>&1 | head -c 8000000 > "$OUT/probe.txt"
  local rc=${PIPESTATUS[0]}
  grep -E "PROBE|Dawn backend|Context is created|adapter|Adapter|Vulkan|vulkan|ICD|driver|DRIVER" "$OUT/probe.txt" | grep -v 'ParseWebGpuContextConfig] WebGPU EP [^D]' | sort | uniq -c | sort -rn | head -40
  return $rc
}
echo "== webgpu probe"
if ! probe && [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  echo "== webgpu probe again with the driver's own ICD manifest"
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  cp "$OUT/probe.txt" "$OUT/probe-first.txt"
  probe
fi

echo "== measure $(date -u +%FT%TZ)"
timeout "${MEASURE_TIMEOUT_S:-400}" "$NODE" "$W/app/webgpu-vs-cpu.mjs" --model-path "$MODEL_DIR" --out "$OUT/result.json" "$@"
rc=$?
echo "== done $(date -u +%FT%TZ) rc=$rc"
nvidia-smi --query-gpu=name,driver_version,utilization.gpu,memory.used --format=csv 2>&1 | tail -1
return $rc
}

main "$@" 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
