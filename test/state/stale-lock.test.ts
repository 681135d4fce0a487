// Locks whose owner is gone in ways a pid test alone misses: an empty or torn file (killed or
// ENOSPC between create and write), a lock from before this boot, a pid now used by another
// process (started after the lock was written). Real processes stand in for the owners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { acquireLock } from '../../src/state/lock.js';
import { bootId, parseLockLine, processStart } from '../../src/state/owner.js';
import { Exit, UserError } from '../../src/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'dane-stale-'));
const locked = (e: unknown) => e instanceof UserError && e.exitCode === Exit.LOCKED;

async function withSleeper(fn: (pid: number) => Promise<void>): Promise<void> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  try {
    await fn(child.pid!);
  } finally {
    child.kill('SIGKILL');
  }
}

const age = (path: string, ms: number) => utimesSync(path, new Date(Date.now() - ms), new Date(Date.now() - ms));

test('an empty lock older than a few seconds is stale and taken over; a fresh one is not', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'lock');
    writeFileSync(path, '');
    await assert.rejects(acquireLock(path, 300), locked, 'a lock being written right now is respected');
    age(path, 10_000);
    const lock = await acquireLock(path, 300);
    assert.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} `));
    lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unparsable (torn) lock older than a few seconds is stale', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'lock');
    writeFileSync(path, '12');
    age(path, 10_000);
    (await acquireLock(path, 300)).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock written at another boot is stale even though its pid is alive now', { skip: bootId() === undefined && !process.env.CI ? 'no /proc boot id' : false }, async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'lock');
    await withSleeper(async (pid) => {
      writeFileSync(path, `${pid} ${hostname()} ${new Date().toISOString()} abcd1234 00000000-0000-4000-8000-000000000000\n`);
      (await acquireLock(path, 300)).release();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a live pid that started after the lock was written is another process: stale', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'lock');
    await withSleeper(async (pid) => {
      assert.ok(processStart(pid)! > Date.now() - 60_000, 'start time read from /proc');
      writeFileSync(path, `${pid} ${hostname()} ${new Date(Date.now() - 3600_000).toISOString()} abcd1234 ${bootId()}\n`);
      (await acquireLock(path, 300)).release();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('control: a live owner that started before its lock holds it (exit LOCKED)', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'lock');
    await withSleeper(async (pid) => {
      await new Promise((r) => setTimeout(r, 50));
      writeFileSync(path, `${pid} ${hostname()} ${new Date().toISOString()} abcd1234 ${bootId()}\n`);
      await assert.rejects(acquireLock(path, 300), locked);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseLockLine reads the lines dane-hook writes, old and new', () => {
  assert.deepEqual(parseLockLine('12 h 2026-01-01T00:00:00Z\n'), { pid: 12, host: 'h', at: Date.parse('2026-01-01T00:00:00Z'), boot: undefined });
  assert.equal(parseLockLine('12 h 2026-01-01T00:00:00Z ab 8b1125f5-ba3b-42a9-a03a-68a6c3ceeb67\n')?.boot, '8b1125f5-ba3b-42a9-a03a-68a6c3ceeb67');
  assert.equal(parseLockLine(''), undefined);
  assert.equal(parseLockLine('0 h 2026-01-01T00:00:00Z\n'), undefined);
  assert.equal(parseLockLine('x'), undefined);
});
