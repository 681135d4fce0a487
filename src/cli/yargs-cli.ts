// The yargs command line: --help, --version, and every call cli/fast-argv.ts does not take (bad
// flags get yargs' messages). Only the invoked command's module is loaded; the others are names.
import type { Argv, CommandModule } from 'yargs';
import { CHECK_EXIT_MEANINGS, EXIT_MEANINGS, UserError } from '../errors.js';
import { COMMANDS } from './command-list.js';

// Set by scripts/bundle.mjs; the tsc build (tests) falls back to 'dev'.
declare const __DANE_HOOK_VERSION__: string | undefined;
const VERSION = typeof __DANE_HOOK_VERSION__ === 'string' ? __DANE_HOOK_VERSION__ : 'dev';

/** The parser for `words`, with `wanted`'s module from `load` (tests pass a handler that records argv). */
export async function yargsCli(words: string[], wanted: string | undefined, load: (name: string) => Promise<CommandModule<any, any>>): Promise<Argv> {
  const { default: yargs } = await import('yargs');
  let cli: Argv = yargs(words)
    .scriptName('dane-hook')
    .usage('$0 <command> [options]\n\nKeeps DANE TLSA records right while certificates renew.')
    .strict()
    // dehydrated's hook words stay strings (a timestamp, a domain like 0123.example).
    .parserConfiguration({ 'parse-positional-numbers': false })
    .demandCommand(1, 'Name a command (see --help).')
    .option('verbose', { type: 'boolean', describe: 'Show stack traces and debug output', global: true })
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .epilogue(`Exit codes: ${codes(EXIT_MEANINGS)}; check: ${codes(CHECK_EXIT_MEANINGS)}. See README.md and man dane-hook.`)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? new UserError(msg);
    });
  for (const [name, entry] of Object.entries(COMMANDS)) {
    if (name === wanted) cli = cli.command(await load(name));
    else cli = cli.command(name, entry.describe, () => {}, () => {});
  }
  skipHelpCache(cli);
  return cli;
}

/**
 * yargs renders the whole help text as soon as a command's handler starts, to have it at hand
 * should the handler fail (its own failure output); ours fails through .fail() and never shows
 * it, and rendering it (the widths of 30 options) costs 60 ms or more of every run.
 * --help still renders it. Internal API: if yargs changes it, this does nothing.
 */
function skipHelpCache(cli: Argv): void {
  type Internals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = (cli as unknown as Internals).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

const codes = (list: readonly (readonly [number, string])[]) => list.map(([n, text]) => `${n} ${text}`).join(', ');
