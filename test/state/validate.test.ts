// A state file of the wrong shape is one error naming the JSON path; a good one (as the engine
// writes it) passes; an id that is not its folder's (or escapes the state dir) is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateProblem } from '../../src/state/validate.js';
import { loadService } from '../../src/state/store.js';
import { allServices } from '../../src/cli/services.js';
import { UserError } from '../../src/errors.js';

const good = (rec = { usage: 3, selector: 1, matching: 1, data: 'ab'.repeat(32) }) => ({
  version: 1,
  id: 'mx',
  settings: { id: 'mx', tlsaNames: ['_25._tcp.mx.example.com.'], records: [{ usage: 3, selector: 1, matching: 1 }], ttl: 60, dns: { backend: 'nsupdate', authServers: [{ host: '127.0.0.1', port: 53 }], emitFormat: 'nsupdate', server: { host: '127.0.0.1', port: 53 } }, extraCaFiles: [], source: { lineage: '/etc/letsencrypt/live/mx' }, activateDir: '/etc/a' },
  rollover: { inService: { id: 'c1', records: [{ ...rec }], notAfter: 2 }, waiting: [{ id: 'c0', records: [] }], reloadDue: false, owned: [{ name: '_25._tcp.mx.example.com.', record: { ...rec }, ttl: 60, addedAt: 1 }], seen: { '_25._tcp.mx.example.com.': { [rec.data]: { since: 1, readyAt: 2 } } }, names: { '_25._tcp.mx.example.com.': { maxTtl: 60, empty: false } } },
  chains: { c1: { id: 'c1', dir: '/x', subject: 'CN=mx', issuer: 'CN=ca', notAfter: '2027-01-01T00:00:00.000Z', keyType: 'ec-p256', spki: 'abcd', addedAt: 1 } },
  history: [{ at: 1, what: 'deployed' }],
  updatedAt: 1,
});

test('a state file as the engine writes it passes', () => {
  assert.equal(stateProblem(good(), 'mx'), undefined);
});

test('wrong types are named by JSON path', () => {
  const cases: [(d: any) => void, RegExp][] = [
    [(d) => (d.rollover.owned = {}), /^rollover\.owned must be a list, not object$/],
    [(d) => (d.rollover.owned[0].ttl = '60'), /^rollover\.owned\[0\]\.ttl must be a number, not string$/],
    [(d) => (d.settings.tlsaNames = ['x\nupdate delete example.com']), /^settings\.tlsaNames\[0\]: .*not a valid DNS name/],
    [(d) => (d.rollover.inService.records[0].data = 'zz'), /^rollover\.inService\.records\[0\]\.data must be lower-case hex/],
    [(d) => (d.history = null), /^history must be a list, not null$/],
    [(d) => (d.chains.c1.addedAt = null), /^chains\["c1"\]\.addedAt must be a number/],
    [(d) => (d.settings.dns.backend = 'rm -rf'), /^settings\.dns\.backend must be emit, nsupdate, exec or powerdns/],
    [(d) => (d.version = 2), /^version 2 is not a version/],
  ];
  for (const [mangle, want] of cases) {
    const d = good();
    mangle(d);
    assert.match(stateProblem(d, 'mx') ?? 'passed', want);
  }
  assert.match(stateProblem([], 'mx')!, /^the file must be an object, not a list$/);
});

test('an id read back from the state is validated and must be its folder', () => {
  const d = good();
  d.id = '../../x';
  assert.match(stateProblem(d, 'mx')!, /^id must be an id of a-z/);
  const e = good();
  e.settings.id = 'other';
  assert.match(stateProblem(e, 'mx')!, /settings\.id "other" is not the id of its folder \(mx\)/);
});

test('loadService: one line naming the file and the path; a bad folder name is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dane-validate-'));
  try {
    mkdirSync(join(dir, 'services', 'mx'), { recursive: true });
    const d = good();
    (d.rollover as any).seen = [];
    writeFileSync(join(dir, 'services', 'mx', 'state.json'), JSON.stringify(d));
    assert.throws(() => loadService(dir, 'mx'), (e: unknown) => e instanceof UserError && e.exitCode === 2 && e.message.includes(join(dir, 'services', 'mx', 'state.json')) && /rollover\.seen must be an object, not a list/.test(e.message) && !e.message.includes('\n'));
    assert.throws(() => loadService(dir, '..'), /not a valid id/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lineages (issue 11): a file with a rollover per lineage passes; older files without them still do; a bad slot is named', () => {
  const d = good() as any;
  d.settings.source = {};
  d.settings.lineages = [{ keyType: 'rsa', source: { lineage: '/l/rsa' }, activateDir: '/a/rsa' }, { keyType: 'ecdsa', source: { cert: '/c.pem', key: '/k.pem' } }];
  d.lineages = { rsa: structuredClone(d.rollover), ecdsa: { owned: [], seen: {}, names: {} } };
  d.rollover = { owned: [], seen: {}, names: {} };
  assert.equal(stateProblem(d, 'mx'), undefined);
  assert.equal(stateProblem(good(), 'mx'), undefined, 'a file written before lineages');
  const bad = structuredClone(d);
  bad.lineages.rsa.owned[0].name = 'x y';
  assert.match(stateProblem(bad, 'mx')!, /^lineages\["rsa"\]\.owned\[0\]\.name/);
  const badType = structuredClone(d);
  badType.settings.lineages[1].keyType = 'dsa';
  assert.match(stateProblem(badType, 'mx')!, /^settings\.lineages\[1\]\.keyType must be rsa or ecdsa/);
});

test('certSeen (issue 10): a file with the stamp of its certificate passes; older files without it still do; a bad one is named', () => {
  const stamp = '2049:1234567:1180:1796177090282123456:1796177090282123456';
  assert.equal(stateProblem({ ...good(), certSeen: { stamp, leafId: 'ab'.repeat(32) } }, 'mx'), undefined);
  assert.equal(stateProblem(good(), 'mx'), undefined);
  assert.match(stateProblem({ ...good(), certSeen: { stamp: 'x', leafId: 'ab'.repeat(32) } }, 'mx') ?? 'passed', /^certSeen\.stamp must be a stat stamp/);
  assert.match(stateProblem({ ...good(), certSeen: { stamp, leafId: 'XY' } }, 'mx') ?? 'passed', /^certSeen\.leafId must be lower-case hex/);
});

test('the services a state dir registers: a stray file, a folder without a state file, a stray bad name are none, and no error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dane-validate-'));
  try {
    mkdirSync(join(dir, 'services', 'empty'), { recursive: true });
    mkdirSync(join(dir, 'services', 'Bad Name'), { recursive: true });
    writeFileSync(join(dir, 'services', 'notes.txt'), 'a note someone left\n');
    mkdirSync(join(dir, 'services', 'mx'), { recursive: true });
    writeFileSync(join(dir, 'services', 'mx', 'state.json'), JSON.stringify(good()));
    const failures: string[] = [];
    const found = allServices({ stateDir: dir, services: [], warnings: [] }, (id, err) => failures.push(`${id}: ${String(err)}`));
    assert.deepEqual(failures, []);
    assert.deepEqual(found.map((s) => s.id), ['mx']);
    assert.deepEqual(allServices({ stateDir: dir, services: [], warnings: [] }).map((s) => s.id), ['mx'], 'without onError (check) nothing throws');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
