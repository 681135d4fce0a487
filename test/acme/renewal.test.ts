// The safety net for a renewal no hook reported: the configured files' current leaf against
// what the state knows. Real certificates from openssl (test/support/pki.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, symlink, unlink, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unreportedRenewal, type KnownChains } from '../../src/acme/renewal.js';
import { loadChain, loadMaterial, type MaterialReader } from '../../src/tlsa/load.js';
import { SETTLED_MS, fileStamp, settledStamp } from '../../src/io/file-stamp.js';
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

/** A reader that counts the files it is asked for. */
function counting(): { read: MaterialReader; paths: string[] } {
  const paths: string[] = [];
  return { read: (p) => (paths.push(p), loadMaterial(p)), paths };
}
const settle = () => new Promise((r) => setTimeout(r, SETTLED_MS + 100));

test('a known leaf in a file that has settled: none, with the stamp to keep; with that stamp kept, the file is not read again', async () => {
  const lineage = join(dir, 'seen-lineage');
  await mkdir(lineage, { recursive: true });
  for (const f of ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']) await symlink(join(v1.dir, f), join(lineage, f));
  await settle();
  const first = unreportedRenewal({ lineage }, knowing(v1));
  assert.equal(first.kind, 'none');
  if (first.kind !== 'none' || !first.seen) return assert.fail('a settled file is stamped');
  assert.deepEqual(first.seen, { stamp: fileStamp(v1.cert), leafId: idOf(v1.cert) });
  const c = counting();
  const again = unreportedRenewal({ lineage }, { ...knowing(v1), certSeen: first.seen }, c.read);
  assert.deepEqual(again, { kind: 'none' }, 'nothing new to keep');
  assert.deepEqual(c.paths, [], 'a stat, no read');
  // certbot re-points the symlink at the renewal's file: another inode, so it is read and found.
  await unlink(join(lineage, 'cert.pem'));
  await symlink(v2.cert, join(lineage, 'cert.pem'));
  await unlink(join(lineage, 'privkey.pem'));
  await symlink(v2.key, join(lineage, 'privkey.pem'));
  const renewed = unreportedRenewal({ lineage }, { ...knowing(v1), certSeen: first.seen }, c.read);
  assert.equal(renewed.kind, 'renewed');
  assert.ok(c.paths.length > 0, 'the new file was read');
});

test('a file rewritten in place under a kept stamp is read again (the stat skip must not hide a renewal)', async () => {
  const cert = join(dir, 'in-place-cert.pem');
  await copyFile(v1.cert, cert);
  const seen = { stamp: fileStamp(cert), leafId: idOf(v1.cert) };
  assert.equal(unreportedRenewal({ cert, key: v1.key }, { ...knowing(v1), certSeen: seen }).kind, 'none');
  await writeFile(cert, await readFile(v2.cert)); // same path, same inode: size or times change
  const r = unreportedRenewal({ cert, key: v2.key }, { ...knowing(v1), certSeen: seen });
  assert.equal(r.kind, 'renewed');
  // A kept stamp whose leaf the state no longer knows (pruned) is no reason to skip either.
  const other = { stamp: fileStamp(cert), leafId: '00'.repeat(32) };
  assert.equal(unreportedRenewal({ cert, key: v2.key }, { ...knowing(v1), certSeen: other }).kind, 'renewed');
});

test('a file changed moments ago is not stamped: a rewrite in the same clock tick would keep its stamp', async () => {
  const cert = join(dir, 'fresh-cert.pem');
  await copyFile(v1.cert, cert);
  const r = unreportedRenewal({ cert, key: v1.key }, knowing(v1));
  assert.deepEqual(r, { kind: 'none' });
  assert.equal(settledStamp(cert), undefined);
  assert.equal(settledStamp(cert, Date.now() + SETTLED_MS + 1), fileStamp(cert));
  assert.equal(settledStamp(join(dir, 'no-such-file')), undefined);
});
