import * as tf from '@tensorflow/tfjs-core';
import { adamUpdateOp } from '../compute/index.js';

export interface AdamOptions {
  lr: number;
  betas: readonly [number, number];
  eps?: number;
  /** L2 penalty added to the gradient before the moments (PyTorch `Adam(weight_decay=...)`, not AdamW). */
  weightDecay?: number;
}

/** The optimiser's state, for checkpoints (names are the parameters' names). */
export interface AdamState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/**
 * Adam with PyTorch's semantics (torch.optim.Adam, amsgrad off, the non-fused update):
 *   g ← g + wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε).
 * tfjs's AdamOptimizer has no weight decay and places ε differently (ε·√(1−β2^t) vs ε), so the update is
 * written out here: one pass over plain arrays per parameter (moments float32 like torch's, arithmetic
 * float64), which is much faster than a dozen elementwise kernels per parameter on the wasm backend.
 */
export class Adam {
  /** Learning rate of the next steps (a schedule may lower it between epochs). */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private stepCount = 0;
  /** First and second moments, kept on the backend (reading them back every step cost more than the update). */
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();

  constructor(private readonly params: ReadonlyMap<string, tf.Variable>, options: AdamOptions) {
    this.lr = options.lr;
    [this.beta1, this.beta2] = options.betas;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const [name, p] of params) {
      this.m.set(name, tf.keep(tf.zeros(p.shape)));
      this.v.set(name, tf.keep(tf.zeros(p.shape)));
    }
  }

  get step(): number {
    return this.stepCount;
  }

  /**
   * One update from gradients keyed by parameter name. A parameter without a gradient is left alone, as
   * PyTorch skips parameters whose `.grad` is None (e.g. SPA's mab head when training the class loss only).
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>): void {
    this.stepCount += 1;
    const t = this.stepCount;
    const { beta1, beta2, eps, weightDecay } = this;
    const coefficients = { beta1, beta2, eps, weightDecay, stepSize: this.lr / (1 - beta1 ** t), sqrtBias2: Math.sqrt(1 - beta2 ** t) };
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const [value, m1, v1] = adamUpdateOp(p, g, m, v, coefficients);
      p.assign(value);
      value.dispose();
      tf.dispose([m, v]);
      this.m.set(name, tf.keep(m1));
      this.v.set(name, tf.keep(v1));
    }
  }

  getState(): AdamState {
    // Copies: the cpu backend's dataSync returns its own storage.
    const copy = (moments: Map<string, tf.Tensor>) => new Map([...moments].map(([k, t]) => [k, Float32Array.from(t.dataSync())] as const));
    return { step: this.stepCount, m: copy(this.m), v: copy(this.v) };
  }

  setState(state: AdamState): void {
    for (const [moments, values, what] of [[this.m, state.m, 'm'], [this.v, state.v, 'v']] as const) {
      for (const [name, current] of moments) {
        const data = values.get(name);
        if (!data || data.length !== current.size) throw new Error(`Adam state: ${what} of ${name} missing or of the wrong size`);
      }
    }
    for (const [moments, values] of [[this.m, state.m], [this.v, state.v]] as const) {
      for (const [name, current] of moments) {
        moments.set(name, tf.keep(tf.tensor(values.get(name)!, current.shape, 'float32')));
        current.dispose();
      }
    }
    this.stepCount = state.step;
  }

  /** Frees the moments; the optimiser cannot be used afterwards. */
  dispose(): void {
    for (const moments of [this.m, this.v]) {
      tf.dispose([...moments.values()]);
      moments.clear();
    }
  }
}
