export { BACKEND_NAMES, type BackendName } from '../names.js';
export { PATCHED_WASM_KERNELS, backendInfo, initBackend, setWasmKernelPatches } from './init.js';
export type { BackendInfo } from './init.js';
export { BATCH_NORM_GRAD, BATCH_NORM_TRAINING, batchNormTrainingOp } from './batch-norm.js';
export { ADAM_UPDATE, adamUpdateOp } from './adam-update.js';
export type { AdamCoefficients } from './adam-update.js';
export { RELU_GRAD } from './relu-grad.js';
