#!/usr/bin/env bash
# The GPU check: the benchmark's MLP and CNN on webgpu (Dawn, Vulkan on a GPU) and on wasm, with
# the Node, rxtrain bundle and Vulkan loader that bench/gpu/pack.sh put in bench/gpu/carry/.
# Needs no Node and no internet. From the repo root:  bash bench/gpu/run.sh
# Unpacks into $RXGPU_TMP (default /tmp/rxgpu), never into the repo. Exit status: 0 ok, 2 webgpu
# could not initialise, 3 a GPU machine whose WebGPU found only a software adapter, 1 otherwise.
# RXGPU_QUICK=1: a few steps of each (to test the script). PyTorch on the same card first
# (bench/gpu/torchBench.py, when python3 has torch with CUDA; RXGPU_TORCH=0 skips it,
# RXGPU_TORCH_DEVICE=cpu runs it on the CPU to test the script), then rxtrain (gpuBench.mjs), which
# prints one table with both. Estimated at 3 to 5 minutes on an H100/H200 machine (not yet run
# there with the larger workloads); torchBench.py is cut at 150 s, and gpuBench.mjs starts no
# measurement past RXGPU_DEADLINE_S (default: 420 s from this script's start), so that the whole
# stays under about 8 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
CARRY=bench/gpu/carry
T=${RXGPU_TMP:-/tmp/rxgpu}
for f in node.xz rxtrain.tar.xz; do
  [[ -s $CARRY/$f ]] || { echo "FAIL: $CARRY/$f is missing: run bash bench/gpu/pack.sh here and carry $CARRY" >&2; exit 1; }
done

# xz, or Python's lzma where the xz tool is not installed.
unxz_to_stdout() {
  if command -v xz >/dev/null; then xz -dc "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
rm -rf "$T" && mkdir -p "$T"
unxz_to_stdout "$CARRY/node.xz" >"$T/node" && chmod +x "$T/node"
unxz_to_stdout "$CARRY/rxtrain.tar.xz" | tar -C "$T" -xf -
echo "node $("$T/node" --version) ($T/node); rxtrain bundle in $T/rxtrain"

# A GPU machine: an NVIDIA device node or driver folder.
nvidia=false
[[ -e /dev/nvidiactl || -d /usr/local/nvidia ]] && nvidia=true
command -v nvidia-smi >/dev/null && nvidia-smi -L || true

# The Vulkan loader (Dawn's Vulkan backend dlopens libvulkan.so.1). On the GPU machine the device
# README's recipe: unpack the .debs into / and run ldconfig. Elsewhere (a CPU box), unpack them
# under $T and put them on LD_LIBRARY_PATH, leaving the system alone.
if ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  echo "vulkan loader: installed ($(ldconfig -p | grep -m1 'libvulkan\.so\.1' | sed 's/.*=> //'))"
elif $nvidia; then
  for f in "$CARRY"/*.deb; do dpkg -x "$f" /; done
  ldconfig
  echo "vulkan loader: unpacked the carried .debs into / (ldconfig)"
else
  mkdir -p "$T/sysroot"
  for f in "$CARRY"/*.deb; do dpkg -x "$f" "$T/sysroot"; done
  export LD_LIBRARY_PATH=$T/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "vulkan loader: unpacked the carried .debs under $T/sysroot (LD_LIBRARY_PATH)"
fi

# The NVIDIA driver's Vulkan ICD and EGL vendor files, where the loaders would not find them.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [[ -f $icd && -z ${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-} ]] && ! ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$icd
fi
if [[ -f $egl && -z ${__EGL_VENDOR_LIBRARY_FILENAMES:-} && ! -f /usr/share/glvnd/egl_vendor.d/10_nvidia.json ]]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-(unset)} __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-(unset)}"

# PyTorch on the same card, when this machine has it: its results go into gpuBench's table.
export RXGPU_TORCH_JSON='' RXGPU_TORCH_SKIPPED=''
torch_device=${RXGPU_TORCH_DEVICE:-cuda}
if [[ ${RXGPU_TORCH:-1} == 0 ]]; then
  RXGPU_TORCH_SKIPPED='RXGPU_TORCH=0'
elif ! command -v python3 >/dev/null; then
  RXGPU_TORCH_SKIPPED='no python3 on this machine'
elif ! why=$(python3 -c 'import torch' 2>&1); then
  RXGPU_TORCH_SKIPPED="python3 -c 'import torch' failed: $(tail -n 1 <<<"$why")"
elif [[ $torch_device == cuda && $(python3 -c 'import torch; print(torch.cuda.is_available())' 2>&1 | tail -n 1) != True ]]; then
  RXGPU_TORCH_SKIPPED="torch $(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null) sees no CUDA device (torch.cuda.is_available() is not True)"
else
  echo "== torchBench ($torch_device)"
  quick_flag=()
  [[ ${RXGPU_QUICK:-} == 1 ]] && quick_flag=(--quick)
  trc=0
  timeout 150 python3 bench/gpu/torchBench.py --device "$torch_device" --mnist "$T/rxtrain/mnist" --json "$T/torch.json" "${quick_flag[@]}" || trc=$?
  if ((trc == 0)); then RXGPU_TORCH_JSON=$T/torch.json; else RXGPU_TORCH_SKIPPED="torchBench.py failed (exit $trc)"; fi
fi
[[ -n $RXGPU_TORCH_SKIPPED ]] && echo "torch: skipped: $RXGPU_TORCH_SKIPPED"

# On a GPU machine a software adapter is a failure (and would take minutes): say so at once.
$nvidia && export RXGPU_REQUIRE_HARDWARE=${RXGPU_REQUIRE_HARDWARE:-1}
export RXGPU_DEADLINE_S=${RXGPU_DEADLINE_S:-$((420 - SECONDS))}
echo "== gpuBench ($(date -u +%FT%TZ), $(nproc) CPUs; no measurement starts after ${RXGPU_DEADLINE_S} s)"
start=$SECONDS
rc=0
RXTRAIN_DIR=$T/rxtrain MNIST_DIR=$T/rxtrain/mnist "$T/node" bench/gpu/gpuBench.mjs || rc=$?
echo "== done in $((SECONDS - start)) s, exit $rc"
exit "$rc"
