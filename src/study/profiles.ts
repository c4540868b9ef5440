import { z } from 'zod';
import { readUserFile, UserError } from '../io/index.js';
import { BACKEND_NAMES, type BackendName } from '../compute/index.js';
import { methodNames, nullExplainerNames } from '../attribution/index.js';
import { canonicalJson } from '../io/index.js';
import type { Hyper } from '../train/index.js';
import { BRANCH_ARCHS, STUDY_ARCHS, STUDY_PROFILES, type BranchArch, type StudyArch, type StudyProfile } from './names.js';

export { BRANCH_ARCHS, STUDY_ARCHS, STUDY_PROFILES, type BranchArch, type StudyArch, type StudyProfile };

/** Per-architecture training settings: the training profile's hyper-parameters with these fields replaced. */
export type HyperOverrides = Partial<Omit<Hyper, 'betas'>>;

/**
 * Everything that determines a study's bytes. Two runs with equal configs write identical CSVs and report
 * data; a run folder holding another config is refused. Worker counts are not part of it.
 */
export interface StudyConfig {
  format: 'fiveband-study/1';
  profile: StudyProfile;
  seed: number;
  backend: BackendName;
  /** The data: shard counts per split, samples per shard (the test split's own count where `testPerShard` is set). */
  dataset: { size: number; classes: 10; shards: { train: number; val: number; test: number }; perShard: number; testPerShard?: number };
  archs: StudyArch[];
  /** Attribution methods (mab is added for SPA). */
  methods: string[];
  /** Early-stopping branches per classifier. */
  branches: number;
  /** The depth experiment's k values (alexnet-depth with k added blocks). */
  depths: number[];
  /** The training profile each model starts from, and the study's changes to it. */
  trainProfile: 'small' | 'paper';
  hyper: Partial<Record<StudyArch, HyperOverrides>>;
  /**
   * Shipped weights (quick profile): models are copied from the package instead of trained; the training
   * split is then not generated. `null`: every model is trained in the run.
   */
  pretrained: string | null;
  /** Samples per attribution call. */
  explainBatch: number;
  /**
   * Model-randomisation sanity checks (`fiveband sanity`) on one explained model per architecture: the test
   * split's first `samples` samples, `points` randomisation depths, the study's methods or only `methods` of them;
   * `randomLabels` adds the random-label check (each classifier's base recipe trained again on shuffled labels).
   * Absent: none.
   */
  sanity?: { samples: number; points: number; methods?: string[]; randomLabels?: boolean };
  /** IntegratedGradients' Gauss–Legendre steps in the explain tasks (absent: 50, Captum's default and the reference's). */
  integratedGradientsSteps?: number;
  /** Conditioning (`fiveband conditioning`) on the same models: the test split's first `samples` samples; methods as for sanity. Absent: none. */
  conditioning?: { samples: number; methods?: string[] };
}

/** The paper's nine methods, in the reference's V2 order. */
export const ALL_METHODS = [
  'Saliency', 'IntegratedGradients', 'InputXGradient', 'DeepLift', 'GuidedBackprop', 'GuidedGradCam', 'Deconvolution',
  'GradientShap', 'DeepLiftShap',
] as const;

/** Every method a study can explain (mab is added for SPA by itself), in the registry's order. */
export const STUDY_METHODS: readonly string[] = methodNames.filter((m) => m !== 'mab');

/**
 * The profiles' methods: the paper's nine, the CAM and SmoothGrad methods people use most (a few passes each;
 * Occlusion, SmoothGradSq and VarGrad on request), and the reference maps (null explainers, the ground truth).
 */
const PROFILE_METHODS: readonly string[] = [...ALL_METHODS, 'GradCam', 'GradCamPlusPlus', 'SmoothGrad', ...nullExplainerNames];

/** The quick profile's: no SmoothGrad (5 passes per sample), so that npm start stays within its 10 minutes. */
const QUICK_METHODS = PROFILE_METHODS.filter((m) => m !== 'SmoothGrad');
/** The quick profile's checks leave out IntegratedGradients too: its 50 passes per map would be most of their time. */
const QUICK_CHECKED = QUICK_METHODS.filter((m) => m !== 'IntegratedGradients');

/**
 * quick: `npm start`'s study on 2 cores in minutes: the small dataset's 128 px cells (100 test samples),
 * narrow models trained for a few epochs on 16,000 images, 2 branches, depths 1 and 4. The models come from
 * the package (`weights/quick/`, trained by this profile with `--retrain`, which generates the training
 * split and reproduces them byte for byte); without `--retrain` only the test split is generated.
 */
