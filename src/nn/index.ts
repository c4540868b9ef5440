// Models, layers and weights I/O. Tensors are NHWC inside; files use PyTorch's names and layouts.
export type {
  Arch, ArchSpec, BlockInit, ForwardOptions, ForwardResult, Model, NonlinearityKind, NonlinearityRule, LinearForward, LinearKind, Tap,
} from './model.js';
export { ARCHS } from './names.js';
export { describeArch, validateSpec, type ArchDescription, type LayerInfo, type ParamInfo } from './arch.js';
export { cloneModel, createModel } from './create.js';
export { plainRule, BN_EPS, BN_MOMENTUM, LEAKY_SLOPE } from './layers.js';
export { DEFAULT_ALEXNET_DEPTH } from './models/alexnet.js';
export {
  saveModel, loadModel, readModelInfo, toStateDict, fromStateDict, ARCH_FILE, WEIGHTS_FILE, type ModelInfo,
} from './weights.js';
