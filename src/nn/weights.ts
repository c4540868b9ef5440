import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeSafetensors, encodeSafetensors, sha256, UserError, writeFileAtomic, type Tensor,
} from '../io/index.js';
import { describeArch, validateSpec, type ParamInfo } from './arch.js';
import { modelFromValues } from './create.js';
import type { ArchSpec, Model } from './model.js';

/**
 * A model folder: `weights.safetensors` (PyTorch state-dict names and layouts, float32; BN
 * `num_batches_tracked` int64) and `arch.json` (format, version, ArchSpec, the weights' sha256, extra).
 * The NHWC ↔ PyTorch layout conversion lives here and nowhere else.
 */
export const WEIGHTS_FILE = 'weights.safetensors';
export const ARCH_FILE = 'arch.json';
const FORMAT = 'fiveband-model';
const VERSION = 1;

export interface ModelInfo {
  spec: ArchSpec;
  /** Whatever the saver put beside the spec (training summary, …). */
  extra: Record<string, unknown>;
}

/** Keys of the reference's checkpoints that its models register but never use (torchvision ImageNet heads). */
const UNUSED_REFERENCE_KEYS = /^backbone\.(classifier|fc)\./;

/** Copy of `data` (row-major, `shape`) with its axes permuted: out axis i is input axis perm[i]. */
export function permuteAxes<A extends Float32Array>(data: A, shape: readonly number[], perm: readonly number[]): A {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) { inStrides[i] = s; s *= shape[i]!; }
  const outShape = perm.map((p) => shape[p]!);
  const strides = perm.map((p) => inStrides[p]!); // input stride of each output axis
  const out = new (data.constructor as new (n: number) => A)(data.length);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]!;
    for (let a = rank - 1; a >= 0; a--) { // odometer over the output index
      src += strides[a]!;
      if (++index[a]! < outShape[a]!) break;
      src -= strides[a]! * outShape[a]!;
      index[a] = 0;
    }
  }
  return out;
}

/** The tfjs view of a parameter and the permutation that turns it into the PyTorch view. */
function layoutOf(p: ParamInfo): { view: number[]; perm: number[] } | null {
  switch (p.layout) {
    case 'conv': // [kh, kw, in, out] → [out, in, kh, kw]
    case 'conv_transpose': // [kh, kw, out, in] → [in, out, kh, kw]
      return { view: p.shape, perm: [3, 2, 0, 1] };
    case 'linear': // [in, out] → [out, in]; after an NHWC flatten rows are (h, w, c), PyTorch's columns (c, h, w)
      return p.flattenedFrom ? { view: [...p.flattenedFrom, p.shape[1]!], perm: [3, 2, 0, 1] } : { view: p.shape, perm: [1, 0] };
    case 'vector':
      return null;
  }
}

export function toTorchLayout(p: ParamInfo, data: Float32Array): Float32Array {
  const l = layoutOf(p);
  return l ? permuteAxes(data, l.view, l.perm) : data;
}

export function fromTorchLayout(p: ParamInfo, data: Float32Array): Float32Array {
  const l = layoutOf(p);
  if (!l) return data;
  const inverse = new Array<number>(l.perm.length);
  l.perm.forEach((axis, i) => { inverse[axis] = i; });
  return permuteAxes(data, l.perm.map((a) => l.view[a]!), inverse);
}

/** The model's parameters and buffers as a PyTorch state dict. */
export function toStateDict(model: Model): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const p of describeArch(model.spec).params) {
    const variable = (p.trainable ? model.trainable : model.buffers).get(p.name);
    if (!variable) throw new Error(`model has no ${p.name}`);
    if (p.dtype === 'int32') {
      tensors[p.name] = { dtype: 'I64', shape: p.torchShape, data: BigInt64Array.from(variable.dataSync() as Int32Array, (v) => BigInt(v)) };
    } else {
      tensors[p.name] = { dtype: 'F32', shape: p.torchShape, data: toTorchLayout(p, variable.dataSync() as Float32Array) };
    }
  }
  return tensors;
}

/**
 * Writes `dir/weights.safetensors` then `dir/arch.json` (both atomically; arch.json records the weights'
 * sha256, so a folder whose write was interrupted or whose weights were altered is detected on load).
 */
