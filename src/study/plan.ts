import { getMethod } from '../attribution/index.js';
import type { Split } from '../data/index.js';
import { validateSpec, type ArchSpec } from '../nn/index.js';
import { hyperFor, trainingSpec, type Hyper } from '../train/index.js';
import { STUDY_METHODS, BRANCH_ARCHS, testPerShard, type StudyArch, type StudyConfig } from './profiles.js';

/** What a task does; each kind has one executor in tasks.ts. */
export type TaskKind = 'generate' | 'pretrained' | 'train-base' | 'train-branch' | 'train-mab' | 'train-depth' | 'train-random-labels' | 'eval' | 'explain' | 'score' | 'sanity' | 'conditioning' | 'report';

/** A model of the study: its key is also its folder under `models/`, `eval/` and `explain/`. */
export interface StudyModel {
  key: string;
  arch: StudyArch;
  /** base: the continuous-mode model branches start from (not explained); branch / mab / depth are explained. */
  role: 'base' | 'branch' | 'mab' | 'depth';
  branch?: number;
  depth?: number;
}

/** The training hyper-parameters of a study model: the training profile's, with the study's changes. */
export function hyperOf(config: StudyConfig, model: StudyModel): Hyper {
  const hyper = { ...hyperFor(model.arch, config.trainProfile), ...config.hyper[model.arch] };
  hyper.branches = config.branches;
  // SPA trains at the data's own size in the paper profile; no model input exceeds the data's.
  hyper.inputSize = model.arch === 'spa' && config.trainProfile === 'paper' ? config.dataset.size : Math.min(hyper.inputSize, config.dataset.size);
  return hyper;
}

export function specOf(config: StudyConfig, model: StudyModel): ArchSpec {
  const hyper = hyperOf(config, model);
  return validateSpec(trainingSpec(model.arch, hyper, config.dataset.classes, model.depth), model.key);
}

/**
 * One unit of work, as data: it reads only the run folder (its dependencies' outputs) and writes only its
 * declared outputs, so any engine (the local scheduler, or a queue) can run it anywhere that sees the folder.
 */
export interface StudyTask {
  id: string;
  kind: TaskKind;
  /** Ids of the tasks whose outputs this one reads. */
  deps: string[];
  /** Paths relative to the run folder; a path ending in "/" is a folder (every file under it). */
  outputs: string[];
  model?: StudyModel;
  method?: string;
  shard?: number;
  /** Config values the task reads that its id and dependencies do not pin (a check's settings): part of its inputs. */
  settings?: unknown;
  /** Rough relative cost, for progress and ETA only. */
  cost: number;
}

export const DATASET_DIR = 'dataset';
export const TEST_SPLIT: Split = 'test';
export const modelDir = (key: string) => `models/${key}`;
export const evalFile = (key: string) => `eval/${key}.json`;
export const explainDir = (key: string) => `explain/${key}`;
export const sanityDir = (key: string) => `sanity/${key}`;
export const conditioningDir = (key: string) => `conditioning/${key}`;
export const REPORT_DIR = 'report';

/** The models a config trains (or takes from the package) and which of them are explained. */
export function studyModels(config: StudyConfig): StudyModel[] {
  const models: StudyModel[] = [];
  for (const arch of config.archs) {
    if ((BRANCH_ARCHS as readonly string[]).includes(arch)) {
      models.push({ key: `${arch}/base`, arch, role: 'base' });
      for (let b = 1; b <= config.branches; b++) models.push({ key: `${arch}/branch-${b}`, arch, role: 'branch', branch: b });
    } else if (arch === 'spa') {
      models.push({ key: 'spa', arch, role: 'mab' });
    } else {
      for (const k of config.depths) models.push({ key: `alexnet-depth/k${k}`, arch, role: 'depth', depth: k });
    }
  }
  return models;
}

/** Methods explained on a model: the config's that apply to its architecture (no LRP on SPA), plus the mab decode on SPA. */
export function methodsFor(config: StudyConfig, model: StudyModel): string[] {
  const methods = STUDY_METHODS.filter((m) => config.methods.includes(m) && getMethod(m).appliesTo(model.arch));
  return model.arch === 'spa' ? [...methods, 'mab'] : methods;
}

