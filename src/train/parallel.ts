import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { ArchSpec, Model } from '../nn/model.js';
import type { Adam } from './adam.js';
import { disposeBatch, type Batch } from './data.js';
import {
  copyBuffers, finishStep, microBatchGradients, microBatchSeed, microBatchesHere, setBuffers, splitBatch, trainStep,
  type MicroBatchResult, type StepLosses,
} from './step.js';

/** A tensor as it crosses a thread boundary. */
export interface WireTensor {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface WireMicroBatch {
  x: WireTensor;
  labels: WireTensor;
  bands?: WireTensor;
  scale: number;
  dropoutSeed: number;
}

export interface ReplicaInit {
  spec: ArchSpec;
  backend: string;
  lambda?: number;
}

/** Main → replica: the current parameters and buffers (by name), then the micro-batches to compute. */
export interface ReplicaStep {
  values: Record<string, WireTensor>;
  microBatches: WireMicroBatch[];
}

export interface WireResult {
  grads: Record<string, WireTensor>;
  buffers: Record<string, WireTensor>;
  losses: StepLosses;
}

export type ReplicaReply = { ready: true } | { results: WireResult[] } | { error: string };

/** A copy of the values (the cpu backend's dataSync returns its own storage, which must not travel). */
function toWire(t: tf.Tensor): WireTensor {
  const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
  const data = t.dataSync();
  return { data: dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data), shape: [...t.shape], dtype };
}

function fromWire(w: WireTensor): tf.Tensor {
  return tf.tensor(w.data, w.shape, w.dtype);
}

function wireMap(map: ReadonlyMap<string, tf.Tensor>): Record<string, WireTensor> {
  return Object.fromEntries([...map].map(([name, t]) => [name, toWire(t)]));
}

function tensorMap(record: Record<string, WireTensor>): Map<string, tf.Tensor> {
  return new Map(Object.entries(record).map(([name, w]) => [name, fromWire(w)]));
}

/** What a replica does for one step (also what the main thread would do): see ReplicaStep. */
export function computeOnReplica(model: Model, step: ReplicaStep, lambda?: number): WireResult[] {
  for (const [name, v] of [...model.trainable, ...model.buffers]) {
    const value = fromWire(step.values[name]!);
    v.assign(value);
    value.dispose();
  }
  const start = copyBuffers(model);
  try {
    return step.microBatches.map((mb) => {
      setBuffers(model, start);
      const batch: Batch = { x: fromWire(mb.x) as tf.Tensor4D, labels: fromWire(mb.labels) as tf.Tensor1D };
      if (mb.bands) batch.bands = fromWire(mb.bands) as tf.Tensor3D;
      try {
        const r = microBatchGradients(model, batch, mb.scale, mb.dropoutSeed, lambda);
        const wire = { grads: wireMap(r.grads), buffers: wireMap(r.buffers), losses: r.losses };
        tf.dispose([...r.grads.values(), ...r.buffers.values()]);
        return wire;
      } finally {
        disposeBatch(batch);
      }
    });
  } finally {
    tf.dispose([...start.values()]);
  }
}

/** The buffers a replica's reply can hand over instead of copying. */
export function replicaTransferables(results: WireResult[]): ArrayBuffer[] {
  return results.flatMap((r) => [...Object.values(r.grads), ...Object.values(r.buffers)].map((w) => w.data.buffer as ArrayBuffer));
}

class Replica {
  private pending: { resolve: (r: WireResult[]) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ReplicaReply) => {
      const p = this.pending;
      this.pending = null;
      if ('results' in reply) p?.resolve(reply.results);
      else if ('error' in reply) p?.reject(new Error(`training thread: ${reply.error}`));
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`training thread exited (${code})`)));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.pending?.reject(e);
    this.pending = null;
  }

  static start(init: ReplicaInit): Promise<Replica> {
    const worker = new Worker(new URL('./replica-worker.js', import.meta.url), { workerData: init });
    return new Promise((resolve, reject) => {
      worker.once('message', (reply: ReplicaReply) => ('ready' in reply ? resolve(new Replica(worker)) : reject(new Error(`training thread: ${'error' in reply ? reply.error : 'no ready message'}`))));
      worker.once('error', reject);
    });
  }

  run(step: ReplicaStep): Promise<WireResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(step);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/**
 * Runs training steps with the batch split into `microBatches` whose gradients are accumulated
 * (see trainStep); micro-batch k is computed by thread k mod `threads` (thread 0 is this one, the others
 * hold replicas of the model that receive its parameters every step). Outputs are byte-identical for
 * every thread count: the arithmetic and its order do not depend on who computes.
 */
export class StepRunner {
  private constructor(
    private readonly model: Model,
    private readonly microBatches: number,
    private readonly lambda: number | undefined,
    private readonly replicas: Replica[],
  ) {}

  static async start(model: Model, options: { microBatches: number; threads: number; lambda?: number }): Promise<StepRunner> {
    const threads = Math.max(1, Math.min(options.threads, options.microBatches));
    const init: ReplicaInit = { spec: model.spec, backend: tf.getBackend() };
    if (options.lambda !== undefined) init.lambda = options.lambda;
    const replicas = await Promise.all(Array.from({ length: threads - 1 }, () => Replica.start(init)));
    return new StepRunner(model, options.microBatches, options.lambda, replicas);
  }

  get threads(): number {
    return this.replicas.length + 1;
  }

  async step(adam: Adam, batch: Batch, dropoutSeed: number): Promise<StepLosses> {
    if (this.replicas.length === 0) return trainStep(this.model, adam, batch, dropoutSeed, this.lambda, this.microBatches);
    const parts = splitBatch(batch, this.microBatches);
    const n = batch.x.shape[0];
    const threads = this.threads;
    const results: (MicroBatchResult | null)[] = parts.map(() => null);
    try {
      const values = wireMap(new Map([...this.model.trainable, ...this.model.buffers]));
      const jobs = this.replicas.map((replica, r) => {
        const mine = parts.map((_, k) => k).filter((k) => k % threads === r + 1);
        if (mine.length === 0) return Promise.resolve();
        const microBatches = mine.map((k): WireMicroBatch => {
          const p = parts[k]!;
          const mb: WireMicroBatch = { x: toWire(p.x), labels: toWire(p.labels), scale: p.x.shape[0] / n, dropoutSeed: microBatchSeed(dropoutSeed, k) };
          if (p.bands) mb.bands = toWire(p.bands);
          return mb;
        });
        return replica.run({ values, microBatches }).then((wire) => wire.forEach((w, i) => {
          results[mine[i]!] = { grads: tensorMap(w.grads), buffers: tensorMap(w.buffers), losses: w.losses };
        }));
      });
      const here = parts.map((_, k) => k).filter((k) => k % threads === 0);
      microBatchesHere(this.model, parts, n, dropoutSeed, this.lambda, here).forEach((r, i) => {
        results[here[i]!] = r;
      });
      await Promise.all(jobs);
      return finishStep(this.model, adam, results as MicroBatchResult[]);
    } catch (e) {
      for (const r of results) if (r) tf.dispose([...r.grads.values(), ...r.buffers.values()]);
      throw e;
    } finally {
      if (parts[0] !== batch) parts.forEach(disposeBatch);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.close()));
  }
}
