"""PyTorch side of the GPU check (bench/gpu/run.sh): the benchmark's workloads, the same shapes as
bench/gpu/gpuBench.mjs builds in rxtrain, trained with Adam on one device, timed the same way.

  python3 bench/gpu/torchBench.py --device cuda --mnist DIR --json OUT.json
  python3 bench/gpu/torchBench.py --device cpu --quick        (a smoke test of the script)

Workloads (name, batch): mlp 128 and mlp1024 1024 (784-256-10, ReLU); cnn 64 (conv 3x3 32, ReLU,
max-pool 2, conv 3x3 64, ReLU, max-pool 2, dense 10; 'valid' padding as tfjs's default) and cnn4x 64
(the same with 128 and 256 filters). Loss: mean softmax cross-entropy. Adam(lr=1e-3, betas 0.9/0.999,
eps=1e-8), fused=True on CUDA. PyTorch's default initialisation (not rxtrain's: the shapes are the
same, the numbers are not).

Data: MNIST from the IDX files in --mnist (the slice bench/gpu/pack.sh carries), in natural order,
cycling over it when the steps need more digits than it holds; without --mnist, random data of the
same shapes (uniform pixels, random labels), and the JSON says which. The digits stay on the host
as uint8; each step copies its batch to the device and scales it by 1/255 there, as rxtrain's fit
moves each batch to the device.

Timing, as gpuBench.mjs times rxtrain: `warm` steps first (not timed: cuDNN autotuning, the CUDA
caching allocator, Adam's state), then `reps` timed runs of `steps` steps each, samples/s =
steps * batch / seconds, median over the runs. A run synchronises the device before it starts and
after its last step; the loss is not read inside the loop (no host round trip per step), only at
the end of each run.

Output: one line per workload on stdout, and with --json the results as JSON for gpuBench.mjs.
Torch only; no other package.
"""

import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import torch
from torch import nn

WORKLOADS = {
    # name: (kind, batch, filters)
    "mlp": ("mlp", 128, None),
    "mlp1024": ("mlp", 1024, None),
    "cnn": ("cnn", 64, (32, 64)),
    "cnn4x": ("cnn", 64, (128, 256)),
}

# The steps gpuBench.mjs runs on a hardware adapter (kept equal by hand: see its `plan`).
PLAN = {"warm": 5, "steps": 100, "reps": 3}
QUICK = {"warm": 1, "steps": 3, "reps": 1}


def build(kind, filters):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    f1, f2 = filters
    # 28 -> conv3 26 -> pool 13 -> conv3 11 -> pool 5: 5 * 5 * f2 features.
    return nn.Sequential(
        nn.Conv2d(1, f1, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(f1, f2, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(5 * 5 * f2, 10),
    )


def read_idx(path):
    """An IDX file (optionally .gz) as (dims, bytes)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def load_mnist(folder):
    """The training images [n, 1, 28, 28] and labels [n] as uint8 / int64 host tensors."""
    def find(stem):
        for name in (stem, stem + ".gz"):
            p = os.path.join(folder, name)
            if os.path.exists(p):
                return p
        raise FileNotFoundError(f"{stem} not found in {folder}")
    (n, rows, cols), pixels = read_idx(find("train-images-idx3-ubyte"))
    (m,), labels = read_idx(find("train-labels-idx1-ubyte"))
    assert n == m and rows == 28 and cols == 28, (n, m, rows, cols)
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(n, 1, 28, 28)
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).to(torch.int64)
    return x, y


def random_data(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g), torch.randint(0, 10, (n,), generator=g)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(name, x_host, y_host, device, plan):
    kind, batch, filters = WORKLOADS[name]
    torch.manual_seed(0)
    model = build(kind, filters).to(device)
    fused = device.type == "cuda"
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, **({"fused": True} if fused else {}))
    loss_fn = nn.CrossEntropyLoss()
    n = x_host.shape[0]
    per_epoch = n // batch
    if per_epoch == 0:
        raise ValueError(f"{name}: batch {batch} is larger than the data ({n} digits)")
    if device.type == "cuda":
        x_host, y_host = x_host.pin_memory(), y_host.pin_memory()
    cursor = [0]

    def step():
        i = cursor[0] % per_epoch
        cursor[0] += 1
        xb = x_host[i * batch:(i + 1) * batch].to(device, non_blocking=True).float().div_(255)
        yb = y_host[i * batch:(i + 1) * batch].to(device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    for _ in range(plan["warm"]):
        step()
    sync(device)
    rates, loss = [], None
    for _ in range(plan["reps"]):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(plan["steps"]):
            loss = step()
        sync(device)
        rates.append(plan["steps"] * batch / (time.perf_counter() - t0))
    return {
        "workload": name,
        "batch": batch,
        "warm": plan["warm"],
        "steps": plan["steps"],
        "reps": plan["reps"],
        "samplesPerSecond": statistics.median(rates),
        "finalLoss": float(loss.item()),
        "fusedAdam": fused,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    ap.add_argument("--mnist", help="folder with the MNIST IDX files; random data of the same shapes without it")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, of: " + ", ".join(WORKLOADS))
    ap.add_argument("--quick", action="store_true", help=f"{QUICK['steps']} steps after {QUICK['warm']} warm-up, 1 run (a smoke test)")
    ap.add_argument("--json", help="write the results here as JSON")
    args = ap.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch: CUDA is not available", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        name = torch.cuda.get_device_name(device)
    else:
        name = f"cpu ({torch.get_num_threads()} threads)"
    plan = QUICK if args.quick else PLAN
    if args.mnist:
        x, y = load_mnist(args.mnist)
        data = f"MNIST IDX files in {args.mnist} ({x.shape[0]} training digits, cycled)"
    else:
        x, y = random_data(16000)
        data = "random data of MNIST's shapes (16000 digits, cycled)"
    header = f"torch {torch.__version__} on {name}; data: {data}; Adam{' fused' if device.type == 'cuda' else ''}"
    print(header, flush=True)
    results = []
    for w in args.workloads.split(","):
        t0 = time.perf_counter()
        r = measure(w, x, y, device, plan)
        results.append(r)
        print(f"{w:<8} torch {device.type:<4} {r['steps']:>3} steps x {r['reps']}: {r['samplesPerSecond']:9.0f} samples/s, final loss {r['finalLoss']:.6f}  [{time.perf_counter() - t0:.1f} s]", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device.type, "description": header, "data": data, "torch": torch.__version__, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
