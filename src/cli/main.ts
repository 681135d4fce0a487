// The dane-hook command line. Only the invoked command's module is loaded: cold start matters
// when a hook runs for every lineage of a renewal (see bench/).
import type { CommandModule } from 'yargs';
import { Exit, UserError } from '../errors.js';
import { COMMANDS } from './command-list.js';
import { fastArgv, type FastCommand } from './fast-argv.js';
import { yargsCli } from './yargs-cli.js';
import { fsUserError } from '../io/fs-errors.js';
import { oneLine } from '../io/shown.js';

export async function main(argv: string[]): Promise<number> {
  const words = argv.slice(2);
  const wanted = words.find((w) => !w.startsWith('-'));
  const verbose = words.includes('--verbose');
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
      return report(err, verbose);
    }
  }
  // The commands hooks and timers run: a plain call never loads yargs either (cli/fast-argv.ts).
  const entry = wanted === undefined ? undefined : COMMANDS[wanted];
  const command = entry?.fast ? ((await entry.load()) as CommandModule & { fast: FastCommand }) : undefined;
  const fast = command && fastArgv(words, wanted!, command.fast);
  if (fast) {
    try {
      await command!.handler(fast as never);
      return Number(process.exitCode ?? 0);
    } catch (err) {
      return report(err, verbose);
    }
  }
  const cli = await yargsCli(words, wanted, (name) => COMMANDS[name]!.load());
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
