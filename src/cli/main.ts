import { CommanderError } from 'commander';
import { UserError } from '../io/index.js';
import { buildProgram } from './program.js';

/**
 * The `fiveband` command line: a thin layer over the library. Errors from bad input end as one line on stderr
 * and exit code 2.
 */
try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof UserError) {
    process.stderr.write(`fiveband: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    throw err;
  }
}
