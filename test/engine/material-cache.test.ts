// The per-run cache of parsed certificate and key files (engine/material-cache.ts), on real files
// made by openssl: a file read twice is parsed once; a file replaced (certbot swaps a symlink, or
// rewrites in place) is read again; a broken file is an error every time, never cached; the cache
// keeps at most its bound.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { materialCache } from '../../src/engine/material-cache.js';
import { makeLeaf, makePki, spkiHash, type LeafPaths } from '../support/pki.js';
import { createHash } from 'node:crypto';

let dir: string;
let a: LeafPaths;
let b: LeafPaths;
const spkiHex = (spki: Buffer) => createHash('sha256').update(spki).digest('hex');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-material-'));
  const pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256'] });
  a = await makeLeaf(join(dir, 'a'), pki.intermediate, pki.root, { kind: 'ec-p256' });
  b = await makeLeaf(join(dir, 'b'), pki.intermediate, pki.root, { kind: 'ec-p256' });
});
after(() => rm(dir, { recursive: true, force: true }));

test('the same unchanged file is parsed once: the second read returns the same material', () => {
  const read = materialCache();
  const first = read(a.cert);
  assert.equal(read(a.cert), first);
  assert.equal(first.kind, 'certificate');
});

test('a symlink swapped to another certificate (as certbot renews) is read again', async () => {
  const read = materialCache();
  const link = join(dir, 'cert-link.pem');
  await symlink(a.cert, link);
  const before = read(link);
  assert.equal(spkiHex(before.spki), await spkiHash(a.cert));
  await symlink(b.cert, `${link}.new`);
  await rename(`${link}.new`, link);
  const afterSwap = read(link);
  assert.notEqual(afterSwap, before);
  assert.equal(spkiHex(afterSwap.spki), await spkiHash(b.cert));
});

test('a file rewritten in place is read again; a broken file fails each time and is not cached', async () => {
  const read = materialCache();
  const file = join(dir, 'in-place.pem');
  await copyFile(a.cert, file);
  assert.equal(spkiHex(read(file).spki), await spkiHash(a.cert));
  await writeFile(file, 'not a certificate\n');
  assert.throws(() => read(file), /in-place\.pem is not a certificate, key or CSR/);
  assert.throws(() => read(file), /in-place\.pem is not a certificate, key or CSR/);
  await copyFile(b.cert, file);
  assert.equal(spkiHex(read(file).spki), await spkiHash(b.cert));
});

test('bounded: past its size the least recently used file is dropped (and parsed again when asked)', () => {
  const read = materialCache(2);
  const first = read(a.cert);
  const oldKey = read(a.key);
  assert.equal(read(a.cert), first, 'used again: now the most recent');
  read(b.cert); // drops a.key, the least recently used
  assert.equal(read(a.cert), first);
  const key = read(a.key);
  assert.notEqual(key, oldKey, 'dropped, so parsed again');
  assert.equal(key.kind, 'privateKey');
});

test('a missing file gives the loader\'s one-line error', () => {
  assert.throws(() => materialCache()(join(dir, 'nope.pem')), /nope\.pem/);
});
