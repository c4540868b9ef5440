import * as tf from '@tensorflow/tfjs-core';
import type { LinearForward, LinearKind, Model, NonlinearityKind, NonlinearityRule } from '../nn/index.js';
import { UserError } from '../io/index.js';
import { internalBatchSize, mapChunks, resolveTargets, toAttribution } from './common.js';
import type { AttributionMethod } from './types.js';

/**
 * Layer-wise relevance propagation (Bach et al. 2015; rules and composites as in Montavon et al. 2019 and zennit).
 * The target logit's value is the relevance put on the output; each linear layer (convolution, fully connected,
 * average pooling) redistributes the relevance R of its outputs to its inputs as R_in = a ⊙ ρ(W)ᵀ (R / stab(z_ρ)),
 * z_ρ = ρ(W) a + ρ(b); ReLUs pass relevance to their active units, max-pooling to the window's maximum. The input's
 * relevance is the attribution, n × 3 × N × N.
 */

/** A rule for one linear layer: ρ applied to weight and bias, the stabiliser ε, whether the bias takes part. */
interface LayerRule {
  rho: (p: tf.Tensor) => tf.Tensor;
  epsilon: number;
  bias: boolean;
}

const identity = (p: tf.Tensor) => p;
/** ε rule (LRP-ε): ρ = identity. */
export const epsilonRule = (epsilon: number): LayerRule => ({ rho: identity, epsilon, bias: true });
/** γ rule: positive parameters boosted by γ, ρ(w) = w + γ·max(w, 0). */
export const gammaRule = (gamma: number, epsilon = 1e-6): LayerRule => ({ rho: (p) => tf.add(p, tf.mul(gamma, tf.relu(p))), epsilon, bias: true });
/** z⁺ rule (α1β0 for non-negative inputs, as images and ReLU outputs are): only positive weights, no bias. */
export const zPlusRule = (epsilon = 1e-6): LayerRule => ({ rho: (p) => tf.relu(p), epsilon, bias: false });

/** z + ε·sign(z), sign(0) = +1: keeps a denominator away from 0 (the relevance of such units is absorbed). */
function stabilise(z: tf.Tensor, epsilon: number): tf.Tensor {
  return tf.add(z, tf.where(tf.greaterEqual(z, 0), tf.fill(z.shape, epsilon), tf.fill(z.shape, -epsilon)));
}

/** The value of `t` with no gradient (tfjs has no stop_gradient). */
const constant = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const t = args[0] as tf.Tensor;
  return { value: tf.clone(t), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
});

/** A composite: the rule per layer kind, as zennit's composites assign them (the input layer may differ). */
export interface Composite {
  input: LayerRule;
  conv: LayerRule;
  linear: LayerRule;
}

/**
 * The relevance rule of a composite, as the "gradient trick": each linear layer outputs its own value z, with the
 * gradient of z_ρ · z / stab(z_ρ). Then g = ∂(target logit)/∂a satisfies R = a ⊙ g at every layer (R_j = z_j g_j on
 * the active units, so R_k = a_k Σ_j ρ(w_kj) R_j / stab(z_ρ,j), the rule), and the input's relevance is x ⊙ g.
 * Nonlinearities keep their plain gradients; average pooling takes the ε rule.
 */
export class LrpRule implements NonlinearityRule {
  readonly name = 'lrp';

  constructor(private readonly composite: Composite) {}

  apply(kind: NonlinearityKind, _name: string, x: tf.Tensor, forward: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    if (kind === 'softmax') throw new Error('LRP has no rule for softmax (SPA is not supported)');
    return forward(x);
  }

  applyLinear(kind: LinearKind, _name: string, x: tf.Tensor, forward: LinearForward, first: boolean): tf.Tensor {
    const rule = kind === 'avg_pool' ? epsilonRule(1e-6) : first ? this.composite.input : kind === 'conv' ? this.composite.conv : this.composite.linear;
    const z = forward(x);
    const zRho = rule.rho === identity && rule.bias ? z : forward(x, rule.rho, { bias: rule.bias }); // the ε rule's z_ρ is z
    const factor = constant(tf.div(z, stabilise(zRho, rule.epsilon)));
    // Value z exactly; gradient that of z_ρ · factor.
    return tf.add(constant(z), tf.sub(tf.mul(zRho, factor), constant(tf.mul(zRho, factor))));
  }
}

/** The input relevance [n, N, N, 3] of `targets` under a composite's rules (rows of one pass). */
export function lrpRelevance(model: Model, x: tf.Tensor4D, targets: readonly number[], composite: Composite): tf.Tensor4D {
  return tf.tidy(() => {
    const rule = new LrpRule(composite);
    // The output's relevance is the target logit itself (g = 1 there); the input's is x ⊙ g.
    const target = tf.oneHot([...targets], model.spec.numClasses).toFloat();
    const g = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(model.forward(input as tf.Tensor4D, { rule }).logits, target)))(x);
    return tf.mul(x, g) as tf.Tensor4D;
  });
}

function lrpMethod(name: string, composite: () => Composite): AttributionMethod {
  return {
    name,
    random: false,
    // Residual additions, BatchNorm and SPA's attention product need rules (canonizers) fiveband does not have yet.
    appliesTo: (model: Model) => model.spec.arch !== 'resnet34' && model.spec.arch !== 'spa',
    attribute(model, inputs, target, options) {
      if (!this.appliesTo(model)) throw new UserError(`${name} does not apply to a ${model.spec.arch} model (no LRP rules for residual additions, BatchNorm or attention yet)`);
      const targets = resolveTargets(model, inputs, target);
      return toAttribution(mapChunks(inputs.shape[0], internalBatchSize(options, model), (start, end) =>
        lrpRelevance(model, tf.slice(inputs, [start], [end - start]) as tf.Tensor4D, targets.slice(start, end), composite())));
    },
  };
}

/** Captum's LRP with its default rules: ε (Captum's 1e-9) on every convolution, linear and pooling layer. */
export const lrp = lrpMethod('LRP', () => ({ input: epsilonRule(1e-9), conv: epsilonRule(1e-9), linear: epsilonRule(1e-9) }));
/** zennit's EpsilonPlus: z⁺ on convolutions (the input layer included), ε = 1e-6 on fully connected layers. */
export const lrpEpsilonPlus = lrpMethod('LRPEpsilonPlus', () => ({ input: zPlusRule(), conv: zPlusRule(), linear: epsilonRule(1e-6) }));
/** γ = 0.25 on every convolution (the input layer included), ε = 1e-6 on fully connected layers (zennit's EpsilonGammaBox without its zB input rule). */
export const lrpEpsilonGamma = lrpMethod('LRPEpsilonGamma', () => ({ input: gammaRule(0.25), conv: gammaRule(0.25), linear: epsilonRule(1e-6) }));
