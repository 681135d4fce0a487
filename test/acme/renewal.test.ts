// The safety net for a renewal no hook reported: the configured files' current leaf against
// what the state knows. Real certificates from openssl (test/support/pki.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unreportedRenewal, type KnownChains } from '../../src/acme/renewal.js';
import { loadChain } from '../../src/tlsa/load.js';
import { makePki, renewLeaf, type LeafPaths, type Pki } from '../support/pki.js';

let dir: string;
let pki: Pki;
let v1: LeafPaths;
let v2: LeafPaths;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-renewal-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' });
  v1 = pki.leaves['ec-p256'];
  await new Promise((r) => setTimeout(r, 1100)); // a later notAfter (whole seconds)
  v2 = await renewLeaf(pki, v1, join(dir, 'v2'));
});
after(() => rm(dir, { recursive: true, force: true }));

const idOf = (cert: string) => createHash('sha256').update(loadChain(cert)[0]!).digest('hex');
const notAfterOf = (cert: string) => new Date(new X509Certificate(loadChain(cert)[0]!).validTo).toISOString();
function knowing(...leaves: LeafPaths[]): KnownChains {
  const chains = Object.fromEntries(leaves.map((l) => [idOf(l.cert), { id: idOf(l.cert), notAfter: notAfterOf(l.cert) }]));
  return { chains, rollover: { inService: { id: idOf(leaves[leaves.length - 1]!.cert) } } };
}

test('a certificate in the lineage that the state does not know is a renewal to deploy', () => {
  const r = unreportedRenewal({ lineage: v2.dir }, knowing(v1));
  assert.equal(r.kind, 'renewed');
  if (r.kind !== 'renewed') return;
  assert.equal(r.leafId, idOf(v2.cert));
  assert.equal(r.files.key.endsWith('privkey.pem'), true);
  // The names are read only for a renewal (a known leaf is a hash away), and then they are there.
  assert.deepEqual(r.files.domains, ['mx.example.test']);
});

test('cert/key files: the same; a known certificate is nothing to do', () => {
  assert.equal(unreportedRenewal({ cert: v2.cert, key: v2.key }, knowing(v1)).kind, 'renewed');
  assert.equal(unreportedRenewal({ cert: v2.cert, key: v2.key }, knowing(v1, v2)).kind, 'none');
  assert.equal(unreportedRenewal({ lineage: v1.dir }, knowing(v1)).kind, 'none');
});

test('no state at all (a first deploy killed before it saved): the files are deployed', () => {
  assert.equal(unreportedRenewal({ lineage: v1.dir }, undefined).kind, 'renewed');
});

test('an older certificate than the state knows (a rollback) is not a renewal', () => {
  const known = knowing(v2);
  assert.equal(unreportedRenewal({ lineage: v1.dir }, known).kind, 'none');
});

test('no configured files: nothing; unreadable files: said, not thrown', () => {
  assert.equal(unreportedRenewal({}, knowing(v1)).kind, 'none');
  const r = unreportedRenewal({ lineage: join(dir, 'gone') }, knowing(v1));
  assert.equal(r.kind, 'unreadable');
  if (r.kind === 'unreadable') assert.match(r.error, /gone/);
});
