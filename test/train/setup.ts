import { register } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/**
 * The cpu backend with tfjs's gradient functions (the Node bundle of tfjs-core registers none; they are
 * loaded from its ESM sources and land in the same global registry).
 */
register('./tfjs-resolve-hook.js', import.meta.url);
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
await tf.setBackend('cpu');
export { tf };
