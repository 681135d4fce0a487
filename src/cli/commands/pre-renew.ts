// dane-hook pre-renew: before a renewal, publish the next key's record beside the current ones.
// As acme.sh's --pre-hook its exit status is a gate: non-zero (5) while that record is not ready.
import type { CommandModule } from 'yargs';
import { fromEnvironment } from '../../acme/index.js';
import { findServices } from '../../config/index.js';
import { addServiceOptions, hookArgs, settingsFromArgs, type ServiceArgs } from '../service-options.js';
import { runAll, warnNoService } from './run-common.js';
import type { FastCommand } from '../fast-argv.js';

type Args = ServiceArgs & { 'generate-next-key'?: boolean };

const OPTIONS = {
  'generate-next-key': { type: 'boolean', describe: 'Make a next key like the current one (same algorithm and size, 0600) at --next-key FILE or in the state dir' },
} as const;

const command: CommandModule<object, Args> & { fast: FastCommand } = {
  command: 'pre-renew',
  describe: "Before a renewal: publish the next key's record; exit 5 while it is not ready (a gate for acme.sh --pre-hook)",
  builder: (y) => addServiceOptions(y).options(OPTIONS),
  fast: { options: OPTIONS },
  handler: async (argv) => {
    const global = settingsFromArgs(argv);
    // acme.sh's pre-hook names the domain (Le_Domain) and where its next key is kept: only the
    // services that certificate is for run, and only they may get its next key.
    const env = fromEnvironment(process.env, hookArgs(argv));
    const services = env ? findServices(global, env) : global.services;
    if (env && services.length === 0) {
      warnNoService(global, env);
      return;
    }
    const { code } = await runAll(
      global,
      services,
      (s) => ({ kind: 'pre-renew', nextKeyFile: argv['next-key'] ?? s.nextKeyFile ?? env?.nextKey, generate: argv['generate-next-key'] }),
      argv,
    );
    process.exitCode = code;
  },
};
export default command;
