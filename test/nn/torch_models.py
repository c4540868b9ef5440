"""PyTorch twins of fiveband's models (module paths as in the reference's classes), and a loader for a
fiveband model folder (arch.json + weights.safetensors) using only json + numpy + torch.

Usage as a script (used by test/nn/torch.test.ts):
    python3 torch_models.py MODEL_DIR INPUT.npy OUT_DIR [MODEL_DIR INPUT.npy OUT_DIR ...]
for each triple reads an n x 3 x N x N float32 input, runs the model in eval mode and writes OUT_DIR/logits.npy (and
OUT_DIR/heatmap.npy, n x 3 x N x N, for spa) and the input gradient of the summed class-0 logits
(OUT_DIR/input_grad.npy); then, for models without dropout, one training-mode forward:
OUT_DIR/train_logits.npy, the parameter gradients of (class-0 logits summed + mean heatmap logit) as
OUT_DIR/grad.<name>.npy and the updated BatchNorm running statistics OUT_DIR/<state-dict key>.npy.
It also exports a torch-initialised twin as a fiveband model folder OUT_DIR/from_torch (with its eval logits
on the same input in from_torch/logits.npy).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    """State dict from a safetensors file, parsed with json + numpy (no safetensors package needed)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, state_dict, metadata=None):
    """Writes a state dict as safetensors with json + numpy (float32 / int64 tensors)."""
    names = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in state_dict.items():
        arr = t.detach().numpy().copy(order="C")  # (ascontiguousarray would turn 0-d into 1-d)
        header[name] = {"dtype": names[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        chunks.append(arr.tobytes())
        offset += arr.nbytes
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(chunks))


def export(model, spec, model_dir):
    """A fiveband model folder from a torch module (arch.json without a checksum is accepted)."""
    os.makedirs(model_dir, exist_ok=True)
    write_safetensors(os.path.join(model_dir, "weights.safetensors"), model.state_dict())
    with open(os.path.join(model_dir, "arch.json"), "w") as f:
        json.dump({"format": "fiveband-model", "version": 1, "spec": spec}, f)


def scaled(c, width):
    """Channels at width multiplier `width`: round half up, at least 1 (as fiveband's scaled())."""
    return max(1, math.floor(c * width + 0.5))


class AlexNetBackbone(nn.Module):
    def __init__(self, w):
        super().__init__()
        c = [scaled(n, w) for n in (64, 192, 384, 256, 256)]
        self.features = nn.Sequential(
            nn.Conv2d(3, c[0], 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c[0], c[1], 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(),
            nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(),
            nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.out_features = c[4] * 36


class ConvBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.cv = nn.Conv2d(3, 3, 3, padding=2, dilation=2)
        self.act = nn.LeakyReLU()

    def forward(self, x):
        return self.act(self.cv(x))


class AlexNet(nn.Module):
    """Reference AdjAlexnet (and AdjAlexDepth with `depth` blocks) without the unused ImageNet head."""

    def __init__(self, num_classes, width=1.0, depth=0):
        super().__init__()
        for i in range(depth):
            setattr(self, "block%d" % i, ConvBlock())
        self.n_blocks = depth
        self.backbone = AlexNetBackbone(width)
        hidden = scaled(4096, width)
        self.d1, self.fc1, self.act1 = nn.Dropout(), nn.Linear(self.backbone.out_features, hidden), nn.LeakyReLU()
        self.d2, self.fc2, self.act2 = nn.Dropout(), nn.Linear(hidden, hidden), nn.LeakyReLU()
        self.fc3 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        for i in range(self.n_blocks):
            x = getattr(self, "block%d" % i)(x)
        x = self.backbone.avgpool(self.backbone.features(x)).reshape(x.shape[0], -1)
        x = self.act1(self.fc1(self.d1(x)))
        x = self.act2(self.fc2(self.d2(x)))
        return self.fc3(x)


class VGGBackbone(nn.Module):
    def __init__(self, w):
        super().__init__()
        layers, c = [], 3
        for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, scaled(v, w), 3, padding=1), nn.ReLU()]
                c = scaled(v, w)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.out_features = c * 49


class VGG16(nn.Module):
    """Reference AdjVGG without the unused ImageNet head (LeakyReLU on the logits included)."""

    def __init__(self, num_classes, width=1.0):
        super().__init__()
        self.backbone = VGGBackbone(width)
        hidden = scaled(4096, width)
        self.fc1, self.act1, self.d1 = nn.Linear(self.backbone.out_features, hidden), nn.LeakyReLU(), nn.Dropout()
        self.fc2, self.act2, self.d2 = nn.Linear(hidden, num_classes), nn.LeakyReLU(), nn.Dropout()

    def forward(self, x):
        x = self.backbone.avgpool(self.backbone.features(x)).reshape(x.shape[0], -1)
        x = self.act1(self.fc1(self.d1(x)))
        return self.act2(self.fc2(self.d2(x)))


class BasicBlockRevised(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu2(out + residual)


class ResNetBackbone(nn.Module):
    def __init__(self, w):
        super().__init__()
        widths = [scaled(c, w) for c in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = widths[0]
        for layer, (blocks, cout) in enumerate(zip((3, 4, 6, 3), widths)):
            mods = []
            for b in range(blocks):
                mods.append(BasicBlockRevised(c, cout, 2 if layer > 0 and b == 0 else 1))
                c = cout
            setattr(self, "layer%d" % (layer + 1), nn.Sequential(*mods))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.out_channels = c


class ResNet34(nn.Module):
    """Reference AdjResnet34 after readjust() without the unused ImageNet fc."""

    def __init__(self, num_classes, width=1.0):
        super().__init__()
        self.backbone = ResNetBackbone(width)
        self.fc = nn.Conv2d(self.backbone.out_channels, num_classes, 1)

    def forward(self, x):
        b = self.backbone
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        x = b.avgpool(b.layer4(b.layer3(b.layer2(b.layer1(x)))))
        return self.fc(x).squeeze(3).squeeze(2)


class MabSPA(nn.Module):
    """Reference mabSPA (spec 4.1); returns (logits, heatmap logits cropped to N x N)."""

    def __init__(self, num_classes, width=1.0):
        super().__init__()
        c0, c1, c2, half = (scaled(c, width) for c in (7, 7, 17, 48))
        self.half = half
        self.act = nn.ModuleDict({str(i): nn.ReLU() for i in range(4)})
        self.softmax = nn.Softmax(dim=-1)
        self.convs = nn.ModuleDict({"0": nn.Conv2d(3, c0, 7, stride=2), "1": nn.Conv2d(c0, c1, 3, stride=2),
                                    "2": nn.Conv2d(c1, c2, 3, stride=2), "3": nn.Conv2d(c2, 2 * half, 3, stride=2)})
        self.bns = nn.ModuleDict({"0": nn.BatchNorm2d(c0), "1": nn.BatchNorm2d(c1), "2": nn.BatchNorm2d(c2),
                                  "3": nn.BatchNorm2d(2 * half)})
        self.fc = nn.Linear(half * half, num_classes)
        self.mab = nn.ModuleDict({"0": nn.ConvTranspose2d(half, c2, 7, stride=2), "1": nn.ConvTranspose2d(c2, c1, 3, stride=2),
                                  "2": nn.ConvTranspose2d(c1, c0, 3, stride=2),
                                  "3": nn.ConvTranspose2d(c0, 3, 3, stride=2, bias=False)})

    def forward(self, x):
        n = x.shape[-1]
        for i in "0123":
            x = self.act[i](self.bns[i](self.convs[i](x)))
        h = x[:, self.half:]
        for i in "0123":
            h = self.mab[i](h)
        b, c, _, _ = x.shape
        x = x.view(b, c, -1)
        x = self.softmax(torch.matmul(x[:, :self.half], torch.transpose(x[:, self.half:], 1, 2)) / self.half ** 0.5)
        return self.fc(x.reshape(b, -1)), h[:, :, :n, :n]


class Logits(nn.Module):
    """The classifier output only (SPA also returns its heatmap logits; the reference calls Captum on the logits)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)
        return out[0] if isinstance(out, tuple) else out


def build(spec):
    arch, classes, width = spec["arch"], spec["numClasses"], spec["width"]
    if arch == "alexnet":
        return AlexNet(classes, width)
    if arch == "alexnet-depth":
        return AlexNet(classes, width, spec.get("depth", 2))
    if arch == "vgg16":
        return VGG16(classes, width)
    if arch == "resnet34":
        return ResNet34(classes, width)
    if arch == "spa":
        return MabSPA(classes, width)
    raise ValueError("unknown arch " + arch)


def load(model_dir):
    """The torch module of a fiveband model folder, weights loaded strictly, in eval mode."""
    with open(os.path.join(model_dir, "arch.json")) as f:
        spec = json.load(f)["spec"]
    model = build(spec)
    model.load_state_dict(read_safetensors(os.path.join(model_dir, "weights.safetensors")), strict=True)
    return model.eval()


def run(model_dir, input_path, out_dir):
    x = torch.from_numpy(np.load(input_path))
    model = load(model_dir)

    # The other direction: a torch-initialised twin (BN statistics moved off 0/1) exported for fiveband.
    with open(os.path.join(model_dir, "arch.json")) as f:
        spec = json.load(f)["spec"]
    torch.manual_seed(0)
    twin = build(spec)
    with torch.no_grad():
        twin.train()(torch.rand_like(x))
        twin.eval()
        out = twin(x)
    export(twin, spec, os.path.join(out_dir, "from_torch"))
    np.save(os.path.join(out_dir, "from_torch", "logits.npy"), (out[0] if isinstance(out, tuple) else out).numpy())

    def save(name, t):
        np.save(os.path.join(out_dir, name + ".npy"), t.detach().numpy())

    def outputs(out):
        return out if isinstance(out, tuple) else (out, None)

    xg = x.clone().requires_grad_(True)
    logits, _ = outputs(model(xg))
    logits[:, 0].sum().backward()
    save("input_grad", xg.grad)
    with torch.no_grad():
        logits, heatmap = outputs(model(x))
        save("logits", logits)
        if heatmap is not None:
            save("heatmap", heatmap)
    if not any(isinstance(m, nn.Dropout) for m in model.modules()):
        model.zero_grad()  # drop what the input-gradient pass accumulated
        logits, heatmap = outputs(model.train()(x))
        loss = logits[:, 0].sum() + (heatmap.mean() if heatmap is not None else 0)
        loss.backward()
        save("train_logits", logits)
        for key, param in model.named_parameters():
            save("grad." + key, param.grad)
        for key, value in model.state_dict().items():
            if key.endswith(("running_mean", "running_var", "num_batches_tracked")):
                save(key, value)


if __name__ == "__main__":
    torch.set_num_threads(1)
    args = sys.argv[1:]
    for i in range(0, len(args), 3):
        run(*args[i:i + 3])