const quick: Omit<StudyConfig, 'seed' | 'backend'> = {
  format: 'fiveband-study/1',
  profile: 'quick',
  dataset: { size: 128, classes: 10, shards: { train: 160, val: 4, test: 1 }, perShard: 100 },
  archs: [...STUDY_ARCHS],
  methods: [...QUICK_METHODS],
  branches: 2,
  depths: [1, 4],
  trainProfile: 'small',
  hyper: {
    alexnet: { epochs: 6, lrDecayEpoch: 4, branchEpochs: 1 },
    'alexnet-depth': { epochs: 6, lrDecayEpoch: 4 },
    vgg16: { epochs: 4, lrDecayEpoch: 3, branchEpochs: 1 },
    resnet34: { branchEpochs: 1 },
    spa: { epochs: 10, lrDecayEpoch: 8 },
  },
  pretrained: 'quick',
  explainBatch: 4,
  // 25 steps instead of 50 halve IntegratedGradients, half of the explain time: npm start stays within 10 minutes.
  integratedGradientsSteps: 25,
  sanity: { samples: 4, points: 3, methods: [...QUICK_CHECKED] },
  conditioning: { samples: 4, methods: [...QUICK_CHECKED] },
};

/** small: the numbers we quote; the small dataset (128 px, 16,000 training images) and the small training profile. */
const small: Omit<StudyConfig, 'seed' | 'backend'> = {
  format: 'fiveband-study/1',
  profile: 'small',
  dataset: { size: 128, classes: 10, shards: { train: 80, val: 2, test: 2 }, perShard: 200 },
  archs: [...STUDY_ARCHS],
  methods: [...PROFILE_METHODS],
  branches: 3,
  depths: [1, 2, 4, 8],
  trainProfile: 'small',
  hyper: {},
  pretrained: null,
  explainBatch: 4,
  sanity: { samples: 16, points: 6 },
  conditioning: { samples: 16 },
};

/** paper: the paper's scale (512 px data, 224 / 512 inputs, 5 branches, 1,600 test samples, k = 1…8). */
const paper: Omit<StudyConfig, 'seed' | 'backend'> = {
  format: 'fiveband-study/1',
  profile: 'paper',
  dataset: { size: 512, classes: 10, shards: { train: 32, val: 8, test: 8 }, perShard: 200 },
  archs: [...STUDY_ARCHS],
  methods: [...PROFILE_METHODS],
  branches: 5,
  depths: [1, 2, 3, 4, 5, 6, 7, 8],
  trainProfile: 'paper',
  hyper: {},
  pretrained: null,
  explainBatch: 2,
  sanity: { samples: 16, points: 6, randomLabels: true },
  conditioning: { samples: 16 },
};

const PROFILES: Record<StudyProfile, Omit<StudyConfig, 'seed' | 'backend'>> = { quick, small, paper };

/** A fresh copy of a profile's config. */
export function studyProfile(profile: StudyProfile, seed: number, backend: BackendName): StudyConfig {
  return { ...structuredClone(PROFILES[profile]), seed, backend };
}

/** The data the models learn from (training and validation); the test split never shapes a model. */
export function trainingData(config: StudyConfig): Omit<StudyConfig['dataset'], 'testPerShard' | 'shards'> & { shards: { train: number; val: number } } {
  const { size, classes, perShard, shards } = config.dataset;
  return { size, classes, perShard, shards: { train: shards.train, val: shards.val } };
}

/** Samples in each test shard. */
export function testPerShard(config: StudyConfig): number {
  return config.dataset.testPerShard ?? config.dataset.perShard;
}

/** A user's changes to a profile (the CLI's flags). */
export interface StudyOverrides {
  archs?: StudyArch[];
  methods?: string[];
  branches?: number;
  size?: number;
  seed?: number;
  backend?: BackendName;
  /** Train every model in the run even where the package ships weights. */
  retrain?: boolean;
  /** Test samples per shard (the test split keeps its shard count). */
  testSamples?: number;
}

/**
 * The config of a run: the profile with the overrides applied. Shipped weights are used only when every
 * setting that shaped them (seed, data, sizes, branches, depths) is the profile's; otherwise the models are
 * trained in the run and `note` says so.
 */
