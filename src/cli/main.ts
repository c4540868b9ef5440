import { Command, CommanderError } from 'commander';
import { UserError } from '../io/index.js';
import { register as evalModel } from './eval-model.js';
import { register as explain } from './explain.js';
import { register as generate } from './generate.js';
import { register as models } from './models.js';
import { register as report } from './report.js';
import { register as score } from './score.js';
import { register as show } from './show.js';
import { register as start } from './start.js';
import { register as study, registerPack as packWeights } from './study.js';
import { register as train } from './train.js';

/**
 * The `fiveband` command line: a thin layer over the library. Each command lives in its own file and
 * registers itself on the program; errors from bad input end as one line on stderr and exit code 2.
 */
const program = new Command('fiveband')
  .description('Measure how good saliency heatmaps really are (five-band scoring on synthetic cells).')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'fiveband: ')) });

const commands: Array<(p: Command) => void> = [generate, show, start, study, packWeights, models, train, evalModel, score, explain, report];
for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
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
