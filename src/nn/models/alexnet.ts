import { registerArch, scaled, type Ops } from '../arch.js';
import type { ArchSpec } from '../model.js';

/**
 * AlexNet as the reference's `AdjAlexnet` (spec §2.1): torchvision's `features` and 6×6 adaptive average pool
 * under `backbone.`, then Dropout(0.5) → Linear(9216, 4096) → LeakyReLU(0.01) → Dropout → Linear(4096, 4096)
 * → LeakyReLU → Linear(4096, classes) as `d1, fc1, act1, d2, fc2, act2, fc3`. torchvision's ImageNet
 * classifier (`backbone.classifier`) is never used by the reference and is left out.
 *
 * `alexnet-depth` (`AdjAlexDepth`) prepends `depth` blocks `block<i>.cv` Conv(3→3, k3, pad 2, dilation 2) +
 * `block<i>.act` LeakyReLU. The reference always builds 2 blocks whatever the setting (§5.4 item 15); here
 * `depth` is honoured (default 2). `blockInit: 'kaiming'` starts the blocks from kaiming_normal weights (fan_in =
 * fan_out = 27 here) and zero biases: from scratch, PyTorch's default left k ≥ 2 at chance (README, "Differences").
 */
export function alexnetHead<T>(ops: Ops<T>, x: T, spec: ArchSpec): T {
  const w = spec.width;
  const c = [64, 192, 384, 256, 256].map((n) => scaled(n, w));
  const f = 'backbone.features';
  x = ops.conv2d(`${f}.0`, x, { inChannels: 3, outChannels: c[0]!, kernel: 11, stride: 4, padding: 2, bias: true });
  x = ops.relu(`${f}.1`, x);
  x = ops.maxPool2d(`${f}.2`, x, { kernel: 3, stride: 2 });
  x = ops.conv2d(`${f}.3`, x, { inChannels: c[0]!, outChannels: c[1]!, kernel: 5, padding: 2, bias: true });
  x = ops.relu(`${f}.4`, x);
  x = ops.maxPool2d(`${f}.5`, x, { kernel: 3, stride: 2 });
  x = ops.conv2d(`${f}.6`, x, { inChannels: c[1]!, outChannels: c[2]!, kernel: 3, padding: 1, bias: true });
  x = ops.relu(`${f}.7`, x);
  x = ops.conv2d(`${f}.8`, x, { inChannels: c[2]!, outChannels: c[3]!, kernel: 3, padding: 1, bias: true });
  x = ops.relu(`${f}.9`, x);
  x = ops.conv2d(`${f}.10`, x, { inChannels: c[3]!, outChannels: c[4]!, kernel: 3, padding: 1, bias: true });
  x = ops.relu(`${f}.11`, x);
  x = ops.maxPool2d(`${f}.12`, x, { kernel: 3, stride: 2 });
  x = ops.adaptiveAvgPool2d('backbone.avgpool', x, 6);
  x = ops.flatten(x);
  const hidden = scaled(4096, w);
  x = ops.dropout('d1', x, 0.5);
  x = ops.linear('fc1', x, { inFeatures: c[4]! * 36, outFeatures: hidden });
  x = ops.leakyRelu('act1', x);
  x = ops.dropout('d2', x, 0.5);
  x = ops.linear('fc2', x, { inFeatures: hidden, outFeatures: hidden });
  x = ops.leakyRelu('act2', x);
  return ops.linear('fc3', x, { inFeatures: hidden, outFeatures: spec.numClasses });
}

registerArch('alexnet', {
  build: (ops, x, spec) => ({ logits: alexnetHead(ops, x, spec) }),
  firstConv: () => 'backbone.features.0',
});

/** The reference's fixed number of extra blocks. */
export const DEFAULT_ALEXNET_DEPTH = 2;

registerArch('alexnet-depth', {
  build: (ops, x, spec) => {
    for (let i = 0; i < (spec.depth ?? DEFAULT_ALEXNET_DEPTH); i++) {
      x = ops.conv2d(`block${i}.cv`, x, {
        inChannels: 3, outChannels: 3, kernel: 3, padding: 2, dilation: 2, bias: true,
        ...(spec.blockInit === 'kaiming' ? { init: 'kaiming_fan_out' as const } : {}),
      });
      x = ops.leakyRelu(`block${i}.act`, x);
    }
    return { logits: alexnetHead(ops, x, spec) };
  },
  // The reference's select_first_layer is inherited from AdjAlexnet: features.0, not the extra blocks.
  firstConv: () => 'backbone.features.0',
});
