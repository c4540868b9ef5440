import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { UserError } from '../io/index.js';
import { BACKEND_CHOICES, BACKEND_NAMES, type BackendChoice, type BackendName } from '../nn/names.js';
import { NATIVE, loadNativeAddon, registerNativeBackend } from './native.js';
import { compareWithCpu } from './self-test.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { adamUpdateKernelConfigs } from './adam-update.js';
import { BATCH_NORM_GRADIENTS, batchNormKernelConfigs } from './batch-norm.js';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './conv-backprop.js';
import { GRADIENT_FIXES } from './gradient-fixes.js';
import { identityConfig } from './identity.js';
import { avgPoolGradConfig, maxPoolGradConfig } from './pool-grad.js';
import { meanConfig, sumConfig } from './reduce-leading.js';
import { reluGradConfig, reluGradKernelConfigs } from './relu-grad.js';
import { deepLiftRescaleKernelConfigs } from './deeplift-rescale.js';
import { deepLiftMaxPoolKernelConfigs } from './deeplift-max-pool.js';
import { stabilisedDivideKernelConfigs } from './stabilised-divide.js';
import { convBiasGradConfig, convBiasKernelConfigs } from './conv-bias.js';
import { resizeGradConfigs } from './resize-grad.js';
import { sliceConfig } from './slice.js';
import {
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
} from './segment-depthwise.js';

// tfjs's console banners off everywhere (the cpu backend's "install tfjs-node" banner, once per thread the native
// backend starts on): stderr carries fiveband's progress and one-line errors only.
tf.env().set('PROD', true);

/** fiveband's wasm kernels: missing in tfjs-backend-wasm 4.22, wrong there, or much slower than a forward conv. */
const WASM_PATCHES: readonly tf.KernelConfig[] = [
  identityConfig,
  batchMatMulConfig,
  sliceConfig,
  sumConfig,
  meanConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  avgPoolGradConfig('wasm'),
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  unsortedSegmentSumConfig,
  ...resizeGradConfigs('wasm'),
];

/** The kernels fiveband replaces or adds on the wasm backend. */
export const PATCHED_WASM_KERNELS: readonly string[] = WASM_PATCHES.map((k) => k.kernelName);

/** Stock wasm kernels that a patch replaced, kept so they can be restored (benchmarks, regression tests). */
const stockWasmKernels = new Map<string, tf.KernelConfig>();
let patched = false;
let patchesInstalled = false;
let gradientsRegistered: Promise<void> | undefined;

/**
 * tfjs-core's Node bundle registers no gradients and no chained tensor methods (the @tensorflow/tfjs umbrella
 * package normally does), so tfjs-core's own definitions are loaded from its ESM build; then fiveband's
 * gradient fixes replace or add to them (with the fused BatchNorm and ReLU gradients), the cpu backend gets correct
 * average-pool and resize gradients (see pool-grad.ts, resize-grad.ts), and both backends get fiveband's own
 * fused BatchNorm, ReLU-gradient and Adam kernels.
 * Once per thread.
 */
function registerGradients(): Promise<void> {
  gradientsRegistered ??= (async () => {
    // tfjs-core's gradients and chained methods (t.reshape(...), which some of them call), bundled at build time
    // (tfjs-core-gradients.entry.mjs).
    await import(new URL('./tfjs-core-gradients.js', import.meta.url).href);
    for (const config of [...GRADIENT_FIXES, ...BATCH_NORM_GRADIENTS, reluGradConfig, convBiasGradConfig]) tf.registerGradient(config);
    // The convolution with its bias: on cpu (the native backend's fallback) only; the op keeps two ops elsewhere.
    for (const config of convBiasKernelConfigs('cpu')) tf.registerKernel(config);
    for (const config of [avgPoolGradConfig('cpu'), ...resizeGradConfigs('cpu')]) {
      tf.unregisterKernel(config.kernelName, 'cpu');
      tf.registerKernel(config);
    }
    // fiveband's own kernels (not patches: no stock version), on both backends.
    for (const backend of ['wasm', 'cpu']) {
      for (const configs of [batchNormKernelConfigs, reluGradKernelConfigs, adamUpdateKernelConfigs, deepLiftRescaleKernelConfigs, deepLiftMaxPoolKernelConfigs, stabilisedDivideKernelConfigs]) {
        for (const config of configs(backend)) tf.registerKernel(config);
      }
    }
  })();
  return gradientsRegistered;
}

/**
 * Switches the wasm backend between fiveband's patched kernels (`true`, what initBackend installs) and the
 * stock tfjs-backend-wasm 4.22 set (`false`: benchmarks and regression tests only; kernels that stock lacks
 * become missing again).
 */
