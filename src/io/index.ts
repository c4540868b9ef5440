// File formats and safe writes shared by every stage.
export { UserError, ensure, cannotRead } from './errors.js';
export { writeFileAtomic, openAtomicFile, makeFolder, removeStaleTemps, type AtomicFile, readUserFile, tempPathFor, sha256, sha256File } from './atomic.js';
export {
  encodeSafetensors, decodeSafetensors, readSafetensors, writeSafetensors, dtypeOf, bytesPerElement, typedView,
  type DType, type Tensor, type TypedArray, type SafetensorsFile,
} from './safetensors.js';
export type { ProgressCallback } from './progress.js';
export { decodeNpy, encodeNpy, readNpy, writeNpy } from './npy.js';
export { openTensorFile, type TensorFileReader, type TensorPicker } from './tensor-file.js';
export { lockFolder, LOCK_FILE } from './lock.js';
export { processRuns } from './process.js';
export { canonicalJson } from './json.js';
