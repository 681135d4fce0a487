// A child process fed a script on stdin, its output collected: all nsupdate needs of a process
// runner. node:child_process directly, not execa: a run over many services sends a message per
// zone and phase, and execa cost a 300 KB chunk to load and tens of ms per call on top.
import { spawn } from 'node:child_process';

export interface ProcessResult {
  stdout: string;
  stderr: string;
  /** Undefined when the process did not exit by itself (killed, or never started). */
  exitCode?: number;
  /** Killed after `timeoutMs`. */
  timedOut: boolean;
  /** Why it could not start (ENOENT: no such program). */
  code?: string;
  originalMessage?: string;
}

/** Runs `command args` with `input` on stdin; never rejects: the result says how it ended. */
export function runProcess(command: string, args: string[], input: string, timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let failure: NodeJS.ErrnoException | undefined;
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A process that exits before reading all its input closes the pipe: its exit says what happened.
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => (failure ??= e));
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      resolve({ stdout: text(out), stderr: text(err), exitCode: failure ? undefined : (exitCode ?? undefined), timedOut, code: failure?.code, originalMessage: failure?.message });
    });
    child.stdin.end(input);
  });
}
