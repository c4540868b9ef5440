import * as tf from '@tensorflow/tfjs-core';

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
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  constructor(private readonly params: ReadonlyMap<string, tf.Variable>, options: AdamOptions) {
    this.lr = options.lr;
    [this.beta1, this.beta2] = options.betas;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.size));
      this.v.set(name, new Float32Array(p.size));
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
    const stepSize = this.lr / (1 - beta1 ** t);
    const sqrtBias2 = Math.sqrt(1 - beta2 ** t);
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      const grad = g.dataSync();
      const value = p.dataSync();
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const next = new Float32Array(value.length);
      for (let i = 0; i < next.length; i++) {
        const gi = grad[i]! + weightDecay * value[i]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * gi;
        v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
        next[i] = value[i]! - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / sqrtBias2 + eps);
      }
      const updated = tf.tensor(next, p.shape, 'float32');
      p.assign(updated);
      updated.dispose();
    }
  }

  getState(): AdamState {
    const copy = (moments: Map<string, Float32Array>) => new Map([...moments].map(([k, a]) => [k, a.slice()] as const));
    return { step: this.stepCount, m: copy(this.m), v: copy(this.v) };
  }

  setState(state: AdamState): void {
    for (const [moments, values, what] of [[this.m, state.m, 'm'], [this.v, state.v, 'v']] as const) {
      for (const [name, target] of moments) {
        const data = values.get(name);
        if (!data || data.length !== target.length) throw new Error(`Adam state: ${what} of ${name} missing or of the wrong size`);
        target.set(data);
      }
    }
    this.stepCount = state.step;
  }
}
