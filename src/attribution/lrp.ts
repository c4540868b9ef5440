import * as tf from '@tensorflow/tfjs-core';
import type { Arch, LinearForward, LinearKind, Model, NonlinearityKind, NonlinearityRule } from '../nn/index.js';
import { UserError } from '../io/index.js';
import { stabilisedDivideOp } from '../compute/index.js';
import { internalBatchSize, mapChunks, resolveTargets, toAttribution } from './common.js';
import type { AttributionMethod } from './types.js';

/**
 * Layer-wise relevance propagation (Bach et al. 2015; rules and composites as in Montavon et al. 2019 and zennit).
 * The target logit's value is the relevance put on the output; each linear layer (convolution, fully connected,
 * average pooling) redistributes the relevance R of its outputs to its inputs as R_in = a ⊙ ρ(W)ᵀ (R / stab(z_ρ)),
 * z_ρ = ρ(W) a + ρ(b), stab(z) = z + ε·sign(z) with sign(0) = +1 (the relevance of units near 0 is absorbed); ReLUs
 * pass relevance to their active units, max-pooling to the window's maximum. The input's relevance is the
 * attribution, n × 3 × N × N.
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

/**
 * A rule for the input layer that looks past the input's value: zB (Montavon et al. 2017) for inputs bounded by
 * [low, high], R_i = Σ_j (x_i w_ij − l w⁺_ij − h w⁻_ij) R_j / Σ_i (…), and flat, R_i = Σ_j R_j / (number of inputs
 * that feed j), as zennit's ZBox and Flat.
 */
export type InputRule = LayerRule | { kind: 'zB'; low: number; high: number; epsilon: number } | { kind: 'flat'; epsilon: number };

/** zB with the bounds of images in [0, 1] (zennit's EpsilonGammaBox takes low = 0, high = 1 for such inputs). */
export const zBoxRule = (low = 0, high = 1, epsilon = 1e-6): InputRule => ({ kind: 'zB', low, high, epsilon });
/** flat: every input that feeds a unit gets an equal share of its relevance. */
export const flatRule = (epsilon = 1e-6): InputRule => ({ kind: 'flat', epsilon });

/** A composite: the rule per layer kind, as zennit's composites assign them (the input layer may differ). */
export interface Composite {
  input: InputRule;
  conv: LayerRule;
  linear: LayerRule;
}

/** The extra inputs an input rule differentiates against, besides the image: zB's bound images, flat's ones. */
interface InputRuleTensors {
  low?: tf.Tensor;
  high?: tf.Tensor;
  ones?: tf.Tensor;
}

/**
 * The relevance rule of a composite, as the "gradient trick": each linear layer outputs its own value z, with the
 * gradient of z_ρ · z / stab(z_ρ). Then g = ∂(target logit)/∂a satisfies R = a ⊙ g at every layer (R_j = z_j g_j on
 * the active units, so R_k = a_k Σ_j ρ(w_kj) R_j / stab(z_ρ,j), the rule), and the input's relevance is x ⊙ g.
 * zB and flat at the input layer take the same trick with more inputs: the bound images l and h (or a ones image),
 * differentiated too, so that R = x ⊙ g_x + l ⊙ g_l + h ⊙ g_h (g_l, g_h through −l·W⁺, −h·W⁻; flat: R = g_ones). Nonlinearities keep their plain
 * gradients; average pooling takes the ε rule.
 */
export class LrpRule implements NonlinearityRule {
  readonly name = 'lrp';

  constructor(private readonly composite: Composite, private readonly extra: InputRuleTensors = {}) {}

  apply(kind: NonlinearityKind, _name: string, x: tf.Tensor, forward: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    if (kind === 'softmax') throw new Error('LRP has no rule for softmax (SPA is not supported)');
    return forward(x);
  }

  applyLinear(kind: LinearKind, _name: string, x: tf.Tensor, forward: LinearForward, first: boolean): tf.Tensor {
    const input = this.composite.input;
    const rule = kind === 'avg_pool' ? epsilonRule(1e-6) : first && 'rho' in input ? input : kind === 'conv' ? this.composite.conv : this.composite.linear;
    const z = forward(x);
    if (first && !('rho' in input)) {
      const noBias = { bias: false };
      const { low, high, ones } = this.extra;
      // What the gradient flows through: zB's x·W − l·W⁺ − h·W⁻ (its denominator with the bias), flat's 1·1.
      if (input.kind === 'flat') {
        const spread = forward(ones!, (p) => tf.onesLike(p), noBias);
        return withGradientOf(z, spread, stabilisedDivideOp(z, spread, input.epsilon));
      }
      const bounds = tf.add(forward(low!, positivePart, noBias), forward(high!, negativePart, noBias));
      return withGradientOf(z, tf.sub(forward(x, identity, noBias), bounds), stabilisedDivideOp(z, tf.sub(z, bounds), input.epsilon));
    }
    const zRho = rule.rho === identity && rule.bias ? z : forward(x, rule.rho, { bias: rule.bias }); // the ε rule's z_ρ is z
    return withGradientOf(z, zRho, stabilisedDivideOp(z, zRho, rule.epsilon));
  }
}

