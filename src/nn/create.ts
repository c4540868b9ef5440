import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../io/index.js';
import { Rng } from '../rng/index.js';
import { archDefinition, describeArch, type ArchDescription, type ParamInfo } from './arch.js';
import { DerivedTensors, TensorOps } from './layers.js';
import type { ArchSpec, ForwardOptions, ForwardResult, Model } from './model.js';
import './models/alexnet.js';
import './models/vgg.js';
import './models/resnet.js';
import './models/spa.js';

/** Initial values of one parameter, drawn from its own stream so each is independent of the others. */
export function initialValues(param: ParamInfo, seed: number): Float32Array | Int32Array {
  const size = param.shape.reduce((a, b) => a * b, 1);
  const init = param.init;
  if (param.dtype === 'int32') return new Int32Array(size).fill(init.kind === 'constant' ? init.value : 0);
  const data = new Float32Array(size);
  if (init.kind === 'constant') return data.fill(init.value);
  const rng = Rng.derive(seed, 'init', param.name);
  if (init.kind === 'uniform') for (let i = 0; i < size; i++) data[i] = rng.uniform(-init.bound, init.bound);
  else for (let i = 0; i < size; i++) data[i] = rng.normal(0, init.std);
  return data;
}

class ArchModel implements Model {
  readonly spec: ArchSpec;
  readonly layerNames: readonly string[];
  readonly firstConv: string;
  readonly trainable = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();
  private readonly all = new Map<string, tf.Variable>();
  private readonly derived = new DerivedTensors();

  constructor(description: ArchDescription, values: (param: ParamInfo) => Float32Array | Int32Array) {
    this.spec = description.spec;
    this.layerNames = description.layerNames;
    this.firstConv = description.firstConv;
    for (const param of description.params) {
      const variable = tf.tidy(() => tf.variable(tf.tensor(values(param), param.shape, param.dtype), param.trainable));
      (param.trainable ? this.trainable : this.buffers).set(param.name, variable);
      this.all.set(param.name, variable);
    }
  }

  forward(x: tf.Tensor4D, options: ForwardOptions = {}): ForwardResult {
    const n = this.spec.inputSize;
    if (x.rank !== 4 || x.shape[1] !== n || x.shape[2] !== n || x.shape[3] !== 3) {
      throw new UserError(`${this.spec.arch} expects input [batch, ${n}, ${n}, 3], got [${x.shape.join(', ')}]`);
    }
    for (const name of Object.keys(options.taps ?? {})) {
      if (!this.layerNames.includes(name)) throw new Error(`no layer ${name} to tap in ${this.spec.arch}`);
    }
    return tf.tidy(() => {
      const out = archDefinition(this.spec.arch).build(new TensorOps(this.all, options, this.derived), x as tf.Tensor, this.spec);
      const result: ForwardResult = { logits: out.logits as tf.Tensor2D };
      if (out.heatmapLogits) result.heatmapLogits = out.heatmapLogits as tf.Tensor4D;
      return result as unknown as tf.TensorContainerObject;
    }) as unknown as ForwardResult;
  }

  dispose(): void {
    this.derived.dispose();
    for (const v of this.all.values()) v.dispose();
    this.all.clear();
    this.trainable.clear();
    this.buffers.clear();
  }
}

/**
 * Builds a model with PyTorch's initialisation (torchvision's where its model code overrides it), seeded:
 * the same spec and seed give the same weights.
 */
export function createModel(spec: ArchSpec, seed: number): Model {
  return new ArchModel(describeArch(spec), (param) => initialValues(param, seed));
}

/** Builds a model from given parameter values (tfjs layouts), keyed by PyTorch name. */
export function modelFromValues(spec: ArchSpec, values: ReadonlyMap<string, Float32Array | Int32Array>): Model {
  return new ArchModel(describeArch(spec), (param) => {
    const v = values.get(param.name);
    if (!v) throw new Error(`no value for ${param.name}`);
    return v;
  });
}

/** An independent copy of a model's parameters and buffers (e.g. branches trained from one base model). */
export function cloneModel(model: Model): Model {
  const values = new Map<string, Float32Array | Int32Array>();
  for (const [name, v] of [...model.trainable, ...model.buffers]) values.set(name, (v.dataSync() as Float32Array | Int32Array).slice());
  return modelFromValues(model.spec, values);
}
