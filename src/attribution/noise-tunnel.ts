import * as tf from '@tensorflow/tfjs-core';
import { ensure } from '../io/index.js';
import { fillNormal } from '../compute/index.js';
import { checkInputs, internalBatchSize, resolveTargets, sampleRng } from './common.js';
import type { AttributeOptions, AttributionMethod, Attribution } from './types.js';

/** How NoiseTunnel combines the attributions of the noisy copies (Captum's nt_type). */
export type NoiseTunnelType = 'smoothgrad' | 'smoothgrad_sq' | 'vargrad';

/** Method name prefixes: `SmoothGrad` is NoiseTunnel(Saliency); `SmoothGrad.<Method>` wraps another method. */
export const NOISE_TUNNELS: Readonly<Record<string, NoiseTunnelType>> = { SmoothGrad: 'smoothgrad', SmoothGradSq: 'smoothgrad_sq', VarGrad: 'vargrad' };

/**
 * Captum's NoiseTunnel over `base`: each sample's attribution is computed on `ntSamples` noisy copies
 * x + N(0, σ²) (every pixel and channel; σ = `ntStdev` in input units, the image being in [0, 1]) for the same
 * target, then combined: smoothgrad = mean, smoothgrad_sq = mean of squares, vargrad = variance (mean of squares −
 * square of the mean). The noise comes from each sample's own seeded stream, so a sample's map does not depend on
 * its batch; the base method's own random parts are keyed by sample and copy. The copies of several samples go
 * through the base method together, up to the internal batch size.
 */
export function noiseTunnel(name: string, type: NoiseTunnelType, base: AttributionMethod): AttributionMethod {
  return {
    name,
    random: true,
    appliesTo: (arch) => base.appliesTo(arch),
    attribute(model, inputs, target, options?: AttributeOptions): Attribution {
      const n = checkInputs(model, inputs);
      const copies = options?.ntSamples ?? 5;
      const sigma = options?.ntStdev ?? 0.15;
      ensure(Number.isInteger(copies) && copies >= 1, `NoiseTunnel samples must be a positive integer, got ${copies}`);
      ensure(Number.isFinite(sigma) && sigma >= 0, `NoiseTunnel σ must be a number >= 0, got ${sigma}`);
      const targets = resolveTargets(model, inputs, target);
      const size = model.spec.inputSize;
      const plane = size * size * 3;
      const pixels = inputs.dataSync() as Float32Array;
      // Several samples' copies share a pass (as Captum's one expanded batch does), up to the internal batch size.
      const perPass = Math.max(1, Math.floor(internalBatchSize(options, model) / copies));
      let sum: Float64Array | undefined;
      let squares: Float64Array | undefined;
      let shape: Attribution['shape'] | undefined;
      for (let start = 0; start < n; start += perPass) {
        const end = Math.min(n, start + perPass);
        const rows = (end - start) * copies;
        const noisy = new Float32Array(rows * plane);
        const keys: string[] = [];
        for (let i = start; i < end; i++) {
          const block = noisy.subarray((i - start) * copies * plane, (i - start + 1) * copies * plane);
          fillNormal(sampleRng(options, 'noise-tunnel', i), block, 0, sigma);
          for (let j = 0; j < copies; j++) for (let p = 0; p < plane; p++) block[j * plane + p] += pixels[i * plane + p]!;
          const key = options?.sampleKeys?.[i] ?? i;
          for (let j = 0; j < copies; j++) keys.push(`${key}#noise${j}`);
        }
        const x = tf.tensor4d(noisy, [rows, size, size, 3]);
        let result: Attribution;
        try {
          result = base.attribute(model, x, keys.map((_, r) => targets[start + Math.floor(r / copies)]!), { ...options, sampleKeys: keys });
        } finally {
          x.dispose();
        }
        const per = result.data.length / rows;
        shape ??= [n, result.shape[1], result.shape[2], result.shape[3]];
        sum ??= new Float64Array(n * per);
        squares ??= new Float64Array(n * per);
        for (let r = 0; r < rows; r++) {
          const out = (start + Math.floor(r / copies)) * per;
          for (let p = 0; p < per; p++) {
            const v = result.data[r * per + p]!;
            sum[out + p] = sum[out + p]! + v;
            squares[out + p] = squares[out + p]! + v * v;
          }
        }
      }
      const data = new Float32Array(sum!.length);
      for (let k = 0; k < data.length; k++) {
        const mean = sum![k]! / copies;
        const meanSquare = squares![k]! / copies;
        data[k] = type === 'smoothgrad' ? mean : type === 'smoothgrad_sq' ? meanSquare : meanSquare - mean * mean;
      }
      return { data, shape: shape! };
    },
  };
}
