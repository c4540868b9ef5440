import { registerArch, scaled } from '../arch.js';

/**
 * SPA / mabCAM as the reference's `mabSPA` (spec §4.1). Backbone: four Conv (stride 2, no padding) → BN →
 * ReLU stages `convs.i`, `bns.i`, `act.i` with 7, 7, 17, 2·48 channels. Product attention: A = channels
 * [0, 48), Bk = [48, 96) of the last map, `softmax` of (A Bkᵀ)/√48 over the last axis → 48×48, flattened →
 * `fc` Linear(2304, classes). mab head: Bk → four ConvTranspose2d (stride 2) `mab.0..3` 48→17 (k7) →7 (k3)
 * →7 (k3) →3 (k3, no bias), no activations; cropped to the top-left N×N.
 */
registerArch('spa', {
  build: (ops, x, spec) => {
    const [c0, c1, c2, half] = [7, 7, 17, 48].map((c) => scaled(c, spec.width)) as [number, number, number, number];
    const stages: Array<[number, number, number]> = [[3, c0, 7], [c0, c1, 3], [c1, c2, 3], [c2, 2 * half, 3]];
    stages.forEach(([inC, outC, k], i) => {
      x = ops.conv2d(`convs.${i}`, x, { inChannels: inC, outChannels: outC, kernel: k, stride: 2, bias: true });
      x = ops.batchNorm2d(`bns.${i}`, x, outC);
      x = ops.relu(`act.${i}`, x);
    });
    let h = ops.channels(x, half, half);
    const mab: Array<[number, number, number, boolean]> = [[half, c2, 7, true], [c2, c1, 3, true], [c1, c0, 3, true], [c0, 3, 3, false]];
    mab.forEach(([inC, outC, k, bias], i) => {
      h = ops.convTranspose2d(`mab.${i}`, h, { inChannels: inC, outChannels: outC, kernel: k, stride: 2, bias });
    });
    const attention = ops.softmax('softmax', ops.channelProduct(ops.channels(x, 0, half), ops.channels(x, half, half)));
    const logits = ops.linear('fc', ops.flatten(attention), { inFeatures: half * half, outFeatures: spec.numClasses });
    return { logits, heatmapLogits: ops.cropTopLeft(h, spec.inputSize) };
  },
  firstConv: () => 'convs.0',
});
