"""PyTorch twin of `npm run bench:explain`: ms per image of each attribution method, written here with plain
torch autograd and module hooks following Captum 0.5's definitions (not Captum itself), on the same weights
(a fiveband model folder loaded by test/nn/torch_models.py).

    python3 bench/explain_torch.py MODEL_DIR [--batch 2] [--repeats 1] [--threads 2] [--layer NAME] [--methods Saliency,DeepLift,...]
    python3 bench/explain_torch.py MODEL_DIR --attribute INPUTS.npy TARGETS.npy OUT_DIR [--methods ...]

Prints one JSON line: {"<method>": ms per image, ...}. With --attribute, writes OUT_DIR/<method>.npy for the
n x 3 x N x N inputs and int32 targets instead (test/attribution/torch.test.ts compares them with ours; the
random SHAP methods are left out there). Same protocol as the TypeScript side: a warm-up call
on one image, warm-up calls on the batch for at least 1 s, then the best of `--repeats` timed calls on `batch` images; target = predicted class; IG 50 Gauss-Legendre steps,
internal batch 16 rows; SHAP with 4 baselines N(0, 1) x 0.001 (GradientShap: 5 draws).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "nn"))
from torch_models import Logits, load  # noqa: E402

INTERNAL_BATCH = 16


def target_grad(model, x, target):
    x = x.detach().requires_grad_(True)
    out = model(x)
    (grad,) = torch.autograd.grad(out.gather(1, target.view(-1, 1)).sum(), x)
    return grad


def chunked_grad(model, x, target):
    return torch.cat([target_grad(model, x[i:i + INTERNAL_BATCH], target[i:i + INTERNAL_BATCH])
                      for i in range(0, x.shape[0], INTERNAL_BATCH)])


class ReluOverride:
    """Guided backprop (relu of the ReLU's input gradient) or deconvolution (relu of its output gradient)."""

    def __init__(self, model, deconvolution):
        self.handles = [m.register_full_backward_hook(self.hook) for m in model.modules() if isinstance(m, nn.ReLU)]
        self.deconvolution = deconvolution

    def hook(self, module, grad_input, grad_output):
        return (F.relu(grad_output[0] if self.deconvolution else grad_input[0]),)

    def remove(self):
        for h in self.handles:
            h.remove()


class Rescale:
    """DeepLift's rescale rule on the batch [inputs; references] (ReLU, LeakyReLU, MaxPool2d, Softmax)."""

    def __init__(self, model, groups):
        self.groups = groups
        self.handles = []
        for m in model.modules():
            if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.MaxPool2d, nn.Softmax)):
                self.handles.append(m.register_forward_hook(self.remember))
                self.handles.append(m.register_full_backward_hook(self.backward))

    @staticmethod
    def remember(module, inputs, output):
        module.saved = (inputs[0].detach(), output.detach())

    def backward(self, module, grad_input, grad_output):
        x, y = module.saved
        xi, xr = x.chunk(2)
        yi, yr = y.chunk(2)
        d_in = torch.cat([xi - xr, xi - xr])
        small = d_in.abs() < 1e-10
        g = grad_output[0]
        if isinstance(module, nn.MaxPool2d):
            m = torch.max(yi, yr)
            d_out = torch.cat([m - yr, yi - m])
            _, idx = F.max_pool2d(x, module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode, True)
            u, ur = F.max_unpool2d(g * d_out, idx, module.kernel_size, module.stride, module.padding, list(x.shape)).chunk(2)
            return (torch.where(small, grad_input[0], torch.cat([u + ur, u + ur]) / d_in),)
        d_out = torch.cat([yi - yr, yi - yr])
        new = torch.where(small, grad_input[0], g * d_out / d_in)
        if isinstance(module, nn.Softmax):
            grouped = new.reshape(2, self.groups, -1)
            new = (grouped - grouped.sum(dim=(0, 2), keepdim=True) / (2 * grouped.shape[2])).reshape(new.shape)
        return (new,)

    def remove(self):
        for h in self.handles:
            h.remove()


def deeplift_rows(model, x, b, target, groups):
    rule = Rescale(model, groups)
    try:
        both = torch.cat([x, b]).requires_grad_(True)
        out = model(both)
        (grad,) = torch.autograd.grad(out.gather(1, torch.cat([target, target]).view(-1, 1)).sum(), both)
    finally:
        rule.remove()
    return (x - b) * grad[: x.shape[0]]


def baselines_for(n, shape, k=4):
    return torch.randn((n, k) + tuple(shape)) * 0.001


