import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, openDataset, resizeBands } from '../../src/data/index.js';
import { writeSafetensors } from '../../src/io/index.js';
import { Rng } from '../../src/rng/index.js';
import { presetSetting, scoreHeatmaps, toTruthBands, writeOutputs, type SampleLabels } from '../../src/scoring/index.js';

export const DATA_SIZE = 64;
export const SAMPLES = 8;
/** Samples the fixture's models predict wrongly (label + 1). */
export const WRONG = new Set([2, 5]);

type Maker = (truth: Float32Array, n: number, size: number, rng: Rng) => { data: Float32Array; channels: number };

/** Synthetic attributions with known character: Saliency is the ground truth plus a little noise (high R and P), the rest noise. */
const MAKERS: Record<string, Maker> = {
  Saliency: (t, n, s, rng) => perChannel(t, n, s, 3, (v) => Math.abs(v + rng.normal(0, 0.05))),
  DeepLift: (t, n, s, rng) => perChannel(t, n, s, 3, () => rng.normal(0, 1)),
  DeepLiftShap: (t, n, s, rng) => perChannel(t, n, s, 3, (v) => 0.5 * v + rng.normal(0, 0.5)),
  GuidedGradCam: (t, n, s, rng) => perChannel(t, n, s, 3, (v, c) => (c === 0 ? v : -0.5 * v) * rng.uniform(0, 1)),
  Deconvolution: (t, n, s) => perChannel(t, n, s, 3, (_v, c, p) => Math.sin(p / 3 + c) * ((p % 7) === 0 ? 1 : 0.1)),
  mab: (t, n, s) => perChannel(t, n, s, 1, (v) => v),
};

function perChannel(truth: Float32Array, n: number, size: number, channels: number, f: (v: number, c: number, p: number) => number) {
  const px = size * size;
  const data = new Float32Array(n * channels * px);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) for (let p = 0; p < px; p++) data[(i * channels + c) * px + p] = f(truth[i * px + p]!, c, p);
  return { data, channels };
}

interface FixtureModel {
  key: string;
  arch: string;
  role: 'branch' | 'base' | 'mab' | 'depth';
  branch?: number;
  depth?: number;
  inputSize: number;
  accuracy: number;
  /** preset → methods scored. */
  scores: Record<string, string[]>;
  /** methods with attribution files. */
  attributions: string[];
}

export const FIXTURE_MODELS: FixtureModel[] = [
  { key: 'alexnet/base', arch: 'alexnet', role: 'base', inputSize: 32, accuracy: 0.95, scores: {}, attributions: [] },
  {
    key: 'alexnet/branch-1', arch: 'alexnet', role: 'branch', branch: 1, inputSize: 32, accuracy: 0.96,
    scores: { v1: ['Saliency', 'DeepLift', 'DeepLiftShap', 'GuidedGradCam', 'Deconvolution'], 'v1-clamp': ['Saliency', 'DeepLift'] },
    attributions: ['Saliency', 'DeepLift', 'DeepLiftShap', 'GuidedGradCam', 'Deconvolution'],
  },
  {
    key: 'alexnet/branch-2', arch: 'alexnet', role: 'branch', branch: 2, inputSize: 32, accuracy: 0.85,
    scores: { v1: ['Saliency', 'DeepLift', 'DeepLiftShap', 'GuidedGradCam', 'Deconvolution'], 'v1-clamp': ['Saliency', 'DeepLift'] }, attributions: [],
  },
  { key: 'spa', arch: 'spa', role: 'mab', inputSize: 64, accuracy: 0.93, scores: { v2: ['Saliency', 'DeepLift'], mab: ['mab'] }, attributions: ['mab', 'Saliency'] },
  { key: 'alexnet-depth/k1', arch: 'alexnet-depth', role: 'depth', depth: 1, inputSize: 64, accuracy: 0.92, scores: { v1: ['Saliency', 'DeepLift'] }, attributions: [] },
  { key: 'alexnet-depth/k3', arch: 'alexnet-depth', role: 'depth', depth: 3, inputSize: 64, accuracy: 0.91, scores: { v1: ['Saliency', 'DeepLift'] }, attributions: [] },
];

