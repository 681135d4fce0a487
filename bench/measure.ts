// What the benchmarks share: wall time (and peak RSS) of one child process, medians.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Timed {
  ms: number;
  out: string;
  err: string;
  /** Peak resident set of the child in MB (GNU time), when asked for. */
  rssMb?: number;
}

/**
 * The environment every timed command runs in: this one without NODE_EXTRA_CA_CERTS. Set (as on
 * this development machine, not by Debian), it makes every Node process read and parse that CA
 * bundle as it starts, about 60 ms here, before any of dane-hook's code runs; no baseline pays
 * it. The header of each benchmark says when it was set.
 */
const CHILD_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));

/** A line for a benchmark's header, or '' when the machine sets nothing timed runs leave out. */
export const envNote = (): string => (process.env.NODE_EXTRA_CA_CERTS ? '; NODE_EXTRA_CA_CERTS is set here and left out of every timed run (Node reads that bundle at each start)' : '');

/**
 * Wall time of one child process run in ms; throws with its stderr when it fails. Asynchronous:
 * a named started by this process logs through a pipe that must keep being read meanwhile.
 */
export async function timed(cmd: string, args: string[], options: { input?: string; rss?: boolean; okCodes?: number[] } = {}): Promise<Timed> {
  const rssDir = options.rss ? await mkdtemp(join(tmpdir(), 'bench-rss-')) : undefined;
  const argv = rssDir ? ['-o', join(rssDir, 'rss'), '-f', '%M', cmd, ...args] : args;
  const t0 = process.hrtime.bigint();
  const child = spawn(rssDir ? '/usr/bin/time' : cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: CHILD_ENV });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.end(options.input ?? '');
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let rssMb: number | undefined;
  if (rssDir) {
    rssMb = Number((await readFile(join(rssDir, 'rss'), 'utf8')).trim().split('\n').pop()) / 1024;
    await rm(rssDir, { recursive: true, force: true });
  }
  const stderr = Buffer.concat(err).toString();
  if (!(options.okCodes ?? [0]).includes(status ?? -1)) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')}... failed (${status}): ${stderr.slice(-2000)}`);
  return { ms, out: Buffer.concat(out).toString(), err: stderr, rssMb };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