def make_methods(model, first_conv, steps=50, cam_layer=None):
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor(0.5 * (1 + nodes), dtype=torch.float32)
    step_sizes = torch.tensor(0.5 * weights, dtype=torch.float32)

    def saliency(x, t):
        return chunked_grad(model, x, t).abs()

    def integrated_gradients(x, t):
        n = x.shape[0]
        rows = torch.cat([a * x for a in alphas])  # step-major, as Captum
        grads = chunked_grad(model, rows, t.repeat(steps))
        return x * (grads.view(steps, n, *x.shape[1:]) * step_sizes.view(steps, 1, 1, 1, 1)).sum(0)

    def input_x_gradient(x, t):
        return x * chunked_grad(model, x, t)

    def overridden(deconvolution):
        def run(x, t):
            rule = ReluOverride(model, deconvolution)
            try:
                return chunked_grad(model, x, t)
            finally:
                rule.remove()
        return run

    def guided_grad_cam(x, t):
        saved = {}
        handle = first_conv.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
        try:
            xx = x.detach().requires_grad_(True)
            out = model(xx)
            (ga,) = torch.autograd.grad(out.gather(1, t.view(-1, 1)).sum(), saved["a"])
        finally:
            handle.remove()
        cam = F.relu((ga.mean(dim=(2, 3), keepdim=True) * saved["a"]).sum(1, keepdim=True))
        return overridden(False)(x, t) * F.interpolate(cam.detach(), x.shape[2:], mode="nearest")

    def deeplift(x, t):
        per = max(1, INTERNAL_BATCH // 2)
        return torch.cat([deeplift_rows(model, x[i:i + per], torch.zeros_like(x[i:i + per]), t[i:i + per], len(x[i:i + per]))
                          for i in range(0, x.shape[0], per)])

    def gradient_shap(x, t, draws=5):
        n = x.shape[0]
        base = baselines_for(n, x.shape[1:])
        pick = torch.randint(0, 4, (n, draws))
        alpha = torch.rand(n, draws, 1, 1, 1)
        b = base[torch.arange(n).view(-1, 1), pick]
        xx = x.unsqueeze(1)
        scaled = (alpha * xx + (1 - alpha) * b).reshape(n * draws, *x.shape[1:])
        g = chunked_grad(model, scaled, t.repeat_interleave(draws)).view(n, draws, *x.shape[1:])
        return ((xx - b) * g).mean(1)

    def deeplift_shap(x, t, k=4):
        per = max(1, INTERNAL_BATCH // (2 * k))
        out = []
        for i in range(0, x.shape[0], per):
            xs = x[i:i + per]
            m = xs.shape[0]
            b = baselines_for(m, x.shape[1:]).reshape(m * k, *x.shape[1:])
            rows = deeplift_rows(model, xs.repeat_interleave(k, 0), b, t[i:i + per].repeat_interleave(k), m)
            out.append(rows.view(m, k, *x.shape[1:]).mean(1))
        return torch.cat(out)

    def grad_cam(x, t):
        # Captum's LayerGradCam (ReLU) on the last spatial convolution, upsampled bilinearly as fiveband's GradCam.
        saved = {}
        handle = cam_layer.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
        try:
            out = model(x.detach().requires_grad_(True))
            (ga,) = torch.autograd.grad(out.gather(1, t.view(-1, 1)).sum(), saved["a"])
        finally:
            handle.remove()
        cam = F.relu((ga.mean(dim=(2, 3), keepdim=True) * saved["a"]).sum(1, keepdim=True))
        return F.interpolate(cam.detach(), x.shape[2:], mode="bilinear", align_corners=False)

    def occlusion(x, t):
        # Captum's Occlusion with fiveband's defaults: a zero window of side N/8 over all channels, stride half of it.
        n = x.shape[-1]
        window = max(1, round(n / 8))
        stride = max(1, window // 2)
        starts = list(range(0, n - window + 1, stride))
        positions = [(y, z) for y in starts for z in starts]
        out = torch.zeros(x.shape[0], 1, n, n)
        counts = torch.zeros(1, 1, n, n)
        for (y, z) in positions:
            counts[..., y:y + window, z:z + window] += 1
        with torch.no_grad():
            full = model(x).gather(1, t.view(-1, 1)).view(-1)
            for i in range(x.shape[0]):
                for k in range(0, len(positions), INTERNAL_BATCH):
                    chunk = positions[k:k + INTERNAL_BATCH]
                    rows = x[i:i + 1].repeat(len(chunk), 1, 1, 1)
                    for r, (y, z) in enumerate(chunk):
                        rows[r, :, y:y + window, z:z + window] = 0
                    drop = full[i] - model(rows)[:, t[i]]
                    for r, (y, z) in enumerate(chunk):
                        out[i, 0, y:y + window, z:z + window] += drop[r]
        return (out / counts).expand(-1, 3, -1, -1)

    def noise_tunnel(kind, copies=5, sigma=0.15):
        # Captum's NoiseTunnel over Saliency (|gradient|) with fiveband's defaults: 5 noisy copies, sigma 0.15.
        def run(x, t):
            n = x.shape[0]
            noisy = x.repeat_interleave(copies, 0) + sigma * torch.randn(n * copies, *x.shape[1:])
            maps = chunked_grad(model, noisy, t.repeat_interleave(copies)).abs().view(n, copies, *x.shape[1:])
            if kind == "smoothgrad":
                return maps.mean(1)
            if kind == "smoothgrad_sq":
                return (maps ** 2).mean(1)
            return maps.var(1, unbiased=False)
        return run

    def lrp(x, t, eps=1e-9):
        # Captum's LRP (the epsilon rule on every convolution and linear layer, 1e-6 on average pooling) by the
        # gradient trick: each such layer keeps its value z, its gradient scaled by z / (z + eps * sign z).
        def hook(module, inputs, out):
            e = 1e-6 if isinstance(module, nn.AdaptiveAvgPool2d) else eps
            factor = (out / (out + torch.where(out >= 0, torch.full_like(out, e), torch.full_like(out, -e)))).detach()
            return out.detach() + out * factor - (out * factor).detach()
        handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.AdaptiveAvgPool2d))]
        try:
            return x * chunked_grad(model, x, t)
        finally:
            for h in handles:
                h.remove()

    return {
        "LRP": lrp,
        "Saliency": saliency, "IntegratedGradients": integrated_gradients, "InputXGradient": input_x_gradient,
        "DeepLift": deeplift, "GuidedBackprop": overridden(False), "GuidedGradCam": guided_grad_cam,
        "Deconvolution": overridden(True), "GradientShap": gradient_shap, "DeepLiftShap": deeplift_shap,
        "GradCam": grad_cam, "Occlusion": occlusion, "SmoothGrad": noise_tunnel("smoothgrad"),
        "SmoothGradSq": noise_tunnel("smoothgrad_sq"), "VarGrad": noise_tunnel("vargrad"),
    }


