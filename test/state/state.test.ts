// The state dir's guarantees: atomic writes with the right modes, one run at a time, stale locks
// from dead processes taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeFileAtomic } from '../../src/state/atomic.js';
import { acquireLock } from '../../src/state/lock.js';
import { Exit, UserError } from '../../src/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'dane-state-'));

test('writeFileAtomic replaces content, sets the mode at creation, leaves no temp file', () => {
  const dir = tmp();
  try {
    const p = join(dir, 'sub', 'privkey.pem');
    writeFileAtomic(p, 'one', 0o600);
    writeFileAtomic(p, 'two', 0o600);
    assert.equal(readFileSync(p, 'utf8'), 'two');
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['privkey.pem']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a held lock keeps a second run out with exit code LOCKED, and is free after release', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'lock');
    const first = await acquireLock(path);
    await assert.rejects(acquireLock(path, 200), (e: unknown) => e instanceof UserError && e.exitCode === Exit.LOCKED && /holds/.test(e.message));
    first.release();
    const again = await acquireLock(path, 200);
    again.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock left by a process that no longer exists is taken over', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'lock');
    // A real pid that has exited: a child that ran and ended.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(path, `${dead} ${hostname()} 2026-01-01T00:00:00Z\n`);
    const lock = await acquireLock(path, 200);
    assert.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} `));
    lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