export function studyConfig(profile: StudyProfile, overrides: StudyOverrides = {}): { config: StudyConfig; note: string | null } {
  const config = studyProfile(profile, overrides.seed ?? 0, overrides.backend ?? 'wasm');
  const shipped = config.pretrained;
  if (overrides.archs) {
    if (overrides.archs.length === 0) throw new UserError('--archs needs at least one architecture');
    config.archs = STUDY_ARCHS.filter((a) => overrides.archs!.includes(a));
  }
  if (overrides.methods) {
    for (const m of overrides.methods) if (!STUDY_METHODS.includes(m)) throw new UserError(`unknown method "${m}" for --methods; known: ${STUDY_METHODS.join(', ')}`);
    config.methods = STUDY_METHODS.filter((m) => overrides.methods!.includes(m));
  }
  if (overrides.branches !== undefined) config.branches = overrides.branches;
  if (overrides.size !== undefined) config.dataset.size = overrides.size;
  if (overrides.testSamples !== undefined) config.dataset.testPerShard = overrides.testSamples;
  let note: string | null = null;
  if (shipped !== null) {
    const reference = studyProfile(profile, 0, config.backend);
    const shaping = (c: StudyConfig) => ({ ...c, dataset: trainingData(c) });
    const changed = (['seed', 'dataset', 'branches', 'depths', 'hyper', 'trainProfile'] as const)
      .filter((k) => canonicalJson(shaping(config)[k]) !== canonicalJson(shaping(reference)[k]));
    if (overrides.retrain) config.pretrained = null;
    else if (changed.length > 0) {
      config.pretrained = null;
      note = `the shipped ${profile} weights were made with the profile's ${changed.join(', ')}; training every model in this run`;
    }
  }
  return { config, note };
}

const hyperOverrides = z.object({
  inputSize: z.number().int().positive(), width: z.number().positive(), lr: z.number().positive(), weightDecay: z.number().nonnegative(),
  batchSize: z.number().int().positive(), microBatches: z.number().int().positive(), epochs: z.number().int().positive(),
  branchEpochs: z.number().int().positive(), branches: z.number().int().positive(), lrDecayEpoch: z.number().int().nonnegative().nullable(),
  lrWarmup: z.number().int().nonnegative(), target: z.number().positive(), limit: z.number().int().positive(), refresh: z.number().positive(),
  lambda: z.number().nonnegative(), minEpoch: z.number().int(), mabTarget: z.number().positive(), every: z.number().int().positive(),
  blockInit: z.enum(['pytorch', 'kaiming']),
}).partial().strict();

const configSchema = z.object({
  format: z.literal('fiveband-study/1'),
  profile: z.enum(['quick', 'small', 'paper']),
  seed: z.number().int().nonnegative(),
  backend: z.enum(BACKEND_NAMES),
  dataset: z.object({
    size: z.number().int().min(64), classes: z.literal(10),
    shards: z.object({ train: z.number().int().nonnegative(), val: z.number().int().nonnegative(), test: z.number().int().positive() }).strict(),
    perShard: z.number().int().positive(),
    testPerShard: z.number().int().positive().optional(),
  }).strict(),
  archs: z.array(z.enum(['alexnet', 'vgg16', 'resnet34', 'spa', 'alexnet-depth'])).min(1),
  methods: z.array(z.enum(STUDY_METHODS as [string, ...string[]])).min(1),
  branches: z.number().int().positive(),
  depths: z.array(z.number().int().nonnegative()),
  trainProfile: z.enum(['small', 'paper']),
  // partialRecord: zod 4's record over an enum demands every key, and a profile's hyper is usually {}.
  hyper: z.partialRecord(z.enum(['alexnet', 'vgg16', 'resnet34', 'spa', 'alexnet-depth']), hyperOverrides),
  pretrained: z.string().regex(/^[a-z0-9-]+$/).nullable(),
  explainBatch: z.number().int().positive(),
  sanity: z.object({ samples: z.number().int().min(2), points: z.number().int().min(2), randomLabels: z.boolean().optional(), methods: z.array(z.enum(STUDY_METHODS as [string, ...string[]])).min(1).optional() }).strict().optional(),
  integratedGradientsSteps: z.number().int().positive().optional(),
  conditioning: z.object({ samples: z.number().int().min(2), methods: z.array(z.enum(STUDY_METHODS as [string, ...string[]])).min(1).optional() }).strict().optional(),
}).strict();

/** A study config from a JSON file (`study --config`): every field checked, one line naming the first problem. */
export async function readStudyConfig(path: string): Promise<StudyConfig> {
  const text = (await readUserFile(path)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${path}: not valid JSON`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${path}: ${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  const config = parsed.data as StudyConfig;
  if (config.archs.includes('alexnet-depth') && config.depths.length === 0) throw new UserError(`${path}: depths: alexnet-depth needs at least one depth`);
  return config;
}
