import { z } from 'zod';
import { UserError } from '../io/index.js';
import type { ArchSpec } from './model.js';
import { ARCHS, type Arch } from './names.js';

/**
 * Architectures are written once, against the `Ops` interface, and run two ways: traced on shapes (layer
 * table, parameter specs and counts, without allocating any weight) and executed on tensors (`layers.ts`).
 * Layer names are the reference's PyTorch module paths, so saved weights load into its modules.
 */

/** How a parameter is stored in tfjs versus PyTorch (converted by `weights.ts` only). */
export type ParamLayout =
  /** tfjs [kh, kw, in, out] ↔ PyTorch Conv2d [out, in, kh, kw] */
  | 'conv'
  /** tfjs [kh, kw, out, in] ↔ PyTorch ConvTranspose2d [in, out, kh, kw] */
  | 'conv_transpose'
  /** tfjs [in, out] ↔ PyTorch Linear [out, in] */
  | 'linear'
  /** same shape on both sides (biases, BatchNorm) */
  | 'vector';

export type ParamInit =
  | { kind: 'uniform'; bound: number }
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number };

export interface ParamInfo {
  /** PyTorch state-dict key, e.g. `backbone.features.0.weight`. */
  name: string;
  /** Shape as tfjs holds it. */
  shape: number[];
  /** Shape in the PyTorch state dict. */
  torchShape: number[];
  layout: ParamLayout;
  /**
   * Linear layers after a flatten of an NHWC map: the map's [h, w, c]. tfjs rows are in (h, w, c) order,
   * PyTorch columns in (c, h, w) order; the weights I/O permutes them.
   */
  flattenedFrom?: [number, number, number];
  init: ParamInit;
  /** false for BatchNorm running statistics. */
  trainable: boolean;
  dtype: 'float32' | 'int32';
}

export interface LayerInfo {
  /** PyTorch module path. */
  name: string;
  /** PyTorch module class, e.g. `Conv2d`. */
  type: string;
  /** Output shape without the batch dimension, in PyTorch order (C, H, W) or (features). */
  outputShape: number[];
  /** Trainable parameters owned by this layer. */
  params: number;
}

export interface ConvConfig {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  padding?: number;
  dilation?: number;
  bias: boolean;
  /** Weight initialisation: PyTorch's default, or torchvision's kaiming_normal(fan_out, relu) with zero bias. */
  init?: 'default' | 'kaiming_fan_out';
}

export interface ConvTransposeConfig {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  bias: boolean;
}

export interface PoolConfig {
  kernel: number;
  stride: number;
  padding?: number;
}

export interface LinearConfig {
  inFeatures: number;
  outFeatures: number;
}

/**
 * The operations the architectures are written in. Named operations are PyTorch modules (tappable, listed in
 * `layerNames`); unnamed ones are tensor functions inside a module's forward (flatten, add, slicing).
 * Feature maps are NHWC.
 */
export interface Ops<T> {
  conv2d(name: string, x: T, c: ConvConfig): T;
  convTranspose2d(name: string, x: T, c: ConvTransposeConfig): T;
  batchNorm2d(name: string, x: T, channels: number): T;
  /** conv2d then batchNorm2d; one merged linear layer for rules with linear-layer hooks (LRP, TensorOps). */
  convBatchNorm(convName: string, bnName: string, x: T, c: ConvConfig, channels: number): T;
  relu(name: string, x: T): T;
  /** LeakyReLU with PyTorch's default slope 0.01. */
  leakyRelu(name: string, x: T): T;
  maxPool2d(name: string, x: T, c: PoolConfig): T;
  /** PyTorch AdaptiveAvgPool2d((size, size)). */
  adaptiveAvgPool2d(name: string, x: T, size: number): T;
  dropout(name: string, x: T, p: number): T;
  linear(name: string, x: T, c: LinearConfig): T;
  /** Softmax over the last axis. */
  softmax(name: string, x: T): T;
  /** Flattens all but the batch dimension (PyTorch's `x.reshape(n, -1)`). */
  flatten(x: T): T;
  /** [n, 1, 1, c] → [n, c] */
  squeezeSpatial(x: T): T;
  add(a: T, b: T): T;
  /** Channels [start, start + count) of an NHWC map. */
  channels(x: T, start: number, count: number): T;
  /** SPA's product: a [n,h,w,c], b [n,h,w,c] → [n, c, c] = (A Bᵀ)/√c with A, B the (c, h·w) flattenings. */
  channelProduct(a: T, b: T): T;
  /** Top-left size×size crop of an NHWC map. */
  cropTopLeft(x: T, size: number): T;
}

