import type { Command } from 'commander';
import { UserError } from '../io/index.js';
import type { ScoreSetting, TruthSource } from '../scoring/index.js';
import { parseCount } from './parse.js';
import { createProgress } from './progress.js';

interface ScoreOptions {
  heatmaps: string[];
  truth?: string;
  truthTensor?: string;
  data?: string;
  split: string;
  tensor?: string;
  setting: string;
  start?: string;
  step?: string;
  steps?: string;
  clamp?: string;
  clampOrder: string;
  labels?: string;
  ids?: string;
  metrics: string;
  workers?: string;
  out: string;
  normalise: boolean;
  abs?: boolean;
  pandasIndex?: boolean;
  long: boolean;
  seed: number;
}

/** `fiveband score`: five-band scores of anyone's heatmaps against banded ground truth. */
export function register(program: Command): void {
  program
    .command('score')
    .description('score heatmaps (.npy / .safetensors, n×C×H×W or n×H×W) against banded ground truth with the five-band score')
    .requiredOption('--heatmaps <paths...>', 'heatmap files or folders of shards, each [METHOD=]PATH (METHOD defaults to the file name)')
    .option('--truth <file>', 'ground truth: n×H×W floats 0/0.4/0.9 or integer bands 0/1/2 (.npy / .safetensors)')
    .option('--data <dir>', 'a fiveband dataset folder: ground truth, ids and true classes of --split')
    .option('--split <name>', 'dataset split (train, val, test)', 'test')
    .option('--truth-tensor <name>', 'tensor name in a safetensors ground-truth file')
    .option('--tensor <name>', 'tensor name in safetensors heatmap files')
    .option('--setting <name>', 'threshold sweep preset: v1, v1-clamp, v2, mab', 'v1')
    .option('--start <g0,g1,g2,g3>', 'custom start thresholds (overrides the preset; write --start=-0.5,-0.3,0.3,0.5)')
    .option('--step <d>', 'custom step towards 0 per threshold set')
    .option('--steps <n>', 'custom number of threshold sets')
    .option('--clamp <lo,hi>', 'clamp the attribution to [lo, hi] (write --clamp=-0.1,0.1)')
    .option('--clamp-order <order>', 'raw: clamp the raw attribution (reference code); paper: normalise, then clamp', 'raw')
    .option('--abs', 'score |channel sum| instead of the signed sum (negative evidence counts as relevance; the paper\'s suggestion for DeepLift)')
    .option('--no-normalise', 'score the channel sum as is, without dividing by its max |value| (for maps already on the 0/0.4/0.9 scale, e.g. mab)')
    .option('--labels <file>', 'CSV with a y_pred column (and y0 unless the dataset gives it; optional id column)')
    .option('--ids <file>', 'sample ids, one per line (default: 0 … n-1)')
    .option('--metrics <list>', 'extra metrics: all, none, or a comma list of pointing_game, relevance_mass_accuracy, relevance_rank_accuracy, band_iou', 'all')
    .option('--workers <n>', 'worker threads (default: all cores)')
    .option('--out <dir>', 'output folder', 'scores')
    .option('--seed <s>', 'seed of the bootstrap intervals in statistics.json', parseCount('--seed', 0), 0)
    .option('--pandas-index', "write the reference's unnamed pandas index column first in <method>.csv")
    .option('--no-long', 'skip scores_long.csv (one row per sample × method × threshold set)')
    .action(async (options: ScoreOptions) => {
      await score(options);
    });
}

