/**
 * The experiment behind "no tie-sharing max-pool option" (BENCHMARKS, Conditioning): does giving a max-pool window's
 * gradient in equal shares to its exactly tied maxima (instead of to the first, as PyTorch and tfjs do) make input
 * gradients stable under a one-ulp change of the input? Saliency's raw gradient on the shipped quick VGG16 and
 * AlexNet, the quick run's first 16 test cells (run `npm start` first), cpu backend; per sample the relative L2
 * change ‖a − b‖ / max(‖a‖, ‖b‖) between the maps of x and of x moved by one ulp (conditioning's seeded draw).
 *
 *   npm run bench:ties [-- --run runs/quick --samples 16]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { inputGradient } from '../src/attribution/common.js';
import { oneUlpPerturbation } from '../src/attribution/conditioning.js';
import { predictedClasses } from '../src/attribution/index.js';
import { probePoolGeometry } from '../src/attribution/rules.js';
import type { PoolGeometry } from '../src/compute/index.js';
import { firstSamples } from '../src/attribution/sanity.js';
import { loadModel, plainRule, type NonlinearityKind, type NonlinearityRule } from '../src/nn/index.js';
import { initBackend } from '../src/compute/index.js';

const { values: args } = parseArgs({ options: { run: { type: 'string', default: 'runs/quick' }, samples: { type: 'string', default: '16' } } });

/** Plain gradients, except that a max-pool window's gradient goes in equal shares to every element equal to its maximum. */
function tieSharingRule(): NonlinearityRule {
  const geometries = new Map<string, PoolGeometry>();
  return {
    name: 'tie-sharing',
    apply(kind: NonlinearityKind, name: string, x: tf.Tensor, forward: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
      if (kind !== 'max_pool') return plainRule.apply(kind, name, x as tf.Tensor4D, forward);
      const op = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
        const [input, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
        const value = forward(input);
        save([input, value]);
        return {
          value,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [inp, out] = saved as [tf.Tensor4D, tf.Tensor4D];
            const [rows, height, width, channels] = inp.shape;
            const [, outHeight, outWidth] = out.shape;
            const key = `${name}:${height}x${width}`;
            if (!geometries.has(key)) geometries.set(key, probePoolGeometry(height, width, forward));
            const g = geometries.get(key)!;
            const [a, y, d] = [inp.dataSync(), out.dataSync(), dy.dataSync()];
            const grad = new Float32Array(a.length);
            const at = (r: number, h: number, w: number, c: number) => ((r * height + h) * width + w) * channels + c;
            for (let r = 0; r < rows; r++) {
              for (let oh = 0; oh < outHeight; oh++) {
                for (let ow = 0; ow < outWidth; ow++) {
                  for (let c = 0; c < channels; c++) {
                    const o = ((r * outHeight + oh) * outWidth + ow) * channels + c;
                    const tied: number[] = [];
                    for (let h = g.rowStart[oh]!; h <= g.rowEnd[oh]!; h++) {
                      for (let w = g.colStart[ow]!; w <= g.colEnd[ow]!; w++) if (a[at(r, h, w, c)] === y[o]) tied.push(at(r, h, w, c));
                    }
                    for (const i of tied) grad[i] = grad[i]! + d[o]! / tied.length;
                  }
                }
              }
            }
            return tf.tensor4d(grad, inp.shape);
          },
        };
      });
      return op(x);
    },
  };
}

await initBackend('cpu');
const n = Number(args.samples);
console.log(`Saliency's input gradient under a one-ulp input change, ${n} test cells of ${args.run}, cpu backend`);
console.log('| model | max-pool gradient | median rel. L2 | largest | samples moving > 1e-3 |\n|---|---|---|---|---|');
for (const key of ['vgg16/branch-1', 'alexnet/branch-1']) {
  const model = await loadModel(`weights/quick/${key}`);
  const size = model.spec.inputSize;
  const { images } = await firstSamples(`${args.run}/dataset`, 'test', n, size);
  const x = tf.tensor4d(images, [n, size, size, 3]);
  const nudged = tf.tensor4d(oneUlpPerturbation(images, 0), [n, size, size, 3]);
  const targets = predictedClasses(model, x);
  for (const [label, rule] of [['to the first maximum (default)', plainRule], ['shared among exact ties', tieSharingRule()]] as const) {
    const [a, b] = [inputGradient(model, x, targets, rule), inputGradient(model, nudged, targets, rule)].map((t) => t.dataSync());
    const per = a!.length / n;
    const changes: number[] = [];
    for (let i = 0; i < n; i++) {
      let [diff, na, nb] = [0, 0, 0];
      for (let j = i * per; j < (i + 1) * per; j++) {
        diff += (a![j]! - b![j]!) ** 2;
        na += a![j]! ** 2;
        nb += b![j]! ** 2;
      }
      changes.push(Math.sqrt(diff / Math.max(na, nb, 1e-30)));
    }
    changes.sort((p, q) => p - q);
    console.log(`| ${key} | ${label} | ${changes[n >> 1]!.toExponential(2)} | ${changes[n - 1]!.toExponential(2)} | ${changes.filter((c) => c > 1e-3).length} of ${n} |`);
  }
  tf.dispose([x, nudged]);
  model.dispose();
}