export function setWasmKernelPatches(enabled: boolean): void {
  if (enabled === patched) return;
  for (const patch of WASM_PATCHES) {
    if (enabled) {
      const stock = tf.getKernel(patch.kernelName, 'wasm');
      if (stock !== undefined) {
        stockWasmKernels.set(patch.kernelName, stock);
        tf.unregisterKernel(patch.kernelName, 'wasm');
      }
      tf.registerKernel(patch);
    } else {
      tf.unregisterKernel(patch.kernelName, 'wasm');
      const stock = stockWasmKernels.get(patch.kernelName);
      if (stock !== undefined) {
        tf.registerKernel(stock);
        // Its setup (binding the wasm function) ran only if it was registered when the backend started.
        const backend = tf.findBackend('wasm');
        if (backend !== null) stock.setupFunc?.(backend);
      }
    }
  }
  patched = enabled;
}

let switching: Promise<unknown> = Promise.resolve();
let nativeSelfTest: Promise<string | null> | undefined;

export interface BackendOptions {
  /**
   * Threads of the native backend's kernels on this thread (default: every core on the main thread, 1 on a
   * worker thread, whose pool already shares the cores out). wasm and cpu compute on one thread.
   */
  threads?: number;
}

/**
 * Makes `name` the active tfjs backend, with tfjs-core's gradients and fiveband's kernel and gradient patches
 * installed first (idempotent; calls are serialised, so concurrent callers see a consistent backend). Returns the active name.
 * The native backend also runs its self-test against the cpu backend, once per process (on the main thread); a
 * failure rejects.
 * Models and training never name a backend: the CLI calls this (through chooseBackend) once, tests switch.
 */
export function initBackend(name: BackendName, options: BackendOptions = {}): Promise<BackendName> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    return Promise.reject(new UserError(`unknown backend "${String(name)}" (expected one of: ${BACKEND_NAMES.join(', ')})`));
  }
  if (name === 'wasm' && !patchesInstalled) {
    setWasmKernelPatches(true);
    patchesInstalled = true;
  }
  const result = switching.then(async () => {
    await registerGradients();
    if (name === NATIVE) {
      const addon = loadNativeAddon();
      if ('error' in addon) throw new UserError(`native backend: ${addon.error}`);
      registerNativeBackend();
      addon.addon.setThreads(options.threads ?? (isMainThread ? availableParallelism() : 1));
      // Once per process: worker threads are started with the backend their main thread chose and tested.
      if (isMainThread) {
        nativeSelfTest ??= compareWithCpu(activate, NATIVE);
        const failure = await nativeSelfTest;
        if (failure !== null) throw new Error(`native backend self-test failed: ${failure}`);
      }
    }
    await activate(name);
    return tf.getBackend() as BackendName;
  });
  switching = result.catch(() => undefined);
  return result;
}

async function activate(name: string): Promise<void> {
  if (tf.engine().backendName !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend "${name}" failed to initialise`);
  }
  await tf.ready();
}

/**
 * The backend a command computes on: `auto` is native when its addon is built and passes its self-test, else
 * wasm; an explicit `native` whose addon is missing is a user error. A native backend failing its self-test
 * falls back to wasm with a one-line warning (never a crash).
 */
export async function chooseBackend(choice: BackendChoice, options: BackendOptions = {}, warn: (line: string) => void = (line) => { process.stderr.write(`${line}\n`); }): Promise<BackendName> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new UserError(`unknown backend "${String(choice)}" (expected one of: ${BACKEND_CHOICES.join(', ')})`);
  }
  if (choice === 'wasm' || choice === 'cpu') return initBackend(choice, options);
  if (choice === 'auto' && 'error' in loadNativeAddon()) return initBackend('wasm', options);
  try {
    return await initBackend(NATIVE, options);
  } catch (e) {
    if (e instanceof UserError) throw e;
    warn(`fiveband: warning: ${(e as Error).message}; using the wasm backend`);
    return initBackend('wasm', options);
  }
}

export interface BackendInfo {
  name: BackendName;
  /** wasm: whether the SIMD binary (tfjs-backend-wasm-simd.wasm) runs; false elsewhere. */
  simd: boolean;
  /**
   * Threads inside one backend instance: tfjs-backend-wasm disables its threaded binary in Node, so 1; cpu 1;
   * native: its OpenMP threads on this thread.
   */
  threads: number;
  /** native: the oneDNN version and the instruction set its kernels dispatch to. */
  library?: string;
  isa?: string;
}

/** Describes the active backend (after initBackend). */
export async function backendInfo(): Promise<BackendInfo> {
  const name = tf.getBackend() as BackendName;
  if (name === NATIVE) {
    const addon = loadNativeAddon();
    if ('error' in addon) throw new Error(addon.error);
    const { library, isa, threads } = addon.addon.describe();
    return { name, simd: false, threads, library, isa };
  }
  if (name !== 'wasm') return { name, simd: false, threads: 1 };
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  return { name, simd, threads: getThreadsCount() };
}
