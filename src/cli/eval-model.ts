import type { Command } from 'commander';
import { SPLITS, type Split } from '../data/splits.js';
import type { BackendChoice } from '../nn/names.js';
import { backendLine, backendOption, parseChoice, parseCount, startBackend } from './parse.js';

/** The confusion matrix as aligned text: rows true class, columns predicted class. */
export function formatConfusion(confusion: number[][]): string {
  const width = Math.max(4, ...confusion.flat().map((v) => String(v).length)) + 1;
  const pad = (s: string | number) => String(s).padStart(width);
  const header = `${'true\\pred'.padEnd(10)}${confusion.map((_, j) => pad(j)).join('')}`;
  return [header, ...confusion.map((row, i) => `${String(i).padEnd(10)}${row.map(pad).join('')}`)].join('\n');
}

export function register(program: Command): void {
  backendOption(program
    .command('eval-model')
    .description('accuracy and confusion matrix of a trained model on a dataset split')
    .requiredOption('--model <dir>', 'model folder (weights.safetensors + arch.json)')
    .requiredOption('--data <dir>', 'dataset folder written by fiveband generate')
    .option('--split <name>', `split: ${SPLITS.join(', ')}`, parseChoice('--split', SPLITS), 'test' as Split)
    .option('--batch <n>', 'batch size', parseCount('--batch', 1), 16)
    .option('--out <file>', 'JSON result (default <model>/eval-<split>.json)'))
    .action(async (opts: { model: string; data: string; split: Split; batch: number; backend?: BackendChoice; out?: string }) => {
      const { evaluateModel } = await import('../train/index.js');
      const backend = await startBackend(opts.backend);
      const result = await evaluateModel({ modelDir: opts.model, dataDir: opts.data, split: opts.split, batch: opts.batch, backend, out: opts.out });
      process.stdout.write(`${opts.split} accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.total}) of ${result.spec.arch} on ${opts.data}\n`
        + `${formatConfusion(result.confusion)}\nwritten to ${result.out}\n${await backendLine()}\n`);
    });
}
