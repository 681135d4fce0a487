// Whether the process named in a lock file can still be the run that wrote it. A pid alone is not
// enough: after a reboot, or once pids wrap, the same number belongs to another process. Linux
// tells the two apart: the boot id changes at every boot, and /proc/PID/stat gives a process's
// start time (clock ticks since boot, USER_HZ = 100 on every architecture Linux runs on).
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';

// Read once per process (a batch takes a lock per service): the boot cannot change under a running process.
let boot: { id: string | undefined } | undefined;

/** Written into each lock line so a later run can tell a lock from an earlier boot. */
export function bootId(): string | undefined {
  if (boot) return boot.id;
  try {
    boot = { id: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined };
  } catch {
    boot = { id: undefined }; // not Linux: the pid test alone decides
  }
  return boot.id;
}

/** Seconds since the epoch at boot (/proc/stat btime), or undefined off Linux. */
function bootTime(): number | undefined {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** When the process with this pid started (ms since the epoch), or undefined when unknown. */
export function processStart(pid: number): number | undefined {
  const boot = bootTime();
  if (boot === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22, starttime
    return Number.isFinite(ticks) ? boot * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LockLine {
  pid: number;
  host: string;
  /** ms since the epoch */
  at: number;
  boot?: string;
}

/** `PID HOST ISO-TIME [NONCE [BOOT-ID]]`, or undefined when the line is not one. */
export function parseLockLine(text: string): LockLine | undefined {
  const m = /^(\d+) (\S+) (\S+)(?: [0-9a-f]{1,16})?(?: ([0-9a-f-]{36}))?\n?$/.exec(text);
  if (!m) return undefined;
  const at = Date.parse(m[3]!);
  const pid = Number(m[1]);
  if (!(pid > 0) || !Number.isFinite(at)) return undefined;
  return { pid, host: m[2]!, at, boot: m[4] };
}

// btime is whole seconds and the start time 10 ms ticks: a real owner started before it wrote
// its lock, so only a start clearly later than the lock's time means another process.
const CLOCK_SLACK_MS = 2000;
/** An empty or torn lock (killed, or ENOSPC, between create and write) is stale after this. */
export const TORN_LOCK_MS = 5000;

/**
 * Why the lock's owner is gone, or undefined while it may still run. A lock from another host
 * (a shared state dir) is never judged: its pids mean nothing here.
 */
export function staleReason(text: string, path: string, now = Date.now()): string | undefined {
  const line = parseLockLine(text);
  if (!line) {
    let age = 0;
    try {
      age = now - statSync(path).mtimeMs;
    } catch {
      return undefined; // gone: the caller tries again
    }
    return age > TORN_LOCK_MS ? 'an empty or unreadable lock' : undefined;
  }
  if (line.host !== hostname()) return undefined;
  if (!alive(line.pid)) return `pid ${line.pid} is gone`;
  const boot = bootId();
  if (line.boot !== undefined && boot !== undefined && line.boot !== boot) return 'written before this boot';
  const booted = bootTime();
  if (line.boot === undefined && booted !== undefined && line.at < booted * 1000 - CLOCK_SLACK_MS) return 'written before this boot';
  const started = processStart(line.pid);
  if (started !== undefined && started > line.at + CLOCK_SLACK_MS) return `pid ${line.pid} is another process started after the lock`;
  return undefined;
}
