// Stopping a server a test started: SIGTERM, then SIGKILL if it has not gone after a grace time.
import type { ResultPromise } from 'execa';

export async function stopProcess(proc: ResultPromise | undefined, graceMs = 3000): Promise<void> {
  if (!proc || proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await Promise.resolve(proc).catch(() => undefined);
  clearTimeout(timer);
}
