import { spawnSync } from 'node:child_process';

/** Whether python3 can import torch and numpy (the PyTorch comparison tests need both). */
export const torchAvailable = spawnSync('python3', ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;

/** The reason a test that needs PyTorch is skipped without it; node:test lists it by name with this reason. */
export const NO_TORCH = 'python3 torch not installed';

/** node:test options for a test that needs PyTorch: registered always, skipped (by name, with the reason) without it. */
export const needsTorch: { skip?: string } = torchAvailable ? {} : { skip: NO_TORCH };
