// A run over many services decides an advance with nothing to do without the service's lock
// (engine/run.ts prepareIdleOrLocked); one that must write takes the lock and, when another run
// wrote the state file in between, is prepared again from the new file. Real signed named with
// TSIG, real nsupdate, state made by the built CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makePki, type LeafPaths } from '../support/pki.js';
import { runCli } from '../support/cli.js';
import { prepareIdleOrLocked, type Trigger } from '../../src/engine/run.js';
import { SETTLED_MS } from '../../src/io/file-stamp.js';
import { acquireLock } from '../../src/state/lock.js';
import { loadService, lockPath, serviceFolders } from '../../src/state/store.js';
import type { ServiceSettings } from '../../src/config/types.js';

describe('an idle advance takes no lock; a busy one re-reads a state changed before its lock (real named)', () => {
  let bind: BindServer;
  let dir: string;
  let st: string;
  let id: string;
  let settings: ServiceSettings;
  let leaf: LeafPaths;
  const stateFile = () => join(st, 'services', id, 'state.json');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-idle-'));
    let pki;
    [bind, pki] = await Promise.all([startBind({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
    leaf = pki.leaves['ec-p256'];
    st = join(dir, 'state');
    const flags = ['--tlsa-name', '_25._tcp.mx.example.test', '--records', '3 1 1', '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', st];
    const deploy = await runCli(['deploy', ...flags, '--lineage', leaf.dir]);
    assert.equal(deploy.exitCode, 0, deploy.stderr);
    // Inline signing serves the record a moment later: advance until a run has nothing left to record.
    for (let i = 0; i < 10; i++) {
      const before = await readFile(join(st, 'services', serviceFolders(st)[0]!, 'state.json'), 'utf8');
      assert.equal((await runCli(['advance', ...flags])).exitCode, 0);
      if ((await readFile(join(st, 'services', serviceFolders(st)[0]!, 'state.json'), 'utf8')) === before) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    id = serviceFolders(st)[0]!;
    settings = loadService(st, id)!.settings;
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** prepareIdleOrLocked counting renewal checks (one per prepareRun) and lock takings. */
  async function prepare(onLock: () => Promise<void> = async () => {}) {
    const counts = { checks: 0, locks: 0 };
    const renewalCheck = (): Trigger => {
      counts.checks++;
      return { kind: 'advance' };
    };
    const lock = async () => {
      counts.locks++;
      await onLock();
      return acquireLock(lockPath(st, id));
    };
    const r = await prepareIdleOrLocked(st, settings, { kind: 'advance' }, { renewalCheck }, Date.now, {}, lock);
    r.lock?.release();
    return { ...r, ...counts };
  }

  /** The state as if the records' first sighting were forgotten: the next run must write it. */
  async function forgetSeen(): Promise<string> {
    const data = JSON.parse(await readFile(stateFile(), 'utf8'));
    data.rollover.seen = {};
    const text = `${JSON.stringify(data, null, 2)}\n`;
    await writeFile(stateFile(), text);
    return text;
  }

  test('nothing to do: decided without the lock, nothing to carry out', async () => {
    const r = await prepare();
    assert.equal(r.locks, 0, 'no lock taken');
    assert.equal(r.lock, undefined);
    assert.equal(r.p.unlocked, true);
    assert.deepEqual(r.p.d.plan, []);
  });

  test('something to write: the lock is taken; the state unchanged meanwhile, the decision stands', async () => {
    const text = await forgetSeen();
    const r = await prepare();
    assert.equal(r.locks, 1);
    assert.ok(r.lock, 'prepared under the lock');
    assert.equal(r.p.unlocked, undefined);
    assert.equal(r.checks, 1, 'prepared once');
    assert.equal(r.p.loadedText, text);
  });

  test('another run wrote the state between the first read and the lock: prepared again from the new file', async () => {
    await forgetSeen();
    let written = '';
    const r = await prepare(async () => {
      const data = JSON.parse(await readFile(stateFile(), 'utf8'));
      data.history.push({ at: Date.now(), what: 'another run' });
      written = `${JSON.stringify(data, null, 2)}\n`;
      await writeFile(stateFile(), written);
    });
    assert.equal(r.locks, 1);
    assert.equal(r.checks, 2, 'the renewal check and the decision ran again on the new file');
    assert.equal(r.p.loadedText, written);
    assert.ok(r.p.file.history.some((h) => h.what === 'another run'));
  });
  test('a settled state file: the same stat under the lock stands without a read; rewritten in place (same inode, same size), prepared again', async () => {
    await forgetSeen();
    // Left alone long enough for its stat to tell any later write (io/file-stamp.ts).
    await new Promise((r) => setTimeout(r, SETTLED_MS + 200));
    const same = await prepare();
    assert.equal(same.locks, 1);
    assert.ok(same.p.loadedStat, 'the first read kept its stat: the lock compares it');
    assert.equal(same.checks, 1, 'unchanged: the decision stands');

    const old = await stat(stateFile());
    let written = '';
    const r = await prepare(async () => {
      // Another run's write that only stat's times tell: the same length, into the same inode.
      const data = JSON.parse(await readFile(stateFile(), 'utf8'));
      data.updatedAt += 1;
      written = `${JSON.stringify(data, null, 2)}\n`;
      await writeFile(stateFile(), written);
    });
    const now = await stat(stateFile());
    assert.equal(now.ino, old.ino, 'written in place');
    assert.equal(now.size, old.size, 'at the same size');
    assert.equal(r.checks, 2, 'the changed file was read again and decided again');
    assert.equal(r.p.loadedText, written);
    assert.equal(r.p.file.updatedAt, JSON.parse(written).updatedAt);
  });
});