async function score(options: ScoreOptions): Promise<void> {
  const { defaultWorkerCount, degenerateNote, formatSummaryTable, parseHeatmapArgument, runScore } = await import('../scoring/index.js');
  const setting = await settingFrom(options);
  const metrics = options.metrics === 'none' ? [] : options.metrics === 'all' ? 'all' : options.metrics.split(',').map((s) => s.trim());
  const workers = options.workers === undefined ? defaultWorkerCount() : positiveInteger(options.workers, '--workers');
  const heatmaps = options.heatmaps.map(parseHeatmapArgument);
  if ((options.truth === undefined) === (options.data === undefined)) {
    throw new UserError('give the ground truth with either --truth FILE or --data DIR [--split test]');
  }
  const truth: TruthSource = options.data !== undefined ? { dataDir: options.data, split: options.split } : { file: options.truth!, tensor: options.truthTensor };
  const progress = methodProgress();
  let result;
  try {
    result = await runScore({
      heatmaps, truth, out: options.out, setting, metrics, workers, tensor: options.tensor, idsFile: options.ids, labelsFile: options.labels,
      pandasIndex: options.pandasIndex ?? false, long: options.long, seed: options.seed, onProgress: progress.update,
      onNote: (note) => process.stderr.write(`fiveband: note: ${note}\n`),
    });
  } finally {
    progress.stop();
  }
  const { paths, summary } = result;
  process.stdout.write(`${formatSummaryTable(summary)}\n\nsetting ${setting.name} (${setting.steps} threshold sets); wrote:\n${paths.map((p) => `  ${p}`).join('\n')}\n`);
  for (const { method, ids } of result.degenerate) process.stderr.write(`fiveband: note: ${degenerateNote(method, ids)}\n`);
}

/** One progress bar per method (`score <method>`), the previous one closed when the next method starts. */
function methodProgress(): { update: (method: string, done: number, total: number) => void; stop: () => void } {
  let current: { method: string; bar: ReturnType<typeof createProgress> } | null = null;
  return {
    update(method, done, total) {
      if (current?.method !== method) {
        current?.bar.stop();
        current = { method, bar: createProgress(`score ${method}`) };
      }
      current.bar.update(done, total);
    },
    stop() {
      current?.bar.stop();
    },
  };
}

async function settingFrom(options: ScoreOptions): Promise<ScoreSetting> {
  const { presetSetting, validateSetting } = await import('../scoring/index.js');
  const preset = presetSetting(options.setting);
  if (options.clampOrder !== 'raw' && options.clampOrder !== 'paper') throw new UserError(`--clamp-order must be raw or paper, not "${options.clampOrder}"`);
  const custom = options.start !== undefined || options.step !== undefined || options.steps !== undefined || options.clamp !== undefined || options.clampOrder !== 'raw' || !options.normalise;
  const suffix = `${custom ? '-custom' : ''}${options.abs ? '-abs' : ''}`;
  let adjustment = preset.adjustment;
  if (options.clamp !== undefined) {
    const [lo, hi] = numberList(options.clamp, '--clamp', 2);
    adjustment = { kind: 'clamp-raw', lo: lo!, hi: hi! };
  }
  if (options.clampOrder === 'paper') {
    if (adjustment.kind !== 'clamp-raw') throw new UserError('--clamp-order paper needs a clamp (--clamp or --setting v1-clamp)');
    adjustment = { ...adjustment, kind: 'clamp-normalised' };
  }
  if (!options.normalise) {
    if (adjustment.kind !== 'sum') throw new UserError('--no-normalise cannot be combined with a clamp');
    adjustment = { kind: 'sum-unnormalised' };
  }
  return validateSetting({
    name: `${preset.name}${suffix}`,
    start: options.start !== undefined ? (numberList(options.start, '--start', 4) as unknown as ScoreSetting['start']) : preset.start,
    step: options.step !== undefined ? numberList(options.step, '--step', 1)[0]! : preset.step,
    steps: options.steps !== undefined ? positiveInteger(options.steps, '--steps') : preset.steps,
    adjustment: options.abs ? { ...adjustment, absolute: true } : adjustment,
  });
}

function numberList(text: string, option: string, count: number): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length !== count || !values.every(Number.isFinite) || text.trim() === '') {
    throw new UserError(`${option} needs ${count} comma-separated number${count > 1 ? 's' : ''}, not "${text}"`);
  }
  return values;
}

function positiveInteger(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UserError(`${option} needs a positive integer, not "${text}"`);
  return value;
}