export interface ArchOutputs<T> {
  logits: T;
  heatmapLogits?: T;
}

export interface ArchDefinition {
  /** Builds the network on `x` ([n, N, N, 3]); `spec` has been validated. */
  build<T>(ops: Ops<T>, x: T, spec: ArchSpec): ArchOutputs<T>;
  /** Name of the first convolution (GuidedGradCam's layer in the reference). */
  firstConv(spec: ArchSpec): string;
}

/** Channel count at width multiplier `width`: rounded half up, at least 1. */
export function scaled(channels: number, width: number): number {
  return Math.max(1, Math.floor(channels * width + 0.5));
}

/** PyTorch's default bound 1/√fan_in for Conv/ConvTranspose/Linear weights and biases. */
export function defaultBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}

// ---------------------------------------------------------------------------------------------------------
// Shape tracing

/** A traced value: its shape ([n, h, w, c] for maps) and, after a 4-D flatten, the map it came from. */
export interface Traced {
  shape: number[];
  flattenedFrom?: [number, number, number];
}

export interface ArchDescription {
  spec: ArchSpec;
  layers: LayerInfo[];
  params: ParamInfo[];
  /** Names of tappable layers in forward order. */
  layerNames: string[];
  firstConv: string;
  trainableCount: number;
  bufferCount: number;
  /** Output shapes without the batch dimension (PyTorch order). */
  logitsShape: number[];
  heatmapShape?: number[];
}

/** PyTorch's (C, H, W) order for display. */
function torchOrder(shape: number[]): number[] {
  const rest = shape.slice(1);
  return rest.length === 3 ? [rest[2]!, rest[0]!, rest[1]!] : rest;
}

