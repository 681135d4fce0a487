// The run warns when a name's RRset would exceed 12 records (some senders read no more): the pure
// count over served + published - withdrawn, and a real deploy against a real named.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rrsetSizeWarnings } from '../../src/engine/rrset-size.js';
import { parseRecord, recordKey } from '../../src/tlsa/record.js';
import { startBind, type BindServer } from '../support/bind.js';
import { makePki, type Pki } from '../support/pki.js';
import { runCli } from '../support/cli.js';

const NAME = '_25._tcp.mx.example.test.';
const rec = (i: number) => parseRecord(`3 1 1 ${(i + 16).toString(16).repeat(32)}`);

test('served + published - withdrawn: 12 is fine, 13 warns', () => {
  const served = { [NAME]: { anywhere: new Set(Array.from({ length: 12 }, (_, i) => recordKey(rec(i)))), everywhere: new Set<string>() } };
  assert.deepEqual(rrsetSizeWarnings(served, []), []);
  const publish = { kind: 'publish' as const, name: NAME, record: rec(20), ttl: 60, reason: 'r' };
  assert.match(rrsetSizeWarnings(served, [publish])[0]!, /^13 TLSA records at _25\._tcp\.mx\.example\.test\.: some large senders read only about 12/);
  const withdraw = { kind: 'withdraw' as const, name: NAME, record: rec(0), reason: 'r' };
  assert.deepEqual(rrsetSizeWarnings(served, [publish, withdraw]), []);
});

describe('a deploy onto a name that already holds 12 records (real named)', () => {
  let dir: string;
  let bind: BindServer;
  let pki: Pki;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-rrset-size-'));
    [bind, pki] = await Promise.all([startBind({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
    await bind.nsupdate(Array.from({ length: 12 }, (_, i) => `update add ${NAME} 1 IN TLSA 3 1 1 ${(i + 16).toString(16).repeat(32)}`));
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('warns on stderr, naming the name and the count', async () => {
    const leaf = pki.leaves['ec-p256'];
    const r = await runCli(['deploy', '--tlsa-name', NAME, '--dns', 'emit', '--server', bind.address, '--state-dir', join(dir, 'state'), '--cert', leaf.cert, '--chain', leaf.chain, '--key', leaf.key]);
    assert.ok(r.exitCode === 0 || r.exitCode === 4, r.stderr);
    assert.match(r.stderr, /warning: .*14 TLSA records at _25\._tcp\.mx\.example\.test\.: some large senders/);
  });
});
