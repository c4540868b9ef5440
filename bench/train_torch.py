"""PyTorch twin of `npm run bench:train`: images/s of a training step (forward + backward + Adam), an
eval-mode forward pass and an input gradient, batch 16, on the equivalent torch model (test/nn/torch_models.py).

    python3 bench/train_torch.py '{"arch": "alexnet", "inputSize": 64, "numClasses": 10, "width": 0.25}' \
        [--batch 16] [--threads 2] [--seconds 3] [--channels-last]

Prints one JSON line: {"train": ..., "forward": ..., "inputGrad": ...} in images per second.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "nn"))
from torch_models import build  # noqa: E402


def rate(fn, batch, seconds):
    """Images/s of fn in the steady state: warm-up calls for at least 1 s, then repeated calls for at least `seconds` (at least 2 calls)."""
    start = time.perf_counter()
    fn()
    while time.perf_counter() - start < 1:
        fn()
    calls, t0 = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    return batch * calls / (time.perf_counter() - t0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory for the model and input (PyTorch tuned)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # Without this, denormal floats make some small-input configurations 10-30x slower on x86.
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    spec = json.loads(args.spec)
    n, size = args.batch, spec["inputSize"]
    model = build(spec)
    lr, betas, wd = (1e-3, (0.5, 0.999), 0.0) if spec["arch"] == "spa" else (1e-4, (0.9, 0.999), 1e-5)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, betas=betas, weight_decay=wd)
    x = torch.rand(n, 3, size, size)
    y = torch.randint(0, spec["numClasses"], (n,))
    bands = torch.randint(0, 3, (n, size, size))
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def logits_of(out):
        return out[0] if isinstance(out, tuple) else out

    def train_step():
        model.train()
        optimiser.zero_grad()
        out = model(x)
        loss = F.cross_entropy(logits_of(out), y)
        if spec["arch"] == "spa":
            loss = loss + 5 * F.cross_entropy(out[1], bands)
        loss.backward()
        optimiser.step()

    def forward():
        model.eval()
        with torch.no_grad():
            logits_of(model(x))

    def input_grad():
        model.eval()
        xg = x.clone().requires_grad_(True)
        logits = logits_of(model(xg))
        target = logits.argmax(1)
        logits.gather(1, target[:, None]).sum().backward()

    print(json.dumps({"train": rate(train_step, n, args.seconds), "forward": rate(forward, n, args.seconds),
                      "inputGrad": rate(input_grad, n, args.seconds)}))


if __name__ == "__main__":
    main()
