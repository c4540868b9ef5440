import * as tf from '@tensorflow/tfjs-core';
import { access } from 'node:fs/promises';
import { dtypeOf, readSafetensors, writeSafetensors, type Tensor, type TypedArray } from '../io/index.js';
import type { Model } from '../nn/model.js';
import type { Adam, AdamState } from './adam.js';

/**
 * A resumable training state in one safetensors file (written atomically): the model's parameters and
 * buffers and Adam's moments in tfjs layout (this file is internal; finished models are saved with
 * PyTorch layouts by the nn stage), plus the loop's JSON state (position, iteration, curves, ...) and the
 * run's configuration in the metadata.
 */
export async function saveCheckpoint(path: string, model: Model, adam: Adam, config: unknown, state: unknown): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  const put = (key: string, data: TypedArray, shape: number[]) => {
    tensors[key] = { dtype: dtypeOf(data), shape, data };
  };
  // Buffers may be int32 (BatchNorm's num_batches_tracked).
  for (const [name, v] of model.trainable) put(`param:${name}`, v.dataSync() as Float32Array, v.shape);
  for (const [name, v] of model.buffers) put(`buffer:${name}`, v.dataSync() as Float32Array | Int32Array, v.shape);
  const adamState = adam.getState();
  for (const [name, v] of model.trainable) {
    put(`adam.m:${name}`, adamState.m.get(name)!, v.shape);
    put(`adam.v:${name}`, adamState.v.get(name)!, v.shape);
  }
  await writeSafetensors(path, tensors, {
    config: JSON.stringify(config),
    state: JSON.stringify(state),
    adamStep: String(adamState.step),
  });
}

export async function checkpointExists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** The configuration a checkpoint was written with (to refuse resuming a different run). */
export async function checkpointConfig(path: string): Promise<unknown> {
  return JSON.parse((await readSafetensors(path)).metadata.config ?? 'null');
}

/** Restores model and optimiser from a checkpoint and returns the loop state saved with them. */
export async function loadCheckpoint<S>(path: string, model: Model, adam: Adam): Promise<S> {
  const file = await readSafetensors(path);
  const take = (key: string, shape: readonly number[], dtype: 'F32' | 'I32' = 'F32'): Float32Array => {
    const t = file.tensors[key];
    if (!t || t.dtype !== dtype || t.shape.join() !== shape.join()) throw new Error(`${path}: checkpoint lacks ${key} [${shape}]`);
    return t.data as Float32Array;
  };
  const restore = (vars: ReadonlyMap<string, tf.Variable>, prefix: string) => {
    for (const [name, v] of vars) {
      const data = take(`${prefix}:${name}`, v.shape, v.dtype === 'int32' ? 'I32' : 'F32');
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, v.dtype)));
    }
  };
  restore(model.trainable, 'param');
  restore(model.buffers, 'buffer');
  const adamState: AdamState = { step: Number(file.metadata.adamStep ?? 0), m: new Map(), v: new Map() };
  for (const [name, v] of model.trainable) {
    adamState.m.set(name, take(`adam.m:${name}`, v.shape));
    adamState.v.set(name, take(`adam.v:${name}`, v.shape));
  }
  adam.setState(adamState);
  return JSON.parse(file.metadata.state ?? 'null') as S;
}
