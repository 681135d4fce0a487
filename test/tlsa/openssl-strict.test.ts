// The PEM reader agrees with OpenSSL's (the one Postfix and most servers read their files with):
// for each mangled form of a certificate, alone and as the first block of a bundle, and of a
// private key, `openssl x509`/`openssl pkey` on this machine is asked what it reads, and
// dane-hook must read the same certificate or refuse with one line naming the file and block.
// It never hashes a certificate openssl would not serve.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../src/errors.js';
import { loadMaterial } from '../../src/tlsa/load.js';
import { makePki, type Pki } from '../support/pki.js';
import { requireTool } from '../support/tools.js';

let dir: string;
let pki: Pki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-strict-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256', 'rsa'] });
});
after(() => rm(dir, { recursive: true, force: true }));

/** Ways a PEM text gets mangled on disk (by hand edits, copy-paste, config templating). */
const MANGLE: Record<string, (pem: string) => string> = {
  'as written': (p) => p,
  'indented BEGIN': (p) => ` ${p}`,
  'tab before BEGIN': (p) => `\t${p}`,
  'text after BEGIN dashes': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----)/, '$1 x'),
  'spaces after BEGIN dashes': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----)/, '$1  '),
  'indented END': (p) => p.replace(/\n(-----END)/, '\n $1'),
  'blank line after BEGIN': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----\n)/, '$1\n'),
  'blank line inside base64': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----\n[^\n]+\n)/, '$1\n'),
  'two blank lines after BEGIN': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----\n)/, '$1\n\n'),
  'indented base64 line': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----\n)/, '$1   '),
  'space inside base64': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----\n.{10})/, '$1 '),
  'trailing spaces': (p) => p.replace(/\n/g, '  \n'),
  'CRLF': (p) => p.replace(/\n/g, '\r\n'),
  'bad base64 character': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----\n)..../, '$1!!!!'),
  'padding in the middle': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----\n.{8})..../, '$1===='),
  'header without blank line': (p) => p.replace(/^(-----BEGIN [A-Z ]+-----\n)/, '$1Comment: x\n'),
  'text before BEGIN on its line': (p) => `x${p}`,
  'text lines around': (p) => `subject=CN = x\n${p}trailer\n`,
};

/**
 * Where dane-hook is knowingly stricter than openssl: with an indented END line openssl reads on
 * into the next block (its base64 decoder stops at the first '-'), so the first certificate is
 * read but the one after it silently vanishes from the chain.
 */
const STRICTER: Record<string, RegExp> = { 'indented END': /END line is indented/ };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** SHA-256 of the DER certificate openssl reads from the file, or undefined when it reads none. */
async function opensslReads(file: string, what: 'x509' | 'pkey'): Promise<string | undefined> {
  const r = await execa(requireTool('openssl'), what === 'x509' ? ['x509', '-in', file, '-outform', 'DER'] : ['pkey', '-in', file, '-pubout', '-outform', 'DER'], { encoding: 'buffer', reject: false });
  return r.exitCode === 0 ? sha(Buffer.from(r.stdout)) : undefined;
}

/** SHA-256 of what dane-hook reads (first certificate, or the key's SPKI), or the refusal. */
function daneReads(file: string, what: 'x509' | 'pkey'): { hash?: string; error?: string } {
  try {
    const m = loadMaterial(file);
    return { hash: sha(what === 'x509' ? m.certs[0]! : m.spki) };
  } catch (e) {
    assert.ok(e instanceof UserError, String(e));
    assert.ok(!e.message.includes('\n'), e.message);
    assert.ok(e.message.includes(file), `names the file: ${e.message}`);
    return { error: e.message };
  }
}

test('certificates: dane-hook reads what openssl x509 reads, or refuses naming the block', async () => {
  const a = await readFile(pki.leaves['ec-p256'].cert, 'latin1');
  const b = await readFile(pki.leaves.rsa.cert, 'latin1');
  const disagreements: string[] = [];
  let refusedBundles = 0;
  for (const [name, mangle] of Object.entries(MANGLE)) {
    for (const [form, text] of [['alone', mangle(a)], ['first of a bundle', mangle(a) + b]] as const) {
      const file = join(dir, `${name.replace(/\W+/g, '-')}-${form.replace(/\W+/g, '-')}.pem`);
      await writeFile(file, text, 'latin1');
      const theirs = await opensslReads(file, 'x509');
      const ours = daneReads(file, 'x509');
      const first = sha(loadMaterial(pki.leaves['ec-p256'].cert).certs[0]!);
      if (theirs === first) {
        const stricter = STRICTER[name]?.test(ours.error ?? '') === true;
        if (ours.hash !== first && !stricter) disagreements.push(`${name}, ${form}: openssl reads it, dane-hook ${ours.error ?? 'read another certificate'}`);
      } else {
        // openssl reads nothing, or skips the mangled block and serves the next one: refuse.
        if (ours.hash !== undefined) disagreements.push(`${name}, ${form}: openssl ${theirs ? 'serves the second certificate' : 'refuses it'}, dane-hook hashed ${ours.hash === first ? 'the first' : 'another'}`);
        else if (form === 'first of a bundle' && theirs) {
          refusedBundles++;
          assert.match(ours.error!, /PEM block 1\b/, `names the block: ${ours.error}`);
        }
      }
    }
  }
  assert.deepEqual(disagreements, []);
  assert.ok(refusedBundles >= 3, `openssl skipped a mangled first block in ${refusedBundles} bundles (expected several)`);
});

test('private keys: dane-hook reads what openssl pkey reads, or refuses', async () => {
  const key = await readFile(pki.leaves['ec-p256'].key, 'latin1');
  const disagreements: string[] = [];
  for (const [name, mangle] of Object.entries(MANGLE)) {
    const file = join(dir, `key-${name.replace(/\W+/g, '-')}.pem`);
    await writeFile(file, mangle(key), 'latin1');
    const theirs = await opensslReads(file, 'pkey');
    const ours = daneReads(file, 'pkey');
    if (theirs !== undefined && ours.hash !== theirs && STRICTER[name]?.test(ours.error ?? '') !== true) disagreements.push(`${name}: openssl reads it, dane-hook ${ours.error ?? 'read another key'}`);
    if (theirs === undefined && ours.hash !== undefined) disagreements.push(`${name}: openssl refuses it, dane-hook read it`);
  }
  assert.deepEqual(disagreements, []);
});
