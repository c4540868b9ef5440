import { registerArch, scaled, type Ops } from '../arch.js';
import type { ArchSpec } from '../model.js';

const RESNET34_BLOCKS = [3, 4, 6, 3];
const RESNET_WIDTHS = [64, 128, 256, 512];

/**
 * BasicBlock as the reference's `BasicBlockRevised`: conv1 → bn1 → relu → conv2 → bn2, plus the identity or
 * `downsample` (1×1 conv, stride s, no bias → BN), then the second ReLU as its own module `relu2`.
 */
function basicBlock<T>(ops: Ops<T>, x: T, name: string, inC: number, outC: number, stride: number): T {
  const conv = { kernel: 3, padding: 1, bias: false, init: 'kaiming_fan_out' } as const;
  let out = ops.convBatchNorm(`${name}.conv1`, `${name}.bn1`, x, { ...conv, inChannels: inC, outChannels: outC, stride }, outC);
  out = ops.relu(`${name}.relu`, out);
  out = ops.convBatchNorm(`${name}.conv2`, `${name}.bn2`, out, { ...conv, inChannels: outC, outChannels: outC }, outC);
  let residual = x;
  if (stride !== 1 || inC !== outC) {
    const downsample = { inChannels: inC, outChannels: outC, kernel: 1, stride, bias: false, init: 'kaiming_fan_out' } as const;
    residual = ops.convBatchNorm(`${name}.downsample.0`, `${name}.downsample.1`, x, downsample, outC);
  }
  return ops.relu(`${name}.relu2`, ops.add(out, residual));
}

/**
 * ResNet34 as the reference's `AdjResnet34` after `readjust()` (spec §2.1): torchvision's resnet34 children up
 * to the global average pool under `backbone.` (convs initialised like torchvision: kaiming_normal fan_out,
 * relu), then a 1×1 Conv2d(512 → classes) `fc` (PyTorch default init), squeezed to [n, classes].
 * torchvision's ImageNet fc (`backbone.fc`) is never used by the reference and is left out.
 */
function resnet34<T>(ops: Ops<T>, x: T, spec: ArchSpec): T {
  const widths = RESNET_WIDTHS.map((c) => scaled(c, spec.width));
  x = ops.convBatchNorm('backbone.conv1', 'backbone.bn1', x, { inChannels: 3, outChannels: widths[0]!, kernel: 7, stride: 2, padding: 3, bias: false, init: 'kaiming_fan_out' }, widths[0]!);
  x = ops.relu('backbone.relu', x);
  x = ops.maxPool2d('backbone.maxpool', x, { kernel: 3, stride: 2, padding: 1 });
  let channels = widths[0]!;
  RESNET34_BLOCKS.forEach((blocks, layer) => {
    for (let b = 0; b < blocks; b++) {
      const stride = layer > 0 && b === 0 ? 2 : 1;
      x = basicBlock(ops, x, `backbone.layer${layer + 1}.${b}`, channels, widths[layer]!, stride);
      channels = widths[layer]!;
    }
  });
  x = ops.adaptiveAvgPool2d('backbone.avgpool', x, 1);
  x = ops.conv2d('fc', x, { inChannels: channels, outChannels: spec.numClasses, kernel: 1, bias: true });
  return ops.squeezeSpatial(x);
}

registerArch('resnet34', {
  build: (ops, x, spec) => ({ logits: resnet34(ops, x, spec) }),
  firstConv: () => 'backbone.conv1',
});