/** Samples a check takes: its own count, at most the test split's (a check needs two). */
export function checkSamples(config: StudyConfig, wanted: number): number {
  return Math.min(wanted, testPerShard(config) * config.dataset.shards.test);
}

/**
 * The random-label check's model for a sanity-checked classifier (sanity.randomLabels): the base recipe trained on
 * shuffled labels, kept in `models/<arch>/random-labels/`; none for SPA, whose heatmap head learns from the bands, nor
 * in a run on shipped weights.
 */
export function randomLabelModel(config: StudyConfig, model: StudyModel): StudyModel | null {
  // A run on shipped weights has no training split to shuffle (its dataset is the test split only).
  if (!config.sanity?.randomLabels || config.pretrained !== null || model.role !== 'branch') return null;
  return { key: `${model.arch}/random-labels`, arch: model.arch, role: 'base' };
}

/** Methods a check (sanity, conditioning) runs on a model: the model's, or those of them in the check's own list (mab kept). */
export function checkedMethods(config: StudyConfig, model: StudyModel, only?: readonly string[]): string[] {
  return methodsFor(config, model).filter((m) => only === undefined || m === 'mab' || only.includes(m));
}

/** Relative explain cost of a method per sample (forward + backward passes), for the ETA only. */
const METHOD_COST: Record<string, number> = {
  GradientShap: 5, DeepLiftShap: 8, DeepLift: 2, GuidedGradCam: 2, mab: 0.5,
  GradCam: 2, GradCamPlusPlus: 2, SmoothGrad: 5, SmoothGradSq: 5, VarGrad: 5, Occlusion: 75,
  NullUniform: 0.05, NullGaussian: 0.05, NullEdges: 0.05, NullBlob: 0.05, GroundTruth: 0.05,
};
/** A method's cost per sample under the config (IntegratedGradients: one pass per step). */
const methodCost = (config: StudyConfig, method: string) => (method === 'IntegratedGradients' ? config.integratedGradientsSteps ?? 50 : METHOD_COST[method] ?? 1);
const ARCH_COST: Record<StudyArch, number> = { alexnet: 1, 'alexnet-depth': 1, vgg16: 4, resnet34: 3, spa: 1 };

/**
 * Training cost per epoch over 1,000 images, in the explain costs' unit (~5.6 s of one wasm thread), from the small
 * profile's measured runs: ResNet34 at 64 px 17.8 s and SPA at 128 px 31 s on wasm; AlexNet at 128 px, ResNet34 and
 * VGG16 at 64 px as 5 : 6.2 : 14 on native. The scheduler starts the costliest ready task first: with the epochs left
 * out, SPA (the longest task) started after every other training.
 */
const TRAIN_COST: Record<StudyArch, number> = { alexnet: 2.4, 'alexnet-depth': 2.4, vgg16: 6.8, resnet34: 3, spa: 5.2 };

/**
 * A training task's cost: images × epochs × the architecture's (a depth-k AlexNet's grows with k). A branch counts one
 * epoch: its early stopping ends most branches within one (the small run's nine took 0.39 h on wasm in all).
 */
function trainCost(config: StudyConfig, model: StudyModel, trainImages: number): number {
  const epochs = model.role === 'branch' ? 1 : hyperOf(config, model).epochs;
  return (trainImages / 1000) * epochs * TRAIN_COST[model.arch] * (1 + (model.depth ?? 0) / 8);
}