const step = (method: string, mode: 'cascading' | 'independent', layers: number, spearman: number) => ({
  method, mode, layers, layer: `l${layers}`, spearman_abs: spearman, spearman_signed: spearman, ssim_abs: spearman, Rmu: 0.3, Pmu: 0.1,
});
export const SANITY_FIXTURE = {
  format: 'fiveband-sanity/1', model: 'm', samples: 4, layers: ['l1', 'l2', 'l3'],
  trained: { Saliency: { Rmu: 0.5, Pmu: 0.3, preset: 'v1' }, NullBlob: { Rmu: 0.4, Pmu: 0.1, preset: 'v1' } },
  steps: [
    step('Saliency', 'cascading', 1, 0.8), step('Saliency', 'cascading', 3, 0.2), step('Saliency', 'independent', 1, 0.8), step('Saliency', 'independent', 3, 0.6),
    step('NullBlob', 'cascading', 1, 1), step('NullBlob', 'cascading', 3, 1), step('NullBlob', 'independent', 1, 1), step('NullBlob', 'independent', 3, 1),
  ],
  insensitive: ['NullBlob'],
};
const row = (method: string, perturbation: 'one-ulp' | 'batch-1', moved: number) => ({
  method, perturbation, preset: 'v1', samples: 4, map_rel_l2_median: moved / 10, map_rel_l2_max: moved / 5, rmu_change_max: moved / 20, pmu_change_max: 0, rmu_moved: moved, pmu_moved: 0,
});
export const CONDITIONING_FIXTURE = {
  format: 'fiveband-conditioning/1', model: 'm', samples: 4, tolerance: 0.01,
  rows: [row('Saliency', 'one-ulp', 0), row('Saliency', 'batch-1', 0), row('DeepLift', 'one-ulp', 0.5), row('DeepLift', 'batch-1', 0)],
  dominated: ['DeepLift'],
};

function csv(header: string[], rows: number[][]): string {
  return `${header.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 1)}\n`);
}

/**
 * A tiny synthetic study run folder: a 64-px dataset of 8 test samples, model folders with curves and
 * summaries (no weights: the report never loads them), evaluations, attributions and their scores.
 */
export async function buildTinyRun(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-report-'));
  await generateDataset({ out: join(dir, 'dataset'), size: DATA_SIZE, seed: 3, shards: { train: 0, val: 0, test: 1 }, perShard: SAMPLES, workers: 1 });
  const dataset = await openDataset(join(dir, 'dataset'));
  const shard = await dataset.readShard('test', 0);
  const labels = Array.from(shard.labels);
  const predicted = labels.map((y, i) => (WRONG.has(i) ? (y + 1) % 10 : y));
  const tasks: Record<string, unknown> = {};
  for (const model of FIXTURE_MODELS) {
    const mdir = join(dir, 'models', ...model.key.split('/'));
    await mkdir(mdir, { recursive: true });
    if (model.role === 'mab') {
      await writeFile(join(mdir, 'curves.csv'), csv(['iteration', 'loss', 'ce_loss', 'mab_loss'], Array.from({ length: 40 }, (_, i) => [i, 3 - i / 20, 2 - i / 30, 1 - i / 60])));
      await writeFile(join(mdir, 'validation.csv'), csv(['epoch', 'validation_accuracy'], [[0, 0.5], [1, 0.8], [2, 0.93]]));
    } else if (model.role === 'branch') {
      await writeFile(join(mdir, 'curves.csv'), csv(['iteration', 'average_loss', 'validation_shard', 'validation_accuracy', 'best_accuracy', 'n_early'],
        Array.from({ length: 10 }, (_, i) => [100 + 4 * i, 0.5 - i / 40, 0, 0.8 + i / 100, 0.8 + i / 100, 0])));
      await writeJson(join(mdir, 'summary.json'), { mode: 'branch', branch: model.branch, totalValidationAccuracy: model.accuracy });
    } else {
      await writeFile(join(mdir, 'curves.csv'), csv(['iteration', 'average_loss'], Array.from({ length: 25 }, (_, i) => [4 * (i + 1), 2.3 - i / 15])));
    }
    await writeJson(join(dir, 'eval', ...model.key.split('/')) + '.json', { accuracy: model.accuracy, correct: Math.round(model.accuracy * 400), total: 400, confusion: [] });
    tasks[`train:${model.key}`] = { kind: 'train', wallSeconds: 12.5, finishedAt: '2025-01-01T00:10:00.000Z', outputs: { [`models/${model.key}/curves.csv`]: '0'.repeat(64) } };

    const size = model.inputSize;
    const truthBands = resizeBands(shard.bands, SAMPLES, DATA_SIZE, size);
    const truthValues = Float32Array.from(truthBands, (b) => [0, 0.4, 0.9][b]!);
    const heatmaps: Record<string, { data: Float32Array; channels: number }> = {};
    const methods = [...new Set([...model.attributions, ...Object.values(model.scores).flat()])];
    for (const method of methods) heatmaps[method] = MAKERS[method]!(truthValues, SAMPLES, size, Rng.derive('fixture', model.key, method));
    for (const method of model.attributions) {
      const { data, channels } = heatmaps[method]!;
      await writeSafetensors(join(dir, 'explain', ...model.key.split('/'), 'attributions', method, 'shard-0000.safetensors'),
        { attributions: { dtype: 'F32', shape: [SAMPLES, channels, size, size], data } },
        { method, ids: JSON.stringify(shard.ids), labels: JSON.stringify(labels), predicted: JSON.stringify(predicted) });
    }
    const sampleLabels: SampleLabels[] = labels.map((y0, i) => ({ y0, yPred: predicted[i]! }));
    for (const [preset, names] of Object.entries(model.scores)) {
      const setting = presetSetting(preset);
      const scored = [];
      for (const method of names) {
        const { data, channels } = heatmaps[method]!;
        const scores = await scoreHeatmaps({ data, n: SAMPLES, channels, height: size, width: size },
          { bands: toTruthBands(truthBands), n: SAMPLES, height: size, width: size }, { setting, workers: 1 });
        scored.push({ method, scores });
      }
      await writeOutputs(join(dir, 'explain', ...model.key.split('/'), 'scores', preset), { setting, ids: shard.ids, labels: sampleLabels, methods: scored, metricColumns: [] }, { long: false });
    }
  }
  // Checks of the first AlexNet branch with known numbers: Saliency falls with randomisation, NullBlob stays;
  // DeepLift's scores move under one ulp on half the samples (dominated), Saliency's on none.
  await writeJson(join(dir, 'sanity', 'alexnet', 'branch-1', 'sanity.json'), SANITY_FIXTURE);
  await writeJson(join(dir, 'conditioning', 'alexnet', 'branch-1', 'conditioning.json'), CONDITIONING_FIXTURE);
  await writeJson(join(dir, 'study.json'), {
    format: 'fiveband-study-run/1',
    config: {
      format: 'fiveband-study/1', profile: 'quick', seed: 3, backend: 'wasm', archs: ['alexnet', 'spa', 'alexnet-depth'],
      methods: ['Saliency', 'DeepLift', 'DeepLiftShap', 'GuidedGradCam', 'Deconvolution'], branches: 2, depths: [1, 3],
      dataset: { size: DATA_SIZE, classes: 10, shards: { train: 0, val: 0, test: 1 }, perShard: SAMPLES },
    },
    version: '0.1.0',
    machine: { cores: 2, cpu: 'test cpu' },
    startedAt: '2025-01-01T00:00:00.000Z',
    tasks,
    models: FIXTURE_MODELS.map((m) => ({
      key: m.key, arch: m.arch, role: m.role, ...(m.branch ? { branch: m.branch } : {}), ...(m.depth ? { depth: m.depth } : {}), dir: `models/${m.key}`,
      trainSettings: { mode: m.role === 'branch' ? 'branches' : m.role === 'mab' ? 'mab' : 'continuous', epochs: 4, branchEpochs: 2, batchSize: 16, lr: 0.0003, limit: 48, refresh: 0.3, inputSize: m.inputSize, width: 0.25 },
    })),
  });
  return dir;
}