def setup(model_dir, layer, cam_layer, steps, methods_arg):
    """The model of model_dir (logits) and the methods named by methods_arg on it."""
    inner = load(model_dir)
    model = Logits(inner).eval()
    first_conv = inner.get_submodule(layer) if layer else next(m for m in inner.modules() if isinstance(m, nn.Conv2d))
    cam = inner.get_submodule(cam_layer) if cam_layer else [m for m in inner.modules() if isinstance(m, nn.Conv2d)][-1]
    methods = make_methods(model, first_conv, steps, cam)
    names = list(methods) if methods_arg == "all" else [m for m in methods_arg.split(",") if m in methods]
    return model, methods, names


def attribute(methods, names, inputs, targets, out_dir):
    """Each method's attributions of the inputs for the targets (npy files), saved as out_dir/<method>.npy."""
    x = torch.from_numpy(np.load(inputs))
    t = torch.from_numpy(np.load(targets)).long()
    for name in names:
        np.save(os.path.join(out_dir, name + ".npy"), methods[name](x, t).detach().numpy())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", nargs="?")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--steps", type=int, default=50, help="IntegratedGradients steps")
    parser.add_argument("--layer", help="GuidedGradCam layer (module path, e.g. backbone.features.0); default the first Conv2d")
    parser.add_argument("--cam-layer", help="GradCam layer (module path); default the last Conv2d")
    parser.add_argument("--attribute", nargs=3, metavar=("INPUTS", "TARGETS", "OUT_DIR"))
    parser.add_argument("--jobs", help="JSON file: a list of {model_dir, layer, cam_layer, inputs, targets, out_dir}, "
                        "each attributed like --attribute (one process for many models: torch loads once)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.jobs:
        for job in json.load(open(args.jobs)):
            torch.manual_seed(0)
            model, methods, names = setup(job["model_dir"], job.get("layer"), job.get("cam_layer"), args.steps, args.methods)
            attribute(methods, names, job["inputs"], job["targets"], job["out_dir"])
        return
    torch.manual_seed(0)
    model, methods, names = setup(args.model_dir, args.layer, args.cam_layer, args.steps, args.methods)
    if args.attribute:
        attribute(methods, names, *args.attribute)
        return
    size = json.load(open(os.path.join(args.model_dir, "arch.json")))["spec"]["inputSize"]
    x = torch.rand(args.batch, 3, size, size)
    with torch.no_grad():
        target = model(x).argmax(1)
    result = {}
    for name in names:
        methods[name](x[:1], target[:1])
        start = time.perf_counter()
        methods[name](x, target)
        while time.perf_counter() - start < 1:
            methods[name](x, target)
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            methods[name](x, target)
            best = min(best, time.perf_counter() - t0)
        result[name] = best * 1000 / args.batch
    print(json.dumps(result))


if __name__ == "__main__":
    main()
