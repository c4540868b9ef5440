import { spawnSync } from 'node:child_process';

const imports = (python: string, modules: string) => spawnSync(python, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0;

/**
 * The Python that has PyTorch and numpy: $FIVEBAND_PYTHON, else the first python3 on PATH that imports them, else
 * the system's (Debian's python3-torch lives there while a pyenv or venv python3 may come first on PATH).
 */
export const torchPython: string | null = [process.env.FIVEBAND_PYTHON, 'python3', '/usr/bin/python3']
  .find((p): p is string => p !== undefined && p !== '' && imports(p, 'torch, numpy')) ?? null;

/** Whether a python with torch and numpy is there (the PyTorch comparison tests need both). */
export const torchAvailable = torchPython !== null;

/** The reason a test that needs PyTorch is skipped without it; node:test lists it by name with this reason. */
export const NO_TORCH = 'python3 torch not installed';

/** node:test options for a test that needs PyTorch: registered always, skipped (by name, with the reason) without it. */
export const needsTorch: { skip?: string } = torchAvailable ? {} : { skip: NO_TORCH };