/**
 * A hand-written score folder whose numbers are known: Saliency R_mu 0.5 / P_u 0.3, DeepLift R_mu 0.6 /
 * P_u 0.45, mab R = P = 0.9 / 0.85 on every sample.
 */
export async function buildKnownScoreFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-report-known-'));
  const values: Record<string, { Rmu: number; Ru: number; Pmu: number; Pu: number }> = {
    Saliency: { Rmu: 0.5, Ru: 0.7, Pmu: 0.2, Pu: 0.3 },
    DeepLift: { Rmu: 0.6, Ru: 0.65, Pmu: 0.25, Pu: 0.45 },
    mab: { Rmu: 0.9, Ru: 0.9, Pmu: 0.85, Pu: 0.85 },
  };
  const methods: Record<string, unknown> = {};
  for (const [method, v] of Object.entries(values)) {
    const rows = Array.from({ length: 4 }, (_, i) => [`s${i}`, i, i, 1, 0.9, 0.95, 0, v.Rmu, v.Ru, 0, v.Pmu, v.Pu, 0].join(','));
    await writeFile(join(dir, `${method}.csv`), `id,y0,y_pred,pred_is_correct,Amu,Au,Au1,Rmu,Ru,Ru1,Pmu,Pu,Pu1\n${rows.join('\n')}\n`);
    await writeFile(join(dir, `roc_${method}.csv`), 'threshold_index,g0,g1,g2,g3,mean_recall,mean_FPR\n0,-0.5,-0.3,0.3,0.5,0.4,0.1\n1,-0.4,-0.2,0.2,0.4,0.5,0.2\n');
    methods[method] = { per_sample_file: `${method}.csv`, roc_file: `roc_${method}.csv`, n: 4 };
  }
  await writeJson(join(dir, 'summary.json'), { setting: { name: 'v1' }, n: 4, labels: true, methods });
  return dir;
}
