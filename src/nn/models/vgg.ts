import { registerArch, scaled, type Ops } from '../arch.js';
import type { ArchSpec } from '../model.js';

/** torchvision's VGG16 configuration "D" (numbers are conv widths, 'M' a 2×2 max pool). */
const VGG16_FEATURES: ReadonlyArray<number | 'M'> = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

/**
 * VGG16 (no BatchNorm) as the reference's `AdjVGG` (spec §2.1): torchvision `features` (convs initialised
 * like torchvision: kaiming_normal fan_out, zero bias) and 7×7 adaptive average pool under `backbone.`, then
 * Dropout → Linear(25088, 4096) → LeakyReLU → Dropout → Linear(4096, classes) → LeakyReLU on the logits
 * (`d1, fc1, act1, d2, fc2, act2`). The reference's own fc layers get PyTorch's default initialisation.
 */
function vgg16<T>(ops: Ops<T>, x: T, spec: ArchSpec): T {
  let channels = 3;
  let index = 0; // position in torchvision's features Sequential (a conv and its ReLU take two)
  for (const item of VGG16_FEATURES) {
    if (item === 'M') {
      x = ops.maxPool2d(`backbone.features.${index++}`, x, { kernel: 2, stride: 2 });
    } else {
      const out = scaled(item, spec.width);
      x = ops.conv2d(`backbone.features.${index++}`, x, { inChannels: channels, outChannels: out, kernel: 3, padding: 1, bias: true, init: 'kaiming_fan_out' });
      x = ops.relu(`backbone.features.${index++}`, x);
      channels = out;
    }
  }
  x = ops.adaptiveAvgPool2d('backbone.avgpool', x, 7);
  x = ops.flatten(x);
  const hidden = scaled(4096, spec.width);
  x = ops.dropout('d1', x, 0.5);
  x = ops.linear('fc1', x, { inFeatures: channels * 49, outFeatures: hidden });
  x = ops.leakyRelu('act1', x);
  x = ops.dropout('d2', x, 0.5);
  x = ops.linear('fc2', x, { inFeatures: hidden, outFeatures: spec.numClasses });
  return ops.leakyRelu('act2', x);
}

registerArch('vgg16', {
  build: (ops, x, spec) => ({ logits: vgg16(ops, x, spec) }),
  firstConv: () => 'backbone.features.0',
});
