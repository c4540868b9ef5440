// The names a command line offers before any model code loads (kept free of tfjs so `fiveband --help` is quick).

export type Arch = 'alexnet' | 'vgg16' | 'resnet34' | 'spa' | 'alexnet-depth';
export const ARCHS: readonly Arch[] = ['alexnet', 'vgg16', 'resnet34', 'spa', 'alexnet-depth'];

export const BACKEND_NAMES = ['wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
