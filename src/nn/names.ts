// The names a command line offers before any model code loads (kept free of tfjs so `fiveband --help` is quick).

export type Arch = 'alexnet' | 'vgg16' | 'resnet34' | 'spa' | 'alexnet-depth';
export const ARCHS: readonly Arch[] = ['alexnet', 'vgg16', 'resnet34', 'spa', 'alexnet-depth'];

/** The compute backends: native (oneDNN addon, optional), wasm (always there), cpu (tfjs's plain JS, the oracle). */
export const BACKEND_NAMES = ['native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
/** What a command line accepts: a backend, or auto (native when its addon loads and passes its self-test, else wasm). */
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