/** The whole study as a list of tasks in dependency order (fig. 2(A) of the paper). */
export function planStudy(config: StudyConfig): StudyTask[] {
  const tasks: StudyTask[] = [];
  const models = studyModels(config);
  const pretrained = config.pretrained !== null;
  const { shards, perShard } = config.dataset;
  const trainImages = shards.train * perShard;
  tasks.push({ id: 'generate', kind: 'generate', deps: [], outputs: [`${DATASET_DIR}/`], cost: 2 });

  const trainTask = (model: StudyModel): string => `train/${model.key}`;
  for (const model of models) {
    if (pretrained && model.role === 'base') continue;
    const outputs = [`${modelDir(model.key)}/`];
    const cost = trainCost(config, model, trainImages);
    if (pretrained) {
      tasks.push({ id: trainTask(model), kind: 'pretrained', deps: [], outputs, model, cost: 1 });
    } else if (model.role === 'base') {
      tasks.push({ id: trainTask(model), kind: 'train-base', deps: ['generate'], outputs, model, cost });
    } else if (model.role === 'branch') {
      tasks.push({ id: trainTask(model), kind: 'train-branch', deps: ['generate', `train/${model.arch}/base`], outputs, model, cost });
    } else {
      tasks.push({ id: trainTask(model), kind: model.role === 'mab' ? 'train-mab' : 'train-depth', deps: ['generate'], outputs, model, cost });
    }
  }

  for (const model of models.filter((m) => m.role !== 'base')) {
    const deps = ['generate', trainTask(model)];
    tasks.push({ id: `eval/${model.key}`, kind: 'eval', deps, outputs: [evalFile(model.key)], model, cost: 0.2 });
    const explained: string[] = [];
    for (const method of methodsFor(config, model)) {
      for (let shard = 0; shard < shards.test; shard++) {
        const id = `explain/${model.key}/${method}/${shard}`;
        explained.push(id);
        tasks.push({
          id, kind: 'explain', deps, model, method, shard,
          outputs: [`${explainDir(model.key)}/attributions/${method}/shard-${String(shard).padStart(4, '0')}.safetensors`],
          cost: (testPerShard(config) / 100) * methodCost(config, method) * ARCH_COST[model.arch] * 0.3,
        });
      }
    }
    const id = `score/${model.key}`;
    tasks.push({ id, kind: 'score', deps: ['generate', ...explained], outputs: [`${explainDir(model.key)}/scores/`], model, cost: 0.5 });
  }
  // Sanity checks and conditioning on one explained model per architecture: the first branch, SPA (depth models are AlexNets).
  for (const model of models.filter((m) => m.branch === 1 || m.role === 'mab')) {
    const deps = ['generate', trainTask(model)];
    const perSample = (only?: readonly string[]) => ARCH_COST[model.arch] * 0.003 * checkedMethods(config, model, only).reduce((s, m) => s + methodCost(config, m), 0);
    if (config.sanity && checkSamples(config, config.sanity.samples) >= 2) {
      const shuffled = randomLabelModel(config, model);
      if (shuffled) {
        tasks.push({ id: trainTask(shuffled), kind: 'train-random-labels', deps: ['generate'], outputs: [`${modelDir(shuffled.key)}/`], model: shuffled, cost: trainCost(config, shuffled, trainImages) });
      }
      const cost = checkSamples(config, config.sanity.samples) * (1 + 2 * config.sanity.points + (shuffled ? 1 : 0)) * perSample(config.sanity.methods);
      const settings = { ...config.sanity, methods: checkedMethods(config, model, config.sanity.methods) };
      tasks.push({ id: `sanity/${model.key}`, kind: 'sanity', deps: shuffled ? [...deps, trainTask(shuffled)] : deps, outputs: [`${sanityDir(model.key)}/`], model, settings, cost });
    }
    if (config.conditioning && checkSamples(config, config.conditioning.samples) >= 2) {
      const cost = checkSamples(config, config.conditioning.samples) * 3 * perSample(config.conditioning.methods);
      const settings = { ...config.conditioning, methods: checkedMethods(config, model, config.conditioning.methods) };
      tasks.push({ id: `conditioning/${model.key}`, kind: 'conditioning', deps, outputs: [`${conditioningDir(model.key)}/`], model, settings, cost });
    }
  }
  const everything = tasks.map((t) => t.id);
  tasks.push({ id: 'report', kind: 'report', deps: everything, outputs: [`${REPORT_DIR}/`], cost: 2 });
  return tasks;
}
