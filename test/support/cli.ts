// Runs the built CLI (dist/dane-hook.mjs) as a real subprocess, as users and hooks run it.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** dist/dane-hook.mjs from build/test/support/cli.js (or test/support/cli.ts). */
export const CLI = fileURLToPath(new URL('../../../dist/dane-hook.mjs', import.meta.url));

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface CliOptions {
  /** Bytes or text for standard input; default: an empty stdin. */
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs `node dist/dane-hook.mjs ARGS...`; never throws for a non-zero exit. */
export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const r = await execa(process.execPath, [CLI, ...args], {
    input: opts.input ?? '',
    env: opts.env,
    cwd: opts.cwd,
    reject: false,
    stripFinalNewline: false,
    timeout: opts.timeoutMs ?? 30_000,
  });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

/** stderr split into lines, without the empty last one. */
export const stderrLines = (r: CliResult): string[] => r.stderr.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
