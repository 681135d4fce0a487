// The lock under load: many acquisitions in one process leave no exit listeners behind, and runs
// racing to take over one stale lock (a dead owner) never hold it at the same time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { acquireLock } from '../../src/state/lock.js';
import { Exit, UserError } from '../../src/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'dane-lock-'));
const LOCK_MODULE = new URL('../../src/state/lock.js', import.meta.url).href;

test('acquire/release many times: no exit listener piles up, no MaxListenersExceededWarning', async () => {
  const dir = tmp();
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const before = process.listenerCount('exit');
    for (let i = 0; i < 15; i++) (await acquireLock(join(dir, 'lock'))).release();
    assert.equal(process.listenerCount('exit'), before);
    // A run over many services holds many locks at once: still one listener.
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => acquireLock(join(dir, `lock${i}`))));
    assert.equal(process.listenerCount('exit'), before + 1);
    for (const l of many) l.release();
    assert.equal(process.listenerCount('exit'), before);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), []);
  } finally {
    process.off('warning', onWarning);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two takers of one lock in one process at once: one holds it, the other is refused or waits its turn', async () => {
  const dir = tmp();
  try {
    for (const path of [join(dir, 'lock'), join(dir, 'new', 'lock')]) {
      // The second path's folder is missing: both takers make it, still one wins.
      let held = 0;
      let most = 0;
      const take = async () => {
        const lock = await acquireLock(path, 5000);
        most = Math.max(most, ++held);
        await new Promise((r) => setTimeout(r, 150));
        held--;
        lock.release();
      };
      const first = acquireLock(path, 5000);
      const second = acquireLock(path, 300);
      const [a, b] = await Promise.allSettled([first, second]);
      assert.equal([a, b].filter((r) => r.status === 'fulfilled').length, 1, 'exactly one taker holds it');
      const refused = (a.status === 'rejected' ? a : b) as PromiseRejectedResult;
      assert.ok(refused.reason instanceof UserError && refused.reason.exitCode === Exit.LOCKED, String(refused.reason));
      assert.match(refused.reason.message, new RegExp(`holds ${path} \\(${process.pid} `), 'the refusal names the owner line');
      ((a.status === 'fulfilled' ? a : b) as PromiseFulfilledResult<{ release(): void }>).value.release();
      assert.ok(!existsSync(path));
      // Five at once with room to wait: each takes it in turn, never two together.
      await Promise.all(Array.from({ length: 5 }, take));
      assert.equal(most, 1, 'never two holders');
      assert.ok(!existsSync(path));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Each racer waits for the same start time, takes the lock, logs enter/leave around 200 ms.
const RACER = `
import { appendFileSync } from 'node:fs';
const { acquireLock } = await import(process.argv[2]);
const [path, log, startAt] = process.argv.slice(3);
while (Date.now() < Number(startAt)) {}
const lock = await acquireLock(path, 30000);
appendFileSync(log, 'enter ' + process.pid + '\\n');
await new Promise((r) => setTimeout(r, 200));
appendFileSync(log, 'leave ' + process.pid + '\\n');
lock.release();
`;

function run(script: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? -1));
  });
}

test('processes racing to take over one stale lock never hold it together', async () => {
  const dir = tmp();
  try {
    const script = join(dir, 'racer.mjs');
    writeFileSync(script, RACER);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    for (let round = 0; round < 5; round++) {
      const path = join(dir, `lock-${round}`);
      const log = join(dir, `log-${round}`);
      writeFileSync(path, `${dead} ${hostname()} 2026-01-01T00:00:00Z\n`);
      writeFileSync(log, '');
      const startAt = Date.now() + 1500; // every racer started and loaded by then
      const codes = await Promise.all(Array.from({ length: 12 }, () => run(script, [LOCK_MODULE, path, log, String(startAt)])));
      assert.deepEqual(codes, Array(12).fill(0));
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      assert.equal(lines.length, 24);
      for (let i = 0; i < lines.length; i += 2) {
        const pid = lines[i]!.split(' ')[1];
        assert.deepEqual([lines[i], lines[i + 1]], [`enter ${pid}`, `leave ${pid}`], `round ${round}: overlapping holders:\n${lines.join('\n')}`);
      }
      assert.ok(!existsSync(path), 'the last holder released the lock');
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.takeover')), [], 'no takeover guard left');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('release removes only our own lock: a lock file that replaced ours (taken over) stays', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'sub', 'lock'); // the folder is made on the first lock
    const lock = await acquireLock(path);
    const theirs = `${process.pid + 1} ${hostname()} ${new Date().toISOString()}\n`;
    rmSync(path);
    writeFileSync(path, theirs);
    lock.release();
    assert.equal(readFileSync(path, 'utf8'), theirs, 'the other run\'s lock is left alone');
    rmSync(path);
    const mine = await acquireLock(path);
    assert.ok(existsSync(path));
    mine.release();
    assert.ok(!existsSync(path), 'our own lock is removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
