import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError, ensure, writeFileAtomic } from '../io/index.js';
import { geometryFor, type ClassCount } from './geometry.js';
import { SPLITS, type Split } from './splits.js';

export { SPLITS, type Split };

/** Bumped whenever the same seed and config would give different pixels. */
export const GENERATOR_VERSION = 1;
export const DATASET_FORMAT = 'fiveband-cells';
export const MANIFEST_FILE = 'manifest.json';

export type ProfileName = 'small' | 'paper';

export interface SplitPlan {
  shardCount: number;
  perShard: number;
}

/**
 * Named profiles. `paper`: the paper's 32/8/8 shards × 200 at 512 (10 classes) or the V2 3-class demo's
 * 16/4/4 × 256 at 256. `small` (the `npm start` default): 80/2/2 × 200 at 128 (16,000 training images:
 * with 800 the small training profile's models under-fit badly, with 8,000 AlexNet and SPA over-fit; see
 * profiles.ts).
 */
export function profileDefaults(profile: ProfileName, classes: ClassCount): { size: number; splits: Record<Split, SplitPlan> } {
  const plan = (train: number, val: number, test: number, perShard: number): Record<Split, SplitPlan> => ({
    train: { shardCount: train, perShard }, val: { shardCount: val, perShard }, test: { shardCount: test, perShard },
  });
  if (profile === 'small') return { size: 128, splits: plan(80, 2, 2, 200) };
  return classes === 10 ? { size: 512, splits: plan(32, 8, 8, 200) } : { size: 256, splits: plan(16, 4, 4, 256) };
}

const shardEntry = z.object({
  file: z.string().regex(/^(train|val|test)\/shard-\d{4,}\.safetensors$/),
  samples: z.number().int().nonnegative(),
  /** Hex sha256 of the file, null until the shard has been written. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
});

const splitEntry = z.object({
  shardCount: z.number().int().nonnegative(),
  perShard: z.number().int().positive(),
  shards: z.array(shardEntry),
});

const configSchema = z.object({
  profile: z.enum(['small', 'paper']),
  size: z.number().int().min(64),
  classes: z.union([z.literal(10), z.literal(3)]),
  seed: z.number().int().nonnegative(),
  referenceSize: z.number().int(),
  scale: z.number().positive(),
});

export const manifestSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  generatorVersion: z.number().int(),
  config: configSchema,
  splits: z.object({ train: splitEntry, val: splitEntry, test: splitEntry }),
});

export type DatasetConfig = z.infer<typeof configSchema>;
export type ShardEntry = z.infer<typeof shardEntry>;
export type Manifest = z.infer<typeof manifestSchema>;

export function shardFile(split: Split, index: number): string {
  return `${split}/shard-${String(index).padStart(4, '0')}.safetensors`;
}

/** Stable sample ids: `<split>/shard-<4 digits>/<index in shard>`, e.g. `test/shard-0003/17`. */
export function sampleId(split: Split, shard: number, index: number): string {
  return `${split}/shard-${String(shard).padStart(4, '0')}/${index}`;
}

const MAX_SHARDS = 10_000;
const MAX_PER_SHARD = 10_000;

/** A fresh manifest (no shard written yet) for a config and split plan. */
export function planManifest(config: Omit<DatasetConfig, 'referenceSize' | 'scale'>, splits: Record<Split, SplitPlan>): Manifest {
  const g = geometryFor(config.size, config.classes);
  const entry = (split: Split): Manifest['splits'][Split] => {
    const { shardCount, perShard } = splits[split];
    // Bounds well above the paper's 32 × 200, so a typo (an extra zero or three) is an error, not hours of planning.
    ensure(Number.isInteger(shardCount) && shardCount >= 0 && shardCount <= MAX_SHARDS, `${split} shard count must be an integer from 0 to ${MAX_SHARDS}, got ${shardCount}`);
    ensure(Number.isInteger(perShard) && perShard >= 1 && perShard <= MAX_PER_SHARD, `samples per shard must be an integer from 1 to ${MAX_PER_SHARD}, got ${perShard}`);
    return {
      shardCount, perShard,
      shards: Array.from({ length: shardCount }, (_, i) => ({ file: shardFile(split, i), samples: perShard, sha256: null })),
    };
  };
  return {
    format: DATASET_FORMAT,
    generatorVersion: GENERATOR_VERSION,
    config: { ...config, referenceSize: g.referenceSize, scale: g.scale },
    splits: { train: entry('train'), val: entry('val'), test: entry('test') },
  };
}

/** Everything that determines the pixels: a resumed run must match it exactly. */
export function describeDifference(a: Manifest, b: Manifest): string | null {
  if (a.generatorVersion !== b.generatorVersion) return `generator version ${a.generatorVersion} vs ${b.generatorVersion}`;
  for (const key of ['profile', 'size', 'classes', 'seed'] as const) {
    if (a.config[key] !== b.config[key]) return `${key} ${a.config[key]} vs ${b.config[key]}`;
  }
  for (const split of SPLITS) {
    const [x, y] = [a.splits[split], b.splits[split]];
    if (x.shardCount !== y.shardCount || x.perShard !== y.perShard) {
      return `${split} ${x.shardCount}×${x.perShard} vs ${y.shardCount}×${y.perShard}`;
    }
  }
  return null;
}

export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `${dir}: not a fiveband dataset (no ${MANIFEST_FILE}); create one with fiveband generate` : `${path}: cannot read (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${path}: not valid JSON (corrupt manifest)`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${path}: not a valid dataset manifest (${issue.path.join('.') || 'root'}: ${issue.message})`);
  }
  const manifest = parsed.data;
  for (const split of SPLITS) {
    const s = manifest.splits[split];
    ensure(s.shards.length === s.shardCount, `${path}: ${split} lists ${s.shards.length} shards, expected ${s.shardCount}`);
    // Each entry must name its own split's file, or another split's shard (with its real checksum) would pass as
    // this one: test data silently training a model. Sample counts are the split's, as generate writes them.
    s.shards.forEach((entry, i) => {
      ensure(entry.file === shardFile(split, i), `${path}: ${split} shard ${i} is listed as "${entry.file}", expected "${shardFile(split, i)}" (edited manifest?)`);
      ensure(entry.samples === s.perShard, `${path}: ${split} shard ${i} lists ${entry.samples} samples, the split has ${s.perShard} per shard (edited manifest?)`);
    });
  }
  return manifest;
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
