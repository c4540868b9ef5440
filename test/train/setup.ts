import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/compute/index.js';

/** Training tests run on the cpu backend (the oracle), with tfjs's gradients registered by initBackend. */
await initBackend('cpu');
export { tf };
