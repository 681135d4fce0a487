// The dane-hook command line. Only the invoked command's module is loaded: cold start matters
// when a hook runs for every lineage of a renewal (see bench/).
import type { Argv } from 'yargs';
import { CHECK_EXIT_MEANINGS, Exit, EXIT_MEANINGS, UserError } from '../errors.js';
import { COMMANDS } from './command-list.js';
import { fsUserError } from '../io/fs-errors.js';
import { oneLine } from '../io/shown.js';

// Set by scripts/bundle.mjs; the tsc build (tests) falls back to 'dev'.
declare const __DANE_HOOK_VERSION__: string | undefined;
const VERSION = typeof __DANE_HOOK_VERSION__ === 'string' ? __DANE_HOOK_VERSION__ : 'dev';

export async function main(argv: string[]): Promise<number> {
  const words = argv.slice(2);
  const wanted = words.find((w) => !w.startsWith('-'));
  // `tlsa` is the hot path (one call per file in scripts, benchmarks): it parses its own options
  // with node:util, so yargs is not even loaded. --help and the rest fall through to yargs.
  if (wanted === 'tlsa') {
    try {
      const text = (await import('./commands/tlsa.js')).tlsaFast(words);
      if (text !== undefined) {
        process.stdout.write(text);
        return 0;
      }
    } catch (err) {
      return report(err, words.includes('--verbose'));
    }
  }
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
    if (name === wanted) cli = cli.command(await entry.load());
    else cli = cli.command(name, entry.describe, () => {}, () => {});
  }
  skipHelpCache(cli);
  const verbose = words.includes('--verbose');
  try {
    await cli.parseAsync();
    return Number(process.exitCode ?? 0);
  } catch (thrown) {
    const err = fsUserError(thrown) ?? thrown;
    // A monitoring system reads the plugin's stdout: `check` always says something there.
    if (wanted === 'check') {
      process.stdout.write(`DANE UNKNOWN - ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
      // Bad options are UNKNOWN (3) for a monitoring plugin, not the other commands' 2.
      if (err instanceof UserError) return report(new UserError(err.message, { exitCode: 3 }), verbose);
    }
    return report(err, verbose);
  }
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

/** The one place a failure leaves the process: a user error (file-system ones too) exits with its code, anything else 70. */
function report(thrown: unknown, verbose: boolean): number {
  const err = fsUserError(thrown) ?? thrown;
  if (err instanceof UserError) {
    // Newlines are the message's own (one problem per line); other control characters are escaped.
    process.stderr.write(`dane-hook: ${oneLine(err.message)}\n`);
    if (verbose && err.cause) process.stderr.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`dane-hook: internal error: ${e?.message ?? String(err)}\n`);
  if (verbose) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write('dane-hook: this is a bug; rerun with --verbose and report the output\n');
  return Exit.INTERNAL;
}

const code = await main(process.argv);
process.exitCode = code;
