import type * as tf from '@tensorflow/tfjs-core';
import type { Arch, Model } from '../nn/index.js';

/**
 * Attributions in PyTorch layout, as Captum returns them and as they are saved: `n × c × H × W` float32,
 * c = 3 (one value per input channel) or 1 (the decoded mabCAM heatmap).
 */
export interface Attribution {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** Everything a method may take besides model, inputs and target; each method reads the fields it needs. */
export interface AttributeOptions {
  /** Seed of the random parts (SHAP baselines and draws). Default 0. */
  seed?: number;
  /**
   * One key per input sample (e.g. the dataset id) for the per-sample random streams, so a sample's
   * attribution does not depend on which batch or worker computed it. Default: the index in `inputs`.
   */
  sampleKeys?: ReadonlyArray<string | number>;
  /** Most rows (expanded samples) per forward/backward pass; bounds memory. Default: automatic (≤ 16, by activation size). */
  internalBatchSize?: number;
  /** Saliency: signed gradient instead of Captum's default absolute value. */
  signed?: boolean;
  /** IntegratedGradients: number of Gauss–Legendre steps (Captum default 50). */
  steps?: number;
  /** GuidedGradCam: layer name (one of `model.layerNames`); default `model.firstConv` as the reference. */
  layer?: string;
  /** GradCam: layer name; default the last spatial convolution that feeds the logits. */
  camLayer?: string;
  /** NoiseTunnel methods (SmoothGrad, SmoothGradSq, VarGrad): noisy copies per sample (Captum's nt_samples, default 5). */
  ntSamples?: number;
  /** NoiseTunnel methods: σ of the Gaussian noise in input units, the image being in [0, 1] (default 0.15). */
  ntStdev?: number;
  /** Occlusion: side of the square patch (default N/8) and its stride (default half the patch). */
  occlusionWindow?: number;
  occlusionStride?: number;
  /** GradientShap / DeepLiftShap: number of random baselines (reference 4). */
  shapBaselines?: number;
  /** GradientShap / DeepLiftShap: standard deviation of the N(0, sd²) baselines (reference 0.001). */
  shapBaselineScale?: number;
  /**
   * GradientShap / DeepLiftShap: explicit baselines instead of random ones, k × 3 × H × W (PyTorch layout),
   * shared by every sample.
   */
  baselines?: Float32Array;
  /** GradientShap: number of (baseline, alpha) draws per sample (Captum default n_samples = 5). */
  shapSamples?: number;
  /**
   * The samples' ground truth at the model's input size, n × N × N values 0 / 0.4 / 0.9 (the truth the scores
   * use): read only by the GroundTruth reference, which returns it.
   */
  truth?: Float32Array;
}

/**
 * One attribution method. `inputs` is the model's input batch [n, N, N, 3] (NHWC, values in [0, 1]);
 * `target` one class per sample (undefined: the predicted class, as the reference does).
 * The call disposes every tensor it creates.
 */
export interface AttributionMethod {
  /** The Captum class name (or `mab`), as written in the reference's CSVs. */
  readonly name: string;
  /** Whether the method draws random numbers (then `seed` and `sampleKeys` matter). */
  readonly random: boolean;
  /** Whether the method applies to models of this architecture (mab needs SPA's heatmap head; LRP has no rule for SPA). */
  appliesTo(arch: Arch): boolean;
  attribute(model: Model, inputs: tf.Tensor4D, target: readonly number[] | undefined, options?: AttributeOptions): Attribution;
}
