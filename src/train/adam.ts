import * as tf from '@tensorflow/tfjs-core';

export interface AdamOptions {
  lr: number;
  betas: readonly [number, number];
  eps?: number;
  /** L2 penalty added to the gradient before the moments (PyTorch `Adam(weight_decay=...)`, not AdamW). */
  weightDecay?: number;
}

/** Plain arrays of the optimiser's state, for checkpoints (names are the parameters' names). */
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
 * written out here.
 */
export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private stepCount = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(private readonly params: ReadonlyMap<string, tf.Variable>, options: AdamOptions) {
    this.lr = options.lr;
    [this.beta1, this.beta2] = options.betas;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
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
    const stepSize = this.lr / (1 - this.beta1 ** t);
    const sqrtBias2 = Math.sqrt(1 - this.beta2 ** t);
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        let g = grads.get(name);
        if (!g) continue;
        if (this.weightDecay !== 0) g = tf.add(g, tf.mul(p, this.weightDecay));
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(vNew), sqrtBias2), this.eps);
        m.assign(mNew);
        v.assign(vNew);
        p.assign(tf.sub(p, tf.mul(tf.div(mNew, denom), stepSize)));
      }
    });
  }

  getState(): AdamState {
    const read = (vars: Map<string, tf.Variable>) =>
      new Map([...vars].map(([k, t]) => [k, t.dataSync() as Float32Array] as const));
    return { step: this.stepCount, m: read(this.m), v: read(this.v) };
  }

  setState(state: AdamState): void {
    for (const [vars, values, what] of [[this.m, state.m, 'm'], [this.v, state.v, 'v']] as const) {
      for (const [name, variable] of vars) {
        const data = values.get(name);
        if (!data || data.length !== variable.size) throw new Error(`Adam state: ${what} of ${name} missing or of the wrong size`);
        tf.tidy(() => variable.assign(tf.tensor(data, variable.shape)));
      }
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
