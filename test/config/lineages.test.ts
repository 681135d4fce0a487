// `lineages: [...]` in a service (issue 11): one source per key type, each staged in its own
// folder; bad combinations are one line each that names the value.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSettings, lineageViews, shownId } from '../../src/config/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-lineages-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const file = () => join(dir, 'c.json');
const build = (service: Record<string, unknown>, more: Record<string, unknown>[] = []) =>
  buildSettings({ config: { file: file(), raw: { stateDir: join(dir, 'state'), services: [{ id: 'mx', tlsaNames: ['_25._tcp.mx.example.com'], ...service }, ...more] } } });
const two = [
  { keyType: 'rsa', lineage: '/etc/letsencrypt/live/mx-rsa' },
  { keyType: 'ecdsa', lineage: '/etc/letsencrypt/live/mx-ecdsa' },
];

test('two lineages, staged: each gets activateDir/<keyType>; the views share the rest', () => {
  const r = build({ activateDir: join(dir, 'active'), reload: 'systemctl reload postfix', lineages: two });
  assert.deepEqual(r.errors, []);
  const s = r.config!.services[0]!;
  assert.deepEqual(s.source, {});
  assert.deepEqual(s.lineages, [
    { keyType: 'rsa', source: { lineage: '/etc/letsencrypt/live/mx-rsa' }, activateDir: join(dir, 'active', 'rsa') },
    { keyType: 'ecdsa', source: { lineage: '/etc/letsencrypt/live/mx-ecdsa' }, activateDir: join(dir, 'active', 'ecdsa') },
  ]);
  const views = lineageViews(s);
  assert.deepEqual(views.map(shownId), ['mx/rsa', 'mx/ecdsa']);
  assert.deepEqual(views.map((v) => v.activateDir), [join(dir, 'active', 'rsa'), join(dir, 'active', 'ecdsa')]);
  assert.ok(views.every((v) => v.reload === 'systemctl reload postfix' && v.lineages === undefined && v.id === 'mx'));
  // A per-entry activateDir wins.
  const own = build({ lineages: [{ ...two[0], activateDir: join(dir, 'r') }, { ...two[1], activateDir: join(dir, 'e') }] });
  assert.deepEqual(own.config!.services[0]!.lineages!.map((l) => l.activateDir), [join(dir, 'r'), join(dir, 'e')]);
});

test('bad lineages: one line each, naming the value', () => {
  const at = `config ${file()}: services[0]`;
  const cases: [Record<string, unknown>, string][] = [
    [{ lineages: [two[0], { ...two[1], keyType: 'rsa' }] }, `${at}.lineages[1].keyType "rsa" is also the key type of lineages[0]: give one source per key type`],
    [{ lineage: '/etc/letsencrypt/live/mx', lineages: two }, `${at}.lineage cannot be given beside "lineages": name each certificate in its lineage entry`],
    [{ cert: '/x/cert.pem', key: '/x/key.pem', lineages: two }, `${at}.cert cannot be given beside "lineages": name each certificate in its lineage entry`],
    [{ lineages: [two[0], { ...two[1], lineage: two[0]!.lineage }] }, `${at}.lineages[1].lineage /etc/letsencrypt/live/mx-rsa is also named by lineages[0].lineage: each lineage needs its own files`],
    [{ lineages: [{ lineage: '/a' }] }, `${at}.lineages[0].keyType is missing: give rsa or ecdsa`],
    [{ lineages: [{ keyType: 'ed25519', lineage: '/a' }] }, `${at}.lineages[0].keyType "ed25519" is not one of rsa, ecdsa`],
    [{ lineages: [{ keyType: 'rsa' }] }, `${at}.lineages[0] names no certificate: give "lineage" (a certbot live dir) or "cert"/"fullchain" and "key"`],
    [{ lineages: [{ keyType: 'rsa', cert: '/a/cert.pem' }] }, `${at}.lineages[0].key is missing: a certificate needs its key`],
    [{ lineages: [{ keyType: 'rsa', lineage: '/a', reload: 'x' }] }, `${at}.lineages[0].reload is not a known setting (known: keyType, lineage, cert, chain, fullchain, key, activateDir)`],
    [{ lineages: [] }, `${at}.lineages must be a non-empty list of certificate sources, e.g. [{ "keyType": "rsa", "lineage": "/etc/letsencrypt/live/mx-rsa" }, { "keyType": "ecdsa", ... }]`],
    [{ nextKey: '/k.pem', lineages: two }, `${at}.nextKey cannot be used with "lineages" (a next key belongs to one key type): use staged mode (activateDir)`],
    [{ lineages: [{ ...two[0], activateDir: join(dir, 'r') }, two[1]] }, `${at}.lineages[0].activateDir is set but another lineage has none and the service has no activateDir: stage every lineage or none`],
  ];
  for (const [service, error] of cases) {
    const r = build(service);
    assert.equal(r.config, undefined, error);
    assert.deepEqual(r.errors, [error]);
  }
});

test("a lineage's activate dir is checked against the other services' like any other", () => {
  const r = build({ activateDir: join(dir, 'active'), lineages: two }, [{ id: 'smtp', tlsaNames: ['_465._tcp.mx.example.com'], activateDir: join(dir, 'active', 'ecdsa') }]);
  assert.deepEqual(r.errors, [`config ${file()}: services[1].activateDir ${join(dir, 'active', 'ecdsa')} is also (or holds) the activate dir of services[0].lineages[1]: each service needs its own`]);
});
