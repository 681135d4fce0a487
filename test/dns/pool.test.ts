// The run's query pool and zone cache against real named servers: many names over shared
// sockets with bounded concurrency give the same answers as one socket per question; a dead
// server is reported per answer; a zone is discovered once per run whatever the number of names.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { startBind, freePort, type BindServer } from '../support/bind.js';
import { createQueryPool } from '../../src/dns/pool.js';
import { observeTlsa } from '../../src/dns/observer.js';
import { ZoneCache } from '../../src/dns/zone-cache.js';
import { discoverZone } from '../../src/dns/zone.js';
import { query, type Ask } from '../../src/dns/query.js';
import type { ServerAddress } from '../../src/dns/types.js';

const hex = (n = 32) => randomBytes(n).toString('hex');
const at = (port: number): ServerAddress => ({ host: '127.0.0.1', port });

describe('query pool and zone cache (real named: signed primary + secondary)', () => {
  let bind: BindServer;
  const N = 120;
  const data = Array.from({ length: N }, () => hex());
  const name = (i: number) => `_25._tcp.h${i}.${bind.zone}`;
  before(async () => {
    bind = await startBind({ ttl: 2, secondary: true, extraRecords: data.map((d, i) => `_25._tcp.h${i} IN TLSA 3 1 1 ${d}`) });
  });
  after(async () => bind?.stop());

  test(`${N} names at two servers through a pool of 16: every answer right, one question per name per server`, async () => {
    const pool = createQueryPool({ concurrency: 16 });
    try {
      const servers = [at(bind.port), at(bind.secondaryPort!)];
      const seen = await Promise.all(Array.from({ length: N }, (_, i) => observeTlsa(name(i), servers, { ask: pool.query })));
      seen.forEach((obs, i) => {
        for (const a of obs.answers) {
          assert.equal(a.status, 'ok', `${obs.name} at ${a.server}: ${a.error ?? ''}`);
          assert.equal(a.signed, true);
          assert.deepEqual(a.records, [{ usage: 3, selector: 1, matching: 1, data: data[i] }]);
        }
      });
      assert.equal(pool.asked, N * 2);
      // The same as one socket per question.
      const alone = await observeTlsa(name(7), [at(bind.port)]);
      assert.deepEqual(alone.answers[0]!.records, seen[7]!.answers[0]!.records);
    } finally {
      pool.close();
    }
  });

  test('never more than `concurrency` questions in flight (a silent UDP socket stands in for a server)', async () => {
    const silent = createSocket('udp4');
    let received = 0;
    silent.on('message', () => received++);
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const pool = createQueryPool({ concurrency: 5 });
    try {
      const all = Array.from({ length: 20 }, (_, i) => pool.query(at(port), name(i), 'TLSA', { timeoutMs: 400, retries: 0 }).catch((e: Error) => e));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(received, 5, 'only the first 5 were sent while none was answered');
      const results = await Promise.all(all);
      assert.equal(received, 20);
      assert.ok(results.every((r) => r instanceof Error && /timed out/.test(r.message)));
    } finally {
      pool.close();
      silent.close();
    }
  });

  test('a server that does not answer: that answer is an error, the other server still answers', async () => {
    // A UDP socket that reads and never replies: questions to it time out.
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const pool = createQueryPool({ concurrency: 8 });
    try {
      const obs = await observeTlsa(name(1), [at(bind.port), at(port)], { ask: pool.query, timeoutMs: 200, retries: 1 });
      assert.equal(obs.answers[0]!.status, 'ok');
      assert.equal(obs.answers[1]!.status, 'error');
      assert.match(obs.answers[1]!.error!, /timed out after 200 ms x 2 tries/);
      const dead = await freePort();
      const refused = await observeTlsa(name(1), [at(dead)], { ask: pool.query, timeoutMs: 500 });
      assert.match(refused.answers[0]!.error!, /connection refused/);
      // The broken socket is replaced: the pool keeps working for the live server.
      const again = await observeTlsa(name(2), [at(bind.port)], { ask: pool.query });
      assert.equal(again.answers[0]!.status, 'ok');
    } finally {
      pool.close();
      silent.close();
    }
  });

  test('many questions to a live server and to a closed port at once: each dead answer is an error, the run never crashes', async () => {
    // The closed port's ICMP errors close and replace its socket while questions queued for it wait
    // to be sent (they leave at the end of the loop's turn): none may be sent on the closed socket.
    const dead = await freePort();
    const pool = createQueryPool({ concurrency: 64 });
    try {
      const rounds = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const out: string[] = [];
          for (let k = 0; k < 3; k++) {
            out.push((await observeTlsa(name(i % N), [at(bind.port)], { ask: pool.query })).answers[0]!.status);
            out.push((await observeTlsa(name(i % N), [at(dead)], { ask: pool.query, timeoutMs: 500, retries: 0 })).answers[0]!.status);
          }
          return out;
        }),
      );
      const all = rounds.flat();
      assert.equal(all.filter((st) => st === 'ok').length, 900, 'every question to the live server answered');
      assert.equal(all.filter((st) => st === 'error').length, 900, 'every question to the closed port an error');
    } finally {
      pool.close();
    }
  });

  test('ZoneCache: one discovery for many names and concurrent callers; the same facts as discoverZone', async () => {
    let asked = 0;
    const counting: Ask = (s, n, t, o) => {
      asked++;
      return query(s, n, t, o);
    };
    const cache = new ZoneCache(counting);
    const infos = await Promise.all(Array.from({ length: 50 }, (_, i) => cache.zoneOf(name(i), at(bind.port))));
    assert.equal(cache.discovered, 1);
    const direct = await discoverZone(name(0), at(bind.port));
    for (const info of infos) assert.deepEqual(info, direct);
    assert.equal(direct.signed, true);
    const servers = await Promise.all([cache.nameServers(infos[0]!, at(bind.port)), cache.nameServers(infos[1]!, at(bind.port))]);
    assert.deepEqual(servers[0], [at(bind.port)]);
    const afterAll = asked;
    await cache.nameServers(infos[0]!, at(bind.port));
    await cache.zoneOf(name(99), at(bind.port));
    assert.equal(asked, afterAll, 'nothing asked again');
    // Discovery plus the name servers' addresses: a handful of questions, not one set per name.
    assert.ok(afterAll <= 8, `${afterAll} questions`);
    // Another server is another cache entry (it may serve other zones).
    await cache.zoneOf(name(0), at(bind.secondaryPort!));
    assert.equal(cache.discovered, 2);
  });
});
