// Bundled by `npm run build` (esbuild) into dist/src/compute/tfjs-core-gradients.js: tfjs-core's gradient
// definitions and chained tensor methods, which its Node bundle lacks, as one module. Its copy of tfjs-core's
// internals shares the engine and the kernel/gradient registries with the bundle through tfjs's global namespace.
// One file loads in ~15 ms; tfjs-core's ESM dist (hundreds of extensionless imports behind module hooks) took ~650 ms
// in every process and worker thread.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
