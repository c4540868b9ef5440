import * as tf from '@tensorflow/tfjs-core';

interface ResizeGradAttrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

/** Source coordinate of output row/column i, as tfjs's resize kernels compute it. */
function sourceScale(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
}

/** Per output row (or column): [lower source index, its weight, upper source index, its weight]. */
function bilinearTaps(inSize: number, outSize: number, attrs: ResizeGradAttrs): Array<[number, number, number, number]> {
  const scale = sourceScale(inSize, outSize, attrs.alignCorners);
  return Array.from({ length: outSize }, (_, i) => {
    const frac = attrs.halfPixelCenters ? scale * (i + 0.5) - 0.5 : scale * i;
    const lo = Math.max(0, Math.floor(frac));
    const hi = Math.min(inSize - 1, Math.ceil(frac));
    const t = frac - lo;
    return [lo, 1 - t, hi, t];
  });
}

function nearestTaps(inSize: number, outSize: number, attrs: ResizeGradAttrs): number[] {
  const scale = sourceScale(inSize, outSize, attrs.alignCorners);
  return Array.from({ length: outSize }, (_, i) => {
    const frac = attrs.halfPixelCenters ? scale * (i + 0.5) : scale * i;
    const nearest = Math.min(inSize - 1, attrs.alignCorners ? Math.round(frac) : Math.floor(frac));
    return attrs.halfPixelCenters ? Math.max(0, nearest) : nearest;
  });
}

/**
 * The exact adjoint of tfjs's bilinear / nearest-neighbour resize (the cpu kernels' formulas), honouring
 * alignCorners and halfPixelCenters. Stock gradients ignore halfPixelCenters on both backends, the cpu
 * nearest-neighbour gradient mixes up batches, and the cpu bilinear one mislabels its shape.
 */
function resizeGrad(kind: 'bilinear' | 'nearest'): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const images = inputs.images!;
    const dy = inputs.dy!;
    const [batch, inH, inW, depth] = images.shape as [number, number, number, number];
    const [, outH, outW] = dy.shape as [number, number, number, number];
    const options = attrs as unknown as ResizeGradAttrs;
    const kernelBackend = backend as tf.KernelBackend;
    const dyValues = kernelBackend.readSync(dy.dataId) as Float32Array;
    const dx = new Float32Array(batch * inH * inW * depth);
    const add = (b: number, r: number, c: number, weight: number, from: number) => {
      if (weight === 0) return;
      const at = ((b * inH + r) * inW + c) * depth;
      for (let d = 0; d < depth; d++) dx[at + d] += weight * dyValues[from + d]!;
    };
    if (kind === 'bilinear') {
      const rows = bilinearTaps(inH, outH, options);
      const cols = bilinearTaps(inW, outW, options);
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < outH; i++) {
          const [r0, wr0, r1, wr1] = rows[i]!;
          for (let j = 0; j < outW; j++) {
            const [c0, wc0, c1, wc1] = cols[j]!;
            const from = ((b * outH + i) * outW + j) * depth;
            add(b, r0, c0, wr0 * wc0, from);
            add(b, r0, c1, wr0 * wc1, from);
            add(b, r1, c0, wr1 * wc0, from);
            add(b, r1, c1, wr1 * wc1, from);
          }
        }
      }
    } else {
      const rows = nearestTaps(inH, outH, options);
      const cols = nearestTaps(inW, outW, options);
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < outH; i++) {
          for (let j = 0; j < outW; j++) add(b, rows[i]!, cols[j]!, 1, ((b * outH + i) * outW + j) * depth);
        }
      }
    }
    return { dataId: kernelBackend.write(dx, images.shape, 'float32'), shape: images.shape, dtype: 'float32' };
  };
}

export function resizeGradConfigs(backendName: string): tf.KernelConfig[] {
  return [
    { kernelName: tf.ResizeBilinearGrad, backendName, kernelFunc: resizeGrad('bilinear') },
    { kernelName: tf.ResizeNearestNeighborGrad, backendName, kernelFunc: resizeGrad('nearest') },
  ];
}
