// One run at a time per service: an exclusive lock file holding the owner's pid. A lock left by a
// process that no longer exists (a crash, a kill -9) is taken over.
import { openSync, closeSync, writeSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { Exit, UserError } from '../errors.js';

export interface Lock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, `${process.pid} ${hostname()} ${new Date().toISOString()}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    let owner: string;
    try {
      owner = readFileSync(path, 'utf8');
    } catch {
      return false; // released between our open and read: try again
    }
    const [pid, host] = owner.split(' ');
    if (host === hostname() && Number(pid) > 0 && !alive(Number(pid))) {
      rmSync(path, { force: true });
      return tryTake(path);
    }
    return false;
  }
}

/** Takes the lock, waiting up to waitMs for another run to finish. */
export async function acquireLock(path: string, waitMs = 30_000): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true });
  const until = Date.now() + waitMs;
  for (;;) {
    if (tryTake(path)) {
      let held = true;
      const release = () => {
        if (held) rmSync(path, { force: true });
        held = false;
      };
      process.once('exit', release);
      return { release };
    }
    if (Date.now() >= until) {
      let owner = '';
      try {
        owner = readFileSync(path, 'utf8').trim();
      } catch {}
      throw new UserError(`another dane-hook run holds ${path} (${owner || 'unknown owner'}); try again later`, { exitCode: Exit.LOCKED });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
