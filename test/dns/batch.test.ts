// Many services' changes to one zone in few update messages (real nsupdate, real signed named
// with TSIG): every record really at named, order kept within a group, a bad group or a failed
// message failing only the groups it carried; and the packing rule on its own.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBind, freePort, type BindServer } from '../support/bind.js';
import { applyGroups, changeBytes, MAX_MESSAGE_BYTES, packGroups } from '../../src/dns/batch.js';
import { nsupdateBackend } from '../../src/dns/nsupdate.js';
import { execBackend } from '../../src/dns/exec.js';
import { createQueryPool } from '../../src/dns/pool.js';
import { observeTlsa } from '../../src/dns/observer.js';
import { DnsError, UserError } from '../../src/errors.js';
import type { ChangeGroup, RecordChange, ServerAddress } from '../../src/dns/types.js';
import type { TlsaRecord } from '../../src/tlsa/record.js';

const hex = (n = 32) => randomBytes(n).toString('hex');
const rec = (data = hex()): TlsaRecord => ({ usage: 3, selector: 1, matching: 1, data });
const add = (name: string, record: TlsaRecord): RecordChange => ({ op: 'add', name, ttl: 60, record });
const del = (name: string, record: TlsaRecord): RecordChange => ({ op: 'delete', name, ttl: 60, record });

/** dig's TLSA answer, asked again for a few seconds until it is not empty (inline signing lags a little). */
async function digServed(bind: BindServer, name: string): Promise<string> {
  let out = '';
  for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
    // Record lines only: dig may print a warning line instead (e.g. after a stray datagram).
    out = (await bind.dig(['+short', '+split=0', 'TLSA', name])).toLowerCase().split('\n').filter((l) => /^\d \d \d [0-9a-f]+$/.test(l.trim())).join('\n');
    if (out !== '') break;
  }
  return out;
}

describe('packGroups', () => {
  const group = (id: string, n: number): ChangeGroup => ({ id, changes: Array.from({ length: n }, (_, i) => add(`_25._tcp.h${i}.${id}.example.test.`, rec())) });

  test('groups stay whole and in order; each message under the limit unless one group alone is bigger', () => {
    const groups = Array.from({ length: 2000 }, (_, i) => group(`s${i}`, 1 + (i % 3)));
    const messages = packGroups(groups);
    assert.ok(messages.length > 1 && messages.length < 20, `${messages.length} messages`);
    assert.deepEqual(messages.flat().map((g) => g.id), groups.map((g) => g.id));
    for (const m of messages) assert.ok(m.flatMap((g) => g.changes).reduce((n, c) => n + changeBytes(c), 0) <= MAX_MESSAGE_BYTES);
    const big = group('big', 1200);
    const split = packGroups([group('a', 1), big, group('b', 1)]);
    assert.deepEqual(split.map((m) => m.map((g) => g.id)), [['a'], ['big'], ['b']]);
  });

  test('empty groups are left out', () => {
    assert.deepEqual(packGroups([{ id: 'x', changes: [] }]), []);
  });
});

