import { Command } from 'commander';
import { UserError } from '../io/index.js';
import { register as conditioning } from './conditioning.js';
import { register as doctor } from './doctor.js';
import { register as evalModel } from './eval-model.js';
import { register as explain } from './explain.js';
import { register as generate } from './generate.js';
import { register as models } from './models.js';
import { register as report } from './report.js';
import { register as sanity } from './sanity.js';
import { register as score } from './score.js';
import { register as show } from './show.js';
import { register as start } from './start.js';
import { register as study, registerPack as packWeights } from './study.js';
import { register as queue } from './queue.js';
import { register as train } from './train.js';

/**
 * The `fiveband` program with every command registered (each command lives in its own file); parsing is the
 * caller's. Separate from main.ts so tests can read the commands' flags without running anything.
 */
export function buildProgram(): Command {
  const program = new Command('fiveband')
    .description('Measure how good saliency heatmaps really are (five-band scoring on synthetic cells).')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'fiveband: ')) });
  const commands: Array<(p: Command) => void> = [generate, show, start, study, packWeights, models, train, evalModel, score, explain, sanity, conditioning, report, queue, doctor];
  for (const register of commands) register(program);
  // An empty value is never meant (an unset shell variable): `--out ""` would otherwise mean the current folder.
  program.hook('preAction', (_program, command) => {
    for (const [key, value] of Object.entries(command.opts())) {
      const values: unknown[] = Array.isArray(value) ? value : [value];
      if (values.some((v) => typeof v === 'string' && v.trim() === '')) {
        const flag = command.options.find((o) => o.attributeName() === key)?.long ?? key;
        throw new UserError(`${flag} needs a value, got an empty string`);
      }
    }
    if (command.args.some((a) => a.trim() === '')) throw new UserError(`${command.name()}: an argument is an empty string`);
  });
  return program;
}
