import { spawnSync } from 'node:child_process';

/** Whether `python` has the modules, found without importing them (importing torch takes seconds, and every test file checks). */
const has = (python: string, modules: string[]) => spawnSync(python, ['-c',
  `import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ${JSON.stringify(modules)}) else 1)`], { stdio: 'ignore' }).status === 0;

/**
 * The Python that has PyTorch and numpy: $FIVEBAND_PYTHON, else the system's (Debian's python3-torch, the reference
 * the twins are written for), else the python3 on PATH (a pyenv shim there costs a second per test file to ask).
 */
export const torchPython: string | null = [process.env.FIVEBAND_PYTHON, '/usr/bin/python3', 'python3']
  .find((p): p is string => p !== undefined && p !== '' && has(p, ['torch', 'numpy'])) ?? null;

/** Whether a python with torch and numpy is there (the PyTorch comparison tests need both). */
export const torchAvailable = torchPython !== null;

/** The reason a test that needs PyTorch is skipped without it; node:test lists it by name with this reason. */
export const NO_TORCH = 'python3 torch not installed';

/** node:test options for a test that needs PyTorch: registered always, skipped (by name, with the reason) without it. */
export const needsTorch: { skip?: string } = torchAvailable ? {} : { skip: NO_TORCH };
