import type * as tf from '@tensorflow/tfjs-core';
import type { Arch } from './names.js';

/**
 * The contract between models, training and attribution.
 *
 * Tensors inside the models are NHWC (tfjs); files PyTorch users read use PyTorch layouts and are converted
 * at the I/O boundary only. Models never mention a backend.
 */

/** The kinds of nonlinearity a rule can re-route in the backward pass. */
export type NonlinearityKind = 'relu' | 'leaky_relu' | 'max_pool' | 'softmax';

/**
 * Decides how a nonlinearity behaves in the backward pass (the forward value is always `forward(x)`).
 * Models call `rule.apply` at every nonlinearity, so Guided Backprop, Deconvolution and DeepLift are rules,
 * not model edits. `name` is the layer's name (e.g. `features.1`), `forward` the plain operation.
 * The plain rule is `forward(x)` itself.
 */
export interface NonlinearityRule {
  readonly name: string;
  apply(kind: NonlinearityKind, name: string, x: tf.Tensor, forward: (t: tf.Tensor) => tf.Tensor): tf.Tensor;
  /**
   * Optional (LRP): how a linear layer — convolution, fully connected, average pooling — behaves in the backward
   * pass. `forward(t, rho)` runs the layer on `t` with `rho` applied to its weight and bias (average pooling has
   * none); `first` marks the layer that reads the input image. Without it the layer is plain.
   */
  applyLinear?(kind: LinearKind, name: string, x: tf.Tensor, forward: LinearForward, first: boolean): tf.Tensor;
}

/** The linear layers an LRP rule re-routes. */
export type LinearKind = 'conv' | 'linear' | 'avg_pool';
/** A linear layer run with its parameters transformed by `rho` (identity when absent; `bias: false` drops the bias). */
export type LinearForward = (t: tf.Tensor, rho?: (p: tf.Tensor) => tf.Tensor, options?: { bias?: boolean }) => tf.Tensor;

/**
 * A tap sees the named activation and returns the tensor the model continues with. Identity plus a side
 * effect records it (forward runs inside tf.tidy: `tf.keep` what you record); adding a zero tensor that one
 * differentiates against gives d(output)/d(activation) (Grad-CAM).
 */
export type Tap = (activation: tf.Tensor) => tf.Tensor;

export interface ForwardOptions {
  /** Training mode: batch statistics for BatchNorm (and running-statistics updates), dropout active. */
  training?: boolean;
  /** Nonlinearity rule; default plain. */
  rule?: NonlinearityRule;
  /** Taps by layer name (one of `model.layerNames`). */
  taps?: Record<string, Tap>;
  /**
   * Seed for dropout masks in training mode, required there by models with dropout: each layer's mask is
   * drawn from `Rng.derive(dropoutSeed, 'dropout', layerName)`, so pass a different seed per step.
   */
  dropoutSeed?: number;
}

export interface ForwardResult {
  /** [n, classes] */
  logits: tf.Tensor2D;
  /** SPA/mabCAM only: heatmap logits [n, N, N, 3] (NHWC), already cropped to the input size. */
  heatmapLogits?: tf.Tensor4D;
}

export type { Arch };

/** Everything needed to rebuild a model; stored as JSON beside the weights. */
export interface ArchSpec {
  arch: Arch;
  /** Square input side N (images are N×N×3). */
  inputSize: number;
  numClasses: number;
  /** Channel width multiplier (1 = the reference architecture). */
  width: number;
  /** alexnet-depth only: number of extra Conv(3→3, k3, pad 2, dilation 2) + LeakyReLU blocks. */
  depth?: number;
  /**
   * alexnet-depth only: the extra blocks' initialisation. `pytorch` (the reference's, the default when absent):
   * U(±1/√27) weights and biases; `kaiming`: kaiming_normal (ReLU gain, fan 27) weights and zero biases.
   */
  blockInit?: BlockInit;
}

export type BlockInit = 'pytorch' | 'kaiming';

export interface Model {
  readonly spec: ArchSpec;
  /**
   * Names of the activations that can be tapped, in forward order: the PyTorch module paths of the
   * reference's classes (e.g. `backbone.features.0`, `backbone.layer1.0.relu2`, `convs.0`, `mab.3`).
   */
  readonly layerNames: readonly string[];
  /** Name of the first convolution's output (the reference's GuidedGradCam layer). */
  readonly firstConv: string;
  /**
   * Trainable parameters under PyTorch state-dict names, in forward order. Values are in tfjs layouts
   * (conv HWIO, transposed conv [kh, kw, out, in], linear [in, out]); weights.ts converts to PyTorch's.
   */
  readonly trainable: ReadonlyMap<string, tf.Variable>;
  /** Non-trainable state (BatchNorm running mean / var) under PyTorch names. */
  readonly buffers: ReadonlyMap<string, tf.Variable>;
  /** x: [n, N, N, 3] float32 in [0, 1]. */
  forward(x: tf.Tensor4D, options?: ForwardOptions): ForwardResult;
  dispose(): void;
}