export async function saveModel(dir: string, model: Model, extra: Record<string, unknown> = {}): Promise<void> {
  const parts = encodeSafetensors(toStateDict(model), { format: FORMAT, arch: JSON.stringify(model.spec) });
  const hash = parts.reduce((h, part) => h.update(part), createHash('sha256')).digest('hex');
  await writeFileAtomic(join(dir, WEIGHTS_FILE), parts);
  const info = { format: FORMAT, version: VERSION, spec: model.spec, weights: { file: WEIGHTS_FILE, sha256: hash }, extra };
  await writeFileAtomic(join(dir, ARCH_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UserError(`${path}: cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Reads and checks `dir/arch.json`. */
export async function readModelInfo(dir: string): Promise<ModelInfo & { weightsSha256?: string }> {
  const path = join(dir, ARCH_FILE);
  let json: unknown;
  try {
    json = JSON.parse((await readBytes(path, 'the model description')).toString('utf8'));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: not valid JSON`);
  }
  const info = json as { format?: unknown; version?: unknown; spec?: unknown; weights?: { sha256?: unknown }; extra?: unknown };
  if (info === null || typeof info !== 'object' || info.format !== FORMAT) throw new UserError(`${path}: not a fiveband model description (format is not ${FORMAT})`);
  if (info.version !== VERSION) throw new UserError(`${path}: format version ${String(info.version)} is not supported (expected ${VERSION})`);
  const spec = validateSpec(info.spec, path);
  const extra = info.extra && typeof info.extra === 'object' ? (info.extra as Record<string, unknown>) : {};
  const hash = info.weights?.sha256;
  return { spec, extra, ...(typeof hash === 'string' ? { weightsSha256: hash } : {}) };
}

/** Checks a state dict against an architecture and converts it to tfjs layouts (the load half of I/O). */
export function fromStateDict(spec: ArchSpec, tensors: Record<string, Tensor>, source: string): Map<string, Float32Array | Int32Array> {
  const params = describeArch(spec).params;
  const expected = new Set(params.map((p) => p.name));
  const unexpected = Object.keys(tensors).find((k) => !expected.has(k) && !UNUSED_REFERENCE_KEYS.test(k));
  if (unexpected !== undefined) throw new UserError(`${source}: unexpected tensor ${unexpected} for ${spec.arch} (wrong architecture?)`);
  const values = new Map<string, Float32Array | Int32Array>();
  for (const p of params) {
    const t = tensors[p.name];
    if (!t) throw new UserError(`${source}: missing tensor ${p.name} for ${spec.arch} (wrong architecture?)`);
    if (t.shape.join(',') !== p.torchShape.join(',')) {
      throw new UserError(`${source}: tensor ${p.name} has shape [${t.shape.join(', ')}], ${spec.arch} needs [${p.torchShape.join(', ')}]`);
    }
    if (p.dtype === 'int32') {
      if (t.dtype !== 'I64' && t.dtype !== 'I32') throw new UserError(`${source}: tensor ${p.name} is ${t.dtype}, expected I64`);
      values.set(p.name, Int32Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v)));
      continue;
    }
    if (t.dtype !== 'F32') throw new UserError(`${source}: tensor ${p.name} is ${t.dtype}, expected F32`);
    const data = t.data as Float32Array;
    if (!data.every(Number.isFinite)) throw new UserError(`${source}: tensor ${p.name} contains NaN or infinite values`);
    values.set(p.name, fromTorchLayout(p, data));
  }
  return values;
}

function parseStoredSpec(text: string, source: string): ArchSpec {
  try {
    return validateSpec(JSON.parse(text), `${source} metadata`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${source}: metadata arch is not valid JSON`);
  }
}

function sameSpec(a: ArchSpec, b: ArchSpec): boolean {
  return a.arch === b.arch && a.inputSize === b.inputSize && a.numClasses === b.numClasses && a.width === b.width && a.depth === b.depth;
}

/** Loads a model folder written by `saveModel` (or by a PyTorch user following the same format). */
export async function loadModel(dir: string): Promise<Model> {
  const info = await readModelInfo(dir);
  const path = join(dir, WEIGHTS_FILE);
  const bytes = await readBytes(path, 'the weights');
  if (info.weightsSha256 !== undefined && sha256(bytes) !== info.weightsSha256) {
    throw new UserError(`${path}: checksum differs from ${ARCH_FILE} (corrupt, or replaced without updating ${ARCH_FILE})`);
  }
  const file = decodeSafetensors(bytes, path);
  const stored = file.metadata.arch;
  if (stored !== undefined && !sameSpec(parseStoredSpec(stored, path), info.spec)) {
    throw new UserError(`${path}: weights were saved for ${stored}, but ${ARCH_FILE} describes ${JSON.stringify(info.spec)}`);
  }
  return modelFromValues(info.spec, fromStateDict(info.spec, file.tensors, path));
}
