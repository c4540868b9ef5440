// The whole pipeline through the library API, at toy scale (runs in a few seconds; the test suite runs it).
// Build first (`npm run build`), then: node dist/examples/library.js [OUT_DIR]
import * as tf from '@tensorflow/tfjs-core';
import {
  createModel, generateDataset, getMethod, initBackend, openDataset, PRESETS, scoreHeatmaps, scoring,
} from '../src/index.js';

export async function runExample(out: string): Promise<{ meanRecall: number; meanPrecision: number; n: number }> {
  // 1. A tiny seeded dataset: 64×64 cells, one test shard of 8 samples.
  await generateDataset({ out, size: 64, seed: 7, shards: { train: 1, val: 1, test: 1 }, perShard: 8, workers: 1 });
  const dataset = await openDataset(out);
  const shard = await dataset.readShard('test', 0);

  // 2. A classifier (untrained here; see `fiveband train`) and one attribution method.
  await initBackend('wasm');
  const model = createModel({ arch: 'spa', inputSize: 64, numClasses: 10, width: 1 }, 1);
  const x = tf.tidy(() => tf.tensor4d(shard.images, [shard.n, 64, 64, 3], 'int32').toFloat().div(255) as tf.Tensor4D);
  const saliency = getMethod('Saliency').attribute(model, x, undefined); // target: the predicted class
  x.dispose();
  model.dispose();

  // 3. Five-band scores against the ground-truth bands, over the paper's V2 sweep.
  const [n, channels, height, width] = saliency.shape;
  const truth = scoring.toTruthBands(Float32Array.from(shard.bands, (b) => [0, 0.4, 0.9][b]!));
  const scores = await scoreHeatmaps({ data: saliency.data, n, channels, height, width }, { bands: truth, n, height, width }, { setting: PRESETS.v2! });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    n,
    meanRecall: mean(scores.map((s) => mean(Array.from(s.R)))),
    meanPrecision: mean(scores.map((s) => mean(Array.from(s.P)))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runExample(process.argv[2] ?? 'runs/library-example'));
}