function conv2dOut(size: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

class ShapeOps implements Ops<Traced> {
  readonly layers: LayerInfo[] = [];
  readonly params: ParamInfo[] = [];
  constructor(private readonly spec: ArchSpec) {}

  private record(name: string, type: string, out: Traced, params: ParamInfo[] = []): Traced {
    for (const d of out.shape.slice(1)) {
      if (!(d >= 1)) {
        throw new UserError(`input size ${this.spec.inputSize} is too small for ${this.spec.arch}: layer ${name} would have an empty output`);
      }
    }
    this.params.push(...params);
    const count = params.filter((p) => p.trainable).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    this.layers.push({ name, type, outputShape: torchOrder(out.shape), params: count });
    return out;
  }

  private map(x: Traced): [number, number, number, number] {
    if (x.shape.length !== 4) throw new Error(`expected an NHWC map, got shape [${x.shape}]`);
    return x.shape as [number, number, number, number];
  }

  convBatchNorm(convName: string, bnName: string, x: Traced, c: ConvConfig, channels: number): Traced {
    return this.batchNorm2d(bnName, this.conv2d(convName, x, c), channels);
  }

  conv2d(name: string, x: Traced, c: ConvConfig): Traced {
    const [n, h, w, ch] = this.map(x);
    if (ch !== c.inChannels) throw new Error(`${name}: ${ch} input channels, expected ${c.inChannels}`);
    const stride = c.stride ?? 1, padding = c.padding ?? 0, dilation = c.dilation ?? 1, k = c.kernel;
    const out = [n, conv2dOut(h, k, stride, padding, dilation), conv2dOut(w, k, stride, padding, dilation), c.outChannels];
    const fanIn = c.inChannels * k * k;
    const kaiming = c.init === 'kaiming_fan_out';
    const params: ParamInfo[] = [{
      name: `${name}.weight`, shape: [k, k, c.inChannels, c.outChannels], torchShape: [c.outChannels, c.inChannels, k, k],
      layout: 'conv', trainable: true, dtype: 'float32',
      init: kaiming ? { kind: 'normal', std: Math.sqrt(2 / (c.outChannels * k * k)) } : { kind: 'uniform', bound: defaultBound(fanIn) },
    }];
    if (c.bias) {
      params.push({
        name: `${name}.bias`, shape: [c.outChannels], torchShape: [c.outChannels], layout: 'vector', trainable: true, dtype: 'float32',
        init: kaiming ? { kind: 'constant', value: 0 } : { kind: 'uniform', bound: defaultBound(fanIn) },
      });
    }
    return this.record(name, 'Conv2d', { shape: out }, params);
  }

  convTranspose2d(name: string, x: Traced, c: ConvTransposeConfig): Traced {
    const [n, h, w, ch] = this.map(x);
    if (ch !== c.inChannels) throw new Error(`${name}: ${ch} input channels, expected ${c.inChannels}`);
    const k = c.kernel;
    const out = [n, (h - 1) * c.stride + k, (w - 1) * c.stride + k, c.outChannels];
    // PyTorch computes fan_in from dim 1 of the (in, out, k, k) weight: out_channels·k·k.
    const bound = defaultBound(c.outChannels * k * k);
    const params: ParamInfo[] = [{
      name: `${name}.weight`, shape: [k, k, c.outChannels, c.inChannels], torchShape: [c.inChannels, c.outChannels, k, k],
      layout: 'conv_transpose', trainable: true, dtype: 'float32', init: { kind: 'uniform', bound },
    }];
    if (c.bias) {
      params.push({
        name: `${name}.bias`, shape: [c.outChannels], torchShape: [c.outChannels], layout: 'vector', trainable: true,
        dtype: 'float32', init: { kind: 'uniform', bound },
      });
    }
    return this.record(name, 'ConvTranspose2d', { shape: out }, params);
  }

  batchNorm2d(name: string, x: Traced, channels: number): Traced {
    const [, , , ch] = this.map(x);
    if (ch !== channels) throw new Error(`${name}: ${ch} channels, expected ${channels}`);
    const vec = (suffix: string, value: number, trainable: boolean): ParamInfo => ({
      name: `${name}.${suffix}`, shape: [channels], torchShape: [channels], layout: 'vector', trainable, dtype: 'float32',
      init: { kind: 'constant', value },
    });
    return this.record(name, 'BatchNorm2d', { shape: x.shape }, [
      vec('weight', 1, true), vec('bias', 0, true), vec('running_mean', 0, false), vec('running_var', 1, false),
      { name: `${name}.num_batches_tracked`, shape: [], torchShape: [], layout: 'vector', trainable: false, dtype: 'int32', init: { kind: 'constant', value: 0 } },
    ]);
  }

  relu(name: string, x: Traced): Traced {
    return this.record(name, 'ReLU', x);
  }

  leakyRelu(name: string, x: Traced): Traced {
    return this.record(name, 'LeakyReLU', x);
  }

  maxPool2d(name: string, x: Traced, c: PoolConfig): Traced {
    const [n, h, w, ch] = this.map(x);
    const p = c.padding ?? 0;
    return this.record(name, 'MaxPool2d', { shape: [n, conv2dOut(h, c.kernel, c.stride, p, 1), conv2dOut(w, c.kernel, c.stride, p, 1), ch] });
  }

  adaptiveAvgPool2d(name: string, x: Traced, size: number): Traced {
    const [n, , , ch] = this.map(x);
    return this.record(name, 'AdaptiveAvgPool2d', { shape: [n, size, size, ch] });
  }

  dropout(name: string, x: Traced): Traced {
    return this.record(name, 'Dropout', x);
  }

  linear(name: string, x: Traced, c: LinearConfig): Traced {
    if (x.shape.length !== 2 || x.shape[1] !== c.inFeatures) throw new Error(`${name}: input [${x.shape}], expected ${c.inFeatures} features`);
    const bound = defaultBound(c.inFeatures);
    return this.record(name, 'Linear', { shape: [x.shape[0]!, c.outFeatures] }, [
      {
        name: `${name}.weight`, shape: [c.inFeatures, c.outFeatures], torchShape: [c.outFeatures, c.inFeatures], layout: 'linear',
        trainable: true, dtype: 'float32', init: { kind: 'uniform', bound },
        ...(x.flattenedFrom ? { flattenedFrom: x.flattenedFrom } : {}),
      },
      { name: `${name}.bias`, shape: [c.outFeatures], torchShape: [c.outFeatures], layout: 'vector', trainable: true, dtype: 'float32', init: { kind: 'uniform', bound } },
    ]);
  }

  softmax(name: string, x: Traced): Traced {
    return this.record(name, 'Softmax', x);
  }

  flatten(x: Traced): Traced {
    const [n, ...rest] = x.shape;
    const out: Traced = { shape: [n!, rest.reduce((a, b) => a * b, 1)] };
    if (rest.length === 3) out.flattenedFrom = rest as [number, number, number];
    return out;
  }

  squeezeSpatial(x: Traced): Traced {
    const [n, h, w, c] = this.map(x);
    if (h !== 1 || w !== 1) throw new Error(`squeezeSpatial: map is ${h}×${w}, not 1×1`);
    return { shape: [n, c] };
  }

  add(a: Traced, b: Traced): Traced {
    if (a.shape.join() !== b.shape.join()) throw new Error(`add: shapes [${a.shape}] and [${b.shape}] differ`);
    return a;
  }

  channels(x: Traced, start: number, count: number): Traced {
    const [n, h, w, c] = this.map(x);
    if (start + count > c) throw new Error(`channels ${start}+${count} out of ${c}`);
    return { shape: [n, h, w, count] };
  }

  channelProduct(a: Traced, b: Traced): Traced {
    const [n, , , c] = this.map(a);
    this.add(a, b);
    return { shape: [n, c, c] };
  }

  cropTopLeft(x: Traced, size: number): Traced {
    const [n, h, w, c] = this.map(x);
    if (h < size || w < size) throw new UserError(`cropTopLeft: map ${h}×${w} smaller than ${size}`);
    return { shape: [n, size, size, c] };
  }
}

const archSpecSchema = z.object({
  arch: z.enum(ARCHS as [Arch, ...Arch[]]),
  inputSize: z.number().int().min(1).max(4096),
  numClasses: z.number().int().min(2).max(100000),
  width: z.number().positive().max(64),
  depth: z.number().int().min(0).max(64).optional(),
  blockInit: z.enum(['pytorch', 'kaiming']).optional(),
});

/** Checks an ArchSpec (from the CLI or a file); a bad one is a one-line UserError naming `source`. */
export function validateSpec(value: unknown, source = 'architecture'): ArchSpec {
  const parsed = archSpecSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${source}: ${issue.path.join('.') || 'spec'}: ${issue.message}`);
  }
  const spec = parsed.data as ArchSpec;
  if (spec.depth !== undefined && spec.arch !== 'alexnet-depth') throw new UserError(`${source}: depth applies to alexnet-depth only`);
  if (spec.blockInit !== undefined && spec.arch !== 'alexnet-depth') throw new UserError(`${source}: blockInit applies to alexnet-depth only`);
  return spec;
}

const registry = new Map<string, ArchDefinition>();

/** Registers an architecture under its `ArchSpec.arch` name (done by each models/*.ts file). */
export function registerArch(arch: ArchSpec['arch'], definition: ArchDefinition): void {
  registry.set(arch, definition);
}

export function archDefinition(arch: ArchSpec['arch']): ArchDefinition {
  const def = registry.get(arch);
  if (!def) throw new UserError(`unknown architecture ${arch} (known: ${[...registry.keys()].join(', ')})`);
  return def;
}

/** Layer table, parameter specs and counts of an architecture, from shapes alone (no weights allocated). */
export function describeArch(spec: ArchSpec): ArchDescription {
  spec = validateSpec(spec);
  const def = archDefinition(spec.arch);
  const ops = new ShapeOps(spec);
  const out = def.build(ops, { shape: [1, spec.inputSize, spec.inputSize, 3] }, spec);
  const size = (p: ParamInfo) => p.shape.reduce((a, b) => a * b, 1);
  return {
    spec,
    layers: ops.layers,
    params: ops.params,
    layerNames: ops.layers.map((l) => l.name),
    firstConv: def.firstConv(spec),
    trainableCount: ops.params.filter((p) => p.trainable).reduce((s, p) => s + size(p), 0),
    bufferCount: ops.params.filter((p) => !p.trainable).reduce((s, p) => s + size(p), 0),
    logitsShape: out.logits.shape.slice(1),
    ...(out.heatmapLogits ? { heatmapShape: torchOrder(out.heatmapLogits.shape) } : {}),
  };
}
