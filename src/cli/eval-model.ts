import { join } from 'node:path';
import type { Command } from 'commander';
import { openDataset, SPLITS, type Split } from '../data/index.js';
import { ensure, writeFileAtomic } from '../io/index.js';
import { loadModel } from '../nn/index.js';
import { BACKEND_NAMES, initBackend, type BackendName } from '../nn/backend/index.js';
import { evaluate, shardSetOf } from '../train/index.js';
import { parseCount } from './generate.js';
import { parseChoice } from './train.js';

/** The confusion matrix as aligned text: rows true class, columns predicted class. */
export function formatConfusion(confusion: number[][]): string {
  const width = Math.max(4, ...confusion.flat().map((v) => String(v).length)) + 1;
  const pad = (s: string | number) => String(s).padStart(width);
  const header = `${'true\\pred'.padEnd(10)}${confusion.map((_, j) => pad(j)).join('')}`;
  return [header, ...confusion.map((row, i) => `${String(i).padEnd(10)}${row.map(pad).join('')}`)].join('\n');
}

export function register(program: Command): void {
  program
    .command('eval-model')
    .description('accuracy and confusion matrix of a trained model on a dataset split')
    .requiredOption('--model <dir>', 'model folder (weights.safetensors + arch.json)')
    .requiredOption('--data <dir>', 'dataset folder written by fiveband generate')
    .option('--split <name>', `split: ${SPLITS.join(', ')}`, parseChoice('--split', SPLITS), 'test' as Split)
    .option('--batch <n>', 'batch size', parseCount('--batch', 1), 16)
    .option('--backend <name>', 'tfjs backend: wasm or cpu', parseChoice('--backend', BACKEND_NAMES), 'wasm' as BackendName)
    .option('--out <file>', 'JSON result (default <model>/eval-<split>.json)')
    .action(async (opts: { model: string; data: string; split: Split; batch: number; backend: BackendName; out?: string }) => {
      const dataset = await openDataset(opts.data);
      await initBackend(opts.backend);
      const model = await loadModel(opts.model);
      try {
        const { spec } = model;
        ensure(spec.numClasses === dataset.classes, `${opts.model} classifies ${spec.numClasses} classes, ${opts.data} has ${dataset.classes}`);
        ensure(spec.inputSize <= dataset.size, `${opts.model} takes ${spec.inputSize}×${spec.inputSize} inputs, larger than the data's ${dataset.size}×${dataset.size}`);
        const result = await evaluate(model, shardSetOf(dataset, opts.split), undefined, opts.batch);
        const out = opts.out ?? join(opts.model, `eval-${opts.split}.json`);
        await writeFileAtomic(out, JSON.stringify({
          model: opts.model, data: opts.data, split: opts.split, spec, accuracy: result.accuracy, correct: result.correct,
          total: result.total, confusion: result.confusion,
        }, null, 2) + '\n');
        process.stdout.write(`${opts.split} accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.total}) of ${spec.arch} on ${opts.data}\n`
          + `${formatConfusion(result.confusion)}\nwritten to ${out}\n`);
      } finally {
        model.dispose();
      }
    });
}
