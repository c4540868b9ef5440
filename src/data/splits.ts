// The dataset's splits, free of imports so the command line can name them before any data code loads.
export const SPLITS = ['train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number];