describe('applyGroups (real named, real nsupdate, TSIG)', () => {
  let bind: BindServer;
  let server: ServerAddress;
  before(async () => {
    bind = await startBind({ ttl: 2 });
    server = { host: '127.0.0.1', port: bind.port };
  });
  after(async () => bind?.stop());

  const nameOf = (i: number, port = 25) => `_${port}._tcp.s${i}.${bind.zone}`;

  test('1,100 services with 1-2 names each in 3 messages: every record at named, signed (inline signing takes each message)', async () => {
    const records = new Map<string, TlsaRecord>();
    const groups: ChangeGroup[] = Array.from({ length: 1100 }, (_, i) => {
      const names = i % 2 === 0 ? [nameOf(10_000 + i)] : [nameOf(10_000 + i), nameOf(10_000 + i, 465)];
      return { id: `s${i}`, changes: names.map((n) => { const r = rec(); records.set(n, r); return add(n, r); }) };
    });
    // 1,650 adds in 3 full messages: named drops a message that comes while its signed copy still
    // takes the last one, unless the batch waits for the served serial to move in between.
    const results = await applyGroups(nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 10 }), bind.zone, groups);
    assert.deepEqual(results.filter((r) => r.error).map((r) => `${r.id}: ${r.error!.message}`), []);
    assert.deepEqual(results.map((r) => r.id), groups.map((g) => g.id));
    const pool = createQueryPool({ concurrency: 32 });
    try {
      // Inline signing publishes the signed copy a moment after the update: look until it is all there.
      const look = () => Promise.all([...records].map(([n]) => observeTlsa(n, [server], { ask: pool.query })));
      let seen = await look();
      for (const until = Date.now() + 15_000; Date.now() < until && !seen.every((o) => o.answers[0]!.status === 'ok' && o.answers[0]!.signed); ) {
        await new Promise((r) => setTimeout(r, 200));
        seen = await look();
      }
      for (const obs of seen) {
        const a = obs.answers[0]!;
        assert.equal(a.status, 'ok', obs.name);
        assert.equal(a.signed, true, obs.name);
        assert.deepEqual(a.records, [records.get(obs.name)], obs.name);
      }
    } finally {
      pool.close();
    }
    // dig agrees on a sample
    const dug = await digServed(bind, nameOf(11_099, 465));
    assert.equal(dug, `3 1 1 ${records.get(nameOf(11_099, 465))!.data}`);
  });

  test('two batches to one zone at the same time (two chunks of a run), 4 full messages: they take turns, every record served, signed', async () => {
    const records = new Map<string, TlsaRecord>();
    const batchOf = (from: number) =>
      Array.from({ length: 800 }, (_, i): ChangeGroup => {
        const n = nameOf(20_000 + from + i);
        const r = rec();
        records.set(n, r);
        return { id: `t${from + i}`, changes: [add(n, r)] };
      });
    const backend = () => nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 10 });
    // Each call returns once named took its messages; the next message to the zone, from either
    // call, goes out only after the one before it is served (else named drops it while signing).
    const [a, b] = await Promise.all([applyGroups(backend(), bind.zone, batchOf(0)), applyGroups(backend(), bind.zone, batchOf(800))]);
    assert.deepEqual([...a, ...b].filter((r) => r.error).map((r) => `${r.id}: ${r.error!.message}`), []);
    await backend().settled!(bind.zone);
    // Served means served now: settled() waited for the last message's serial to move.
    const pool = createQueryPool({ concurrency: 32 });
    try {
      const seen = await Promise.all([...records.keys()].map((n) => observeTlsa(n, [server], { ask: pool.query })));
      const missing = seen.filter((o) => o.answers[0]!.status !== 'ok' || !o.answers[0]!.signed).map((o) => o.name);
      assert.deepEqual(missing.length, 0, `not served after settled(): ${missing.slice(0, 3).join(', ')} (${missing.length})`);
      for (const obs of seen) assert.deepEqual(obs.answers[0]!.records, [records.get(obs.name)], obs.name);
    } finally {
      pool.close();
    }
  });

  test('order within a group is kept: add then delete of the same record leaves nothing; delete then add leaves it', async () => {
    const r1 = rec();
    const r2 = rec();
    const results = await applyGroups(nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile }), bind.zone, [
      { id: 'a', changes: [add(nameOf(1000), r1), del(nameOf(1000), r1)] },
      { id: 'b', changes: [del(nameOf(1001), r2), add(nameOf(1001), r2)] },
    ]);
    assert.deepEqual(results, [{ id: 'a' }, { id: 'b' }]);
    assert.equal((await bind.dig(['+short', 'TLSA', nameOf(1000)])).trim(), '');
    assert.match(await digServed(bind, nameOf(1001)), new RegExp(r2.data));
  });

  test('a bad group fails alone with a one-line error, before anything is sent; the others are applied', async () => {
    const good = rec();
    const results = await applyGroups(nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile }), bind.zone, [
      { id: 'bad', changes: [add('_25._tcp.other.zone.', rec())] },
      { id: 'nl', changes: [add(`_25._tcp.x\nupdate add evil.${bind.zone}`, rec())] },
      { id: 'ok', changes: [add(nameOf(1002), good)] },
    ]);
    assert.ok(results[0]!.error instanceof UserError);
    assert.match(results[0]!.error!.message, /not inside zone example\.test\./);
    assert.ok(results[1]!.error instanceof UserError);
    assert.doesNotMatch(results[1]!.error!.message, /\n/);
    assert.equal(results[2]!.error, undefined);
    assert.match(await digServed(bind, nameOf(1002)), new RegExp(good.data));
  });

  test('a message named fails (SERVFAIL) fails only the groups it carried', async () => {
    // named caps records per RRset (max-records-per-type, 100 by default): a group adding more is refused whole.
    const crowd = { id: 'crowd', changes: Array.from({ length: 110 }, () => add(nameOf(2000), rec())) };
    const before = { id: 'before', changes: [add(nameOf(2001), rec())] };
    const afterG = { id: 'after', changes: [add(nameOf(2002), rec())] };
    // A small message limit: each group in its own message, the crowd alone.
    const results = await applyGroups(nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile, maxMessageBytes: 2000 }), bind.zone, [before, crowd, afterG]);
    const byId = Object.fromEntries(results.map((r) => [r.id, r.error?.message]));
    assert.equal(byId.before, undefined);
    assert.equal(byId.after, undefined);
    assert.ok(byId.crowd, 'the crowded group failed');
    assert.match(byId.crowd!, /^nsupdate to 127\.0\.0\.1:\d+ failed for zone example\.test\.: /);
    assert.notEqual(await digServed(bind, nameOf(2002)), '');
    assert.equal((await bind.dig(['+short', 'TLSA', nameOf(2000)])).trim(), '', 'nothing of the refused message is there');
  });

  test('a message refused for one group it carried: its groups go again one message each, only that group fails', async () => {
    const crowd = { id: 'crowd', changes: Array.from({ length: 110 }, () => add(nameOf(2100), rec())) };
    const mates = Array.from({ length: 5 }, (_, i) => ({ id: `mate${i}`, changes: [add(nameOf(2101 + i), rec())] }));
    // The default message size: the crowd and its mates ride in one message, which named refuses whole.
    const results = await applyGroups(nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile }), bind.zone, [mates[0]!, crowd, ...mates.slice(1)]);
    const byId = Object.fromEntries(results.map((r) => [r.id, r.error?.message]));
    for (const m of mates) assert.equal(byId[m.id], undefined, m.id);
    assert.match(byId.crowd ?? '', /^nsupdate to 127\.0\.0\.1:\d+ failed for zone example\.test\.: SERVFAIL/);
    for (const [i, m] of mates.entries()) assert.match(await digServed(bind, nameOf(2101 + i)), new RegExp(m.changes[0]!.record.data), m.id);
    assert.equal((await bind.dig(['+short', 'TLSA', nameOf(2100)])).trim(), '');
  });

  test('a wrong TSIG key fails every group with BADSIG and changes nothing', async () => {
    const wrong = join(bind.dir, 'wrong.key');
    await writeFile(wrong, `key "${bind.tsigKeyName}" {\n\talgorithm hmac-sha256;\n\tsecret "${randomBytes(32).toString('base64')}";\n};\n`);
    const results = await applyGroups(nsupdateBackend({ server, tsigKeyFile: wrong, timeoutSec: 3 }), bind.zone, [
      { id: 'a', changes: [add(nameOf(3000), rec())] },
      { id: 'b', changes: [add(nameOf(3001), rec())] },
    ]);
    for (const r of results) {
      assert.ok(r.error instanceof DnsError, r.id);
      assert.match(r.error!.message, /BADSIG|BADKEY|NOTAUTH/);
      assert.doesNotMatch(r.error!.message, /secret/i);
    }
    assert.equal((await bind.dig(['+short', 'TLSA', nameOf(3000)])).trim(), '');
  });

  test('nothing listening: every group fails with the connection named', async () => {
    const dead = { host: '127.0.0.1', port: await freePort() };
    const results = await applyGroups(nsupdateBackend({ server: dead, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 2 }), bind.zone, [
      { id: 'a', changes: [add(nameOf(4000), rec())] },
    ]);
    assert.ok(results[0]!.error instanceof DnsError);
    assert.match(results[0]!.error!.message, new RegExp(`127\\.0\\.0\\.1:${dead.port}`));
  });

  test('a backend without batching (exec) gets its groups one by one, failures kept apart', async () => {
    const script = join(bind.dir, 'exec.sh');
    // The alnitak contract: fail for one domain, succeed for the rest (exit 0).
    await writeFile(script, `#!/bin/sh\ncase "$TLSA_DOMAIN" in *s5001*) echo boom >&2; exit 3;; esac\nexit 0\n`, { mode: 0o755 });
    const results = await applyGroups(execBackend({ command: script }), bind.zone, [
      { id: 'a', changes: [add(nameOf(5000), rec())] },
      { id: 'b', changes: [add(nameOf(5001), rec())] },
      { id: 'c', changes: [add(nameOf(5002), rec())] },
    ]);
    assert.deepEqual(results.map((r) => [r.id, r.error === undefined]), [['a', true], ['b', false], ['c', true]]);
  });
});