const positivePart = (p: tf.Tensor) => tf.relu(p);
const negativePart = (p: tf.Tensor) => tf.neg(tf.relu(tf.neg(p)));

/**
 * Value z exactly; gradient that of `carrier` · factor with the factor held constant: dy · factor to the carrier
 * alone. z and the factor are not inputs, so no gradient reaches them (tfjs has no stop_gradient; as inputs with
 * zero gradients they cost three zero tensors and a product per layer).
 */
function withGradientOf(z: tf.Tensor, carrier: tf.Tensor, factor: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    (args[1] as tf.GradSaveFunc)([factor]); // kept for the backward pass, which runs after the forward's tidy
    return { value: tf.clone(z), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
  });
  return op(carrier);
}

/** The input relevance [n, N, N, 3] of `targets` under a composite's rules (rows of one pass). */
export function lrpRelevance(model: Model, x: tf.Tensor4D, targets: readonly number[], composite: Composite): tf.Tensor4D {
  return tf.tidy(() => {
    // The output's relevance is the target logit itself (g = 1 there); tfjs's oneHot needs a depth of 2 or more.
    const target = tf.oneHot([...targets], Math.max(2, model.spec.numClasses)).slice([0, 0], [targets.length, model.spec.numClasses]).toFloat();
    const score = (extra: InputRuleTensors) => (input: tf.Tensor) => tf.sum(tf.mul(model.forward(input as tf.Tensor4D, { rule: new LrpRule(composite, extra) }).logits, target));
    const input = composite.input;
    if ('rho' in input) return tf.mul(x, tf.grad(score({}))(x)) as tf.Tensor4D;
    if (input.kind === 'flat') {
      // The image enters only the values (no gradient flows to it under flat): differentiate the ones alone.
      return tf.grad((ones: tf.Tensor) => score({ ones })(x))(tf.onesLike(x)) as tf.Tensor4D;
    }
    const [low, high] = [tf.fill(x.shape, input.low), tf.fill(x.shape, input.high)];
    const [gx, gLow, gHigh] = tf.grads((a: tf.Tensor, l: tf.Tensor, h: tf.Tensor) => score({ low: l, high: h })(a))([x, low, high]);
    // The bound terms enter the carrier negated, so their gradients already carry the minus sign.
    return tf.add(tf.add(tf.mul(x, gx!), tf.mul(low, gLow!)), tf.mul(high, gHigh!)) as tf.Tensor4D;
  });
}

/**
 * An LRP method, for every classifier: ResNet34's BatchNorm layers are merged into their convolutions for the rules
 * (zennit's canonizer, TensorOps.convBatchNorm) and its residual sums take plain gradients, which split relevance in
 * proportion to the two terms (zennit's Norm rule for its Sum module). Not SPA: its attention product has no rule.
 */
function lrpMethod(name: string, composite: () => Composite): AttributionMethod {
  const applies = (arch: Arch) => arch !== 'spa';
  return {
    name,
    random: false,
    appliesTo: applies,
    attribute(model, inputs, target, options) {
      if (!applies(model.spec.arch)) throw new UserError(`${name} does not apply to a ${model.spec.arch} model (no LRP rule for its attention product)`);
      const targets = resolveTargets(model, inputs, target);
      return toAttribution(mapChunks(inputs.shape[0], internalBatchSize(options, model), (start, end) =>
        tf.tidy(() => lrpRelevance(model, tf.slice(inputs, [start], [end - start]) as tf.Tensor4D, targets.slice(start, end), composite()))));
    },
  };
}

/** Captum's LRP with its default rules: ε (Captum's 1e-9) on every convolution, linear and pooling layer. */
export const lrp = lrpMethod('LRP', () => ({ input: epsilonRule(1e-9), conv: epsilonRule(1e-9), linear: epsilonRule(1e-9) }));
/** zennit's EpsilonPlus: z⁺ on convolutions (the input layer included), ε = 1e-6 on fully connected layers. */
export const lrpEpsilonPlus = lrpMethod('LRPEpsilonPlus', () => ({ input: zPlusRule(), conv: zPlusRule(), linear: epsilonRule(1e-6) }));
/** γ = 0.25 on every convolution (the input layer included), ε = 1e-6 on fully connected layers (zennit's EpsilonGammaBox without its zB input rule). */
export const lrpEpsilonGamma = lrpMethod('LRPEpsilonGamma', () => ({ input: gammaRule(0.25), conv: gammaRule(0.25), linear: epsilonRule(1e-6) }));
/** zennit's EpsilonGammaBox: zB on the input layer (images in [0, 1]), γ = 0.25 on the other convolutions, ε = 1e-6 on fully connected layers. */
export const lrpEpsilonGammaBox = lrpMethod('LRPEpsilonGammaBox', () => ({ input: zBoxRule(0, 1), conv: gammaRule(0.25), linear: epsilonRule(1e-6) }));
