import { copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFolder, UserError, sha256File, writeFileAtomic } from '../io/index.js';
import { canonicalJson } from '../io/index.js';
import { STUDY_FILE, type StudyManifest } from './manifest.js';
import type { Hyper } from '../train/index.js';
import { hyperOf, modelDir, studyModels, type StudyModel } from './plan.js';
import { ALL_METHODS, STUDY_ARCHS, trainingData, type StudyConfig } from './profiles.js';

/** Files of a model folder that are shipped (the training checkpoint is gone once a run finished). */
const SHIPPED_FILES = ['weights.safetensors', 'arch.json', 'summary.json', 'curves.csv', 'validation.csv'];

/** `weights/<name>/manifest.json`: how the shipped models were made, and every file's sha256. */
export interface PretrainedManifest {
  format: 'fiveband-pretrained/1';
  /** The commands that trained them (each run trained some of the models). */
  commands: string[];
  /** The study config the models belong to (without `pretrained`). */
  config: StudyConfig;
  /**
   * Each model's training hyper-parameters as resolved when it was packed: a package whose profiles changed since
   * no longer matches them, and its shipped models are then refused rather than passed off as this version's.
   */
  hyper: Record<string, Hyper>;
  models: Record<string, Record<string, string>>;
}

/** Where shipped weights live: `<package>/weights/<name>/`, or `$FIVEBAND_WEIGHTS/<name>/` when that is set. */
export function pretrainedRoot(name: string): string {
  return join(process.env.FIVEBAND_WEIGHTS ?? fileURLToPath(new URL('../../../weights/', import.meta.url)), name);
}

/**
 * The settings a model's training depended on: a shipped model fits a run only where these are equal. The
 * backend is not one of them: weights trained on one backend are explained on any (the run's manifest records
 * both).
 */
function trainingIdentity(config: StudyConfig, model: StudyModel): string {
  return canonicalJson([trainingData(config), config.seed, config.branches, config.trainProfile, config.hyper[model.arch] ?? null]);
}

/**
 * Copies one shipped model into a run, checking that it was trained with the run's settings (data, seed,
 * branches, training profile and the architecture's recipe) and every file against the shipped manifest.
 */
export async function copyPretrained(name: string, model: StudyModel, config: StudyConfig, out: string): Promise<void> {
  const key = model.key;
  const root = pretrainedRoot(name);
  let manifest: PretrainedManifest;
  try {
    manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as PretrainedManifest;
  } catch {
    throw new UserError(`the package has no shipped "${name}" weights (${root}); run the study with --retrain`);
  }
  const files = manifest.models[key];
  if (!files) throw new UserError(`the shipped "${name}" weights have no model ${key}; run the study with --retrain`);
  if (trainingIdentity(manifest.config, model) !== trainingIdentity(config, model)
    || canonicalJson(manifest.hyper?.[key] ?? null) !== canonicalJson(hyperOf(config, model))) {
    throw new UserError(`the shipped "${name}" model ${key} was trained with other settings than this run's (weights/${name}/manifest.json); run the study with --retrain`);
  }
  await makeFolder(out);
  for (const [file, expected] of Object.entries(files)) {
    const source = join(root, key, file);
    if ((await sha256File(source).catch(() => null)) !== expected) {
      throw new UserError(`${source}: missing or corrupt (sha256 differs from weights/${name}/manifest.json); reinstall the package or use --retrain`);
    }
    await copyFile(source, join(out, file));
  }
}

/**
 * Packs the explained models of finished `--retrain` runs into `weights/<name>/` (maintainers: after
 * `fiveband study --profile quick --retrain`, possibly split over several runs by `--archs` or depths). The runs
 * must share the data, seed, branches, backend and training profile; a model is taken from the last run that trained
 * it, and the manifest records the last run's config (with the union of the archs and depths).
 */
export async function packPretrained(runDirs: string[], name: string, commands: string[]): Promise<PretrainedManifest> {
  const root = pretrainedRoot(name);
  const chosen = new Map<string, { run: string; outputs: Record<string, string>; hyper: Hyper }>();
  const wanted = new Set<string>();
  let config: StudyConfig | null = null;
  const archs = new Set<string>();
  const depths = new Set<number>();
  const identity = (c: StudyConfig) => canonicalJson([trainingData(c), c.seed, c.branches, c.trainProfile, c.backend]);
  for (const run of runDirs) {
    const manifest = JSON.parse(await readFile(join(run, STUDY_FILE), 'utf8')) as StudyManifest;
    if (config && identity(config) !== identity(manifest.config)) throw new UserError(`${run}: its data, seed, branches, backend or training profile differ from the other runs'`);
    config = manifest.config;
    for (const arch of manifest.config.archs) archs.add(arch);
    for (const k of manifest.config.depths) depths.add(k);
    for (const model of studyModels(manifest.config).filter((m) => m.role !== 'base')) {
      wanted.add(model.key);
      const record = manifest.tasks[`train/${model.key}`];
      if (record) chosen.set(model.key, { run, outputs: record.outputs, hyper: hyperOf(manifest.config, model) });
    }
  }
  if (!config) throw new UserError('no run folder given');
  const unfinished = [...wanted].filter((key) => !chosen.has(key));
  if (unfinished.length > 0) throw new UserError(`no run has finished training ${unfinished.join(', ')}`);
  await rm(root, { recursive: true, force: true });
  const models: Record<string, Record<string, string>> = {};
  const hyper: Record<string, Hyper> = {};
  for (const [key, { run, outputs, hyper: h }] of [...chosen].sort(([a], [b]) => a.localeCompare(b))) {
    models[key] = {};
    hyper[key] = h;
    await makeFolder(join(root, key));
    for (const file of SHIPPED_FILES) {
      const rel = `${modelDir(key)}/${file}`;
      if (!(rel in outputs)) continue;
      await copyFile(join(run, rel), join(root, key, file));
      models[key]![file] = outputs[rel]!;
    }
  }
  const packed: PretrainedManifest = {
    format: 'fiveband-pretrained/1', commands, config: { ...config, archs: STUDY_ARCHS.filter((a) => archs.has(a)), methods: [...ALL_METHODS], depths: [...depths].sort((a, b) => a - b), pretrained: null }, hyper, models,
  };
  await writeFileAtomic(join(root, 'manifest.json'), `${JSON.stringify(packed, null, 1)}\n`);
  return packed;
}
