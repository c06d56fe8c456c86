#!/usr/bin/env bash
# The GPU check: the benchmark's MLP and CNN on webgpu (Dawn, Vulkan on a GPU) and on wasm, with
# the Node, rxtrain bundle and Vulkan loader that bench/gpu/pack.sh put in bench/gpu/carry/.
# Needs no Node and no internet. From the repo root:  bash bench/gpu/run.sh
# Unpacks into $RXGPU_TMP (default /tmp/rxgpu), never into the repo. Exit status: 0 ok, 2 webgpu
# could not initialise, 3 a GPU machine whose WebGPU found only a software adapter, 1 otherwise.
# RXGPU_QUICK=1: a few steps of each (to test the script).
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

# On a GPU machine a software adapter is a failure (and would take minutes): say so at once.
$nvidia && export RXGPU_REQUIRE_HARDWARE=${RXGPU_REQUIRE_HARDWARE:-1}
echo "== gpuBench ($(date -u +%FT%TZ), $(nproc) CPUs)"
start=$SECONDS
rc=0
RXTRAIN_DIR=$T/rxtrain MNIST_DIR=$T/rxtrain/mnist "$T/node" bench/gpu/gpuBench.mjs || rc=$?
echo "== done in $((SECONDS - start)) s, exit $rc"
exit "$rc"
