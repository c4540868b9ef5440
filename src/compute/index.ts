export { BACKEND_CHOICES, BACKEND_NAMES, type BackendChoice, type BackendName } from '../nn/names.js';
export { PATCHED_WASM_KERNELS, backendInfo, chooseBackend, defaultBackendChoice, initBackend, setWasmKernelPatches } from './init.js';
export type { BackendInfo, BackendOptions } from './init.js';
export { loadNativeAddon } from './native.js';
export { BATCH_NORM_GRAD, BATCH_NORM_TRAINING, batchNormTrainingOp } from './batch-norm.js';
export { ADAM_UPDATE, adamUpdateOp } from './adam-update.js';
export type { AdamCoefficients } from './adam-update.js';
export { RELU_GRAD } from './relu-grad.js';
