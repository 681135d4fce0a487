// Loading every form of certificate, key and CSR that openssl writes; refusing bad input with one
// line that names the file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { UserError } from '../../src/errors.js';
import { derToPem, keyMatchesCert, loadChain, loadMaterial, parseMaterial, spkiOfCertDer } from '../../src/tlsa/load.js';
import { KEY_KINDS, makePki, openssl, type Pki } from '../support/pki.js';
import { opensslSpki } from './reference.js';

let dir: string;
let pki: Pki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-load-'));
  pki = await makePki(join(dir, 'pki'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Asserts a one-line UserError whose message contains each of `parts`. */
function assertUserError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `not a UserError: ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `more than one line: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' does not mention '${p}'`);
    return true;
  });
}

describe('every form on disk gives the certificate SPKI as openssl sees it', () => {
  for (const kind of KEY_KINDS) {
    test(kind, async () => {
      const leaf = pki.leaves[kind];
      const spki = await opensslSpki(leaf.cert);
      const forms: [string, string, number][] = [
        [leaf.cert, 'certificate', 1], [leaf.certDer, 'certificate', 1], [leaf.certCrlf, 'certificate', 1],
        [leaf.certText, 'certificate', 1], [leaf.fullchain, 'certificate', 2], [leaf.fullchainWithRoot, 'certificate', 3],
        [leaf.combined, 'certificate', 2], [leaf.key, 'privateKey', 0], [leaf.keyDer, 'privateKey', 0],
        [leaf.pub, 'publicKey', 0], [leaf.pubDer, 'publicKey', 0], [leaf.csr, 'csr', 0], [leaf.csrDer, 'csr', 0],
      ];
      if (leaf.keyTraditional) forms.push([leaf.keyTraditional, 'privateKey', 0]);
      if (leaf.keyWithParams) forms.push([leaf.keyWithParams, 'privateKey', 0]);
      if (leaf.pubRsa) forms.push([leaf.pubRsa, 'publicKey', 0]);
      for (const [file, kindOf, certCount] of forms) {
        const m = loadMaterial(file);
        assert.equal(m.kind, kindOf, file);
        assert.equal(m.certs.length, certCount, file);
        assert.equal(m.keyType, kind, file);
        assert.ok(m.spki.equals(spki), `${file}: SPKI differs from openssl's`);
        assert.equal(m.privateKey !== undefined, kindOf === 'privateKey' || file === leaf.combined, file);
      }
      // A PKCS#8 key keeps its own bytes, as the file holds them (a stored copy is them, not an
      // export: openssl pkey re-encodes, e.g. without the public key genpkey writes); other forms do not.
      const pemBody = (await readFile(leaf.key, 'latin1')).replace(/-----[^-]+-----|\s/g, '');
      assert.ok(loadMaterial(leaf.key).pkcs8?.equals(Buffer.from(pemBody, 'base64')), `${leaf.key}: its own PKCS#8 bytes`);
      // openssl pkey -outform der writes RSA and EC keys in their traditional form, the others as PKCS#8.
      const derKey = loadMaterial(leaf.keyDer).pkcs8;
      assert.ok(derKey === undefined ? ['rsa', 'ec-p256', 'ec-p384', 'ec-p521'].includes(kind) : derKey.equals(await readFile(leaf.keyDer)), `${leaf.keyDer}: its own PKCS#8 bytes, or none for a traditional key`);
      if (leaf.keyTraditional) assert.equal(loadMaterial(leaf.keyTraditional).pkcs8, undefined, 'a traditional key has no PKCS#8 bytes of its own');
      const cert = loadMaterial(leaf.cert);
      assert.ok(keyMatchesCert(loadMaterial(leaf.key), cert));
      assert.ok(!keyMatchesCert(loadMaterial(pki.leaves[kind === 'rsa' ? 'ed25519' : 'rsa'].key), cert));
      // The leaf comes first and the chain follows, byte for byte as openssl writes them as DER.
      const chain = loadChain(leaf.fullchainWithRoot);
      const expected = await Promise.all([leaf.cert, pki.intermediate.cert, pki.root.cert].map((f) => openssl(['x509', '-in', f, '-outform', 'der'])));
      assert.deepEqual(chain.map((c) => c.toString('hex')), expected.map((c) => c.toString('hex')));
    });
  }

  test('the SPKI slice of a DER certificate is byte for byte what openssl exports as the public key', async () => {
    for (const kind of KEY_KINDS) {
      const der = await readFile(pki.leaves[kind].certDer);
      assert.equal(spkiOfCertDer(der).toString('hex'), (await opensslSpki(pki.leaves[kind].cert)).toString('hex'), kind);
    }
  });

  test('a PEM file saved with a UTF-8 byte order mark still loads', async () => {
    const leaf = pki.leaves.rsa;
    const pem = await readFile(leaf.cert);
    const m = parseMaterial(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), pem]), 'bom.pem');
    assert.deepEqual(m.certs[0], await readFile(leaf.certDer));
  });

  test('a PKCS#8 key in BER (an indefinite outer length, as OpenSSL reads it) loads; its copy is exported as DER', async () => {
    const leaf = pki.leaves['ec-p256'];
    const pkcs8 = loadMaterial(leaf.key).pkcs8!;
    // The outer SEQUENCE's definite length becomes 0x80 (indefinite), closed by an end-of-contents 00 00.
    const headerLength = pkcs8[1]! & 0x80 ? 2 + (pkcs8[1]! & 0x7f) : 2;
    const ber = Buffer.concat([Buffer.from([0x30, 0x80]), pkcs8.subarray(headerLength), Buffer.from([0, 0])]);
    const file = join(dir, 'ber-key.pem');
    await writeFile(file, derToPem(ber, 'PRIVATE KEY'));
    const m = loadMaterial(file);
    assert.equal(m.kind, 'privateKey');
    assert.equal(m.pkcs8, undefined, 'BER is not kept as the copy: it is exported as DER');
    assert.ok(m.spki.equals(loadMaterial(leaf.key).spki));
  });

  test('derToPem round-trips and openssl reads what it writes', async () => {
    const der = await readFile(pki.leaves['ec-p384'].certDer);
    const pem = derToPem(der, 'CERTIFICATE');
    assert.ok(pem.split('\n').every((l) => l.length <= 64));
    assert.deepEqual(parseMaterial(Buffer.from(pem), 'x.pem').certs[0], der);
    assert.deepEqual(await openssl(['x509', '-outform', 'der'], pem), der);
  });

  test('OpenSSL TRUSTED CERTIFICATE (with trust settings appended) gives the certificate itself', async () => {
    const leaf = pki.leaves.ed25519;
    const trusted = await openssl(['x509', '-in', leaf.cert, '-trustout', '-addtrust', 'serverAuth']);
    assert.match(trusted.toString(), /BEGIN TRUSTED CERTIFICATE/);
    const m = parseMaterial(trusted, 'trusted.pem');
    assert.deepEqual(m.certs[0], await readFile(leaf.certDer));
  });

  test('a certificate for a key type beyond the signing ones (X25519 via -force_pubkey) gives its SPKI', async () => {
    const xkey = join(dir, 'x25519.pem');
    await openssl(['genpkey', '-algorithm', 'X25519', '-out', xkey]);
    const xpub = join(dir, 'x25519.pub');
    await writeFile(xpub, await openssl(['pkey', '-in', xkey, '-pubout']));
    const leaf = pki.leaves['ec-p256'];
    const cert = await openssl(['x509', '-req', '-in', leaf.csr, '-CA', pki.intermediate.cert, '-CAkey', pki.intermediate.key, '-force_pubkey', xpub, '-days', '1']);
    const certFile = join(dir, 'x25519-cert.pem');
    await writeFile(certFile, cert);
    const m = loadMaterial(certFile);
    assert.equal(m.keyType, 'x25519');
    assert.ok(m.spki.equals(await opensslSpki(certFile)));
  });
});

describe('bad input: a one-line error naming the file', () => {
  test('files that cannot be read', async () => {
    const missing = join(dir, 'nope.pem');
    assertUserError(() => loadMaterial(missing), missing, 'does not exist');
    assertUserError(() => loadMaterial(dir), dir, 'directory');
    const empty = join(dir, 'empty.pem');
    await writeFile(empty, '');
    assertUserError(() => loadMaterial(empty), empty, 'empty');
    // Unreadable files: root reads anything, so test/cli/tlsa.test.ts checks this as 'nobody'.
    assertUserError(() => loadMaterial(join(empty, 'x.pem')), 'x.pem', 'does not exist');
  });

  test('malformed PEM', async () => {
    const pem = (await readFile(pki.leaves.rsa.cert, 'latin1')).trimEnd();
    const cases: [string, string, string][] = [
      ['truncated.pem', pem.slice(0, pem.length - 200), 'no END line'],
      ['no-end.pem', pem.replace(/-----END CERTIFICATE-----/, ''), 'no END line'],
      ['bad-base64.pem', pem.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!'), 'not valid base64'],
      ['cut-line.pem', pem.replace(/\n([A-Za-z0-9+/]{64})\n/, (_m, l: string) => `\n${l.slice(0, 60)}\n`), 'CERTIFICATE'],
      ['mismatch.pem', pem.replace('END CERTIFICATE', 'END PRIVATE KEY'), 'ends with'],
      ['empty-block.pem', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', 'is empty'],
      ['crl.pem', '-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n', 'X509 CRL'],
      ['encrypted.pem', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n', 'encrypted'],
      ['text.txt', 'hello, this is a text file\n', 'not a certificate, key or CSR'],
      ['key-in-cert-label.pem', derToPem(await readFile(pki.leaves.rsa.keyDer), 'CERTIFICATE'), 'does not hold a certificate'],
    ];
    for (const [name, text, why] of cases) {
      const file = join(dir, name);
      await writeFile(file, text);
      assertUserError(() => loadMaterial(file), file, why);
    }
  });

  test('encrypted keys, in PKCS#8 and in the traditional OpenSSL form', async () => {
    const key = pki.leaves['ec-p256'].key;
    const pkcs8 = await openssl(['pkey', '-in', key, '-aes256', '-passout', 'pass:secret']);
    const traditional = await openssl(['ec', '-in', key, '-aes256', '-passout', 'pass:secret']);
    const pkcs8Der = await openssl(['pkcs8', '-topk8', '-in', key, '-v2', 'aes256', '-passout', 'pass:secret', '-outform', 'der']);
    assert.match(traditional.toString(), /Proc-Type: 4,ENCRYPTED/);
    for (const [name, bytes] of [['p8.pem', pkcs8], ['trad.pem', traditional], ['p8.der', pkcs8Der]] as const) {
      assertUserError(() => parseMaterial(bytes, name), name, 'encrypted keys are not supported');
    }
  });

  test('malformed DER: trailing bytes, truncation at every length, a CRL', async () => {
    const der = await readFile(pki.leaves['ec-p256'].certDer);
    assertUserError(() => parseMaterial(Buffer.concat([der, Buffer.from([0, 0])]), 'trail.der'), 'trail.der', 'trailing');
    for (let n = 1; n < der.length; n++) assertUserError(() => parseMaterial(der.subarray(0, n), 'cut.der'), 'cut.der');
    const crlDir = join(dir, 'crl');
    await mkdir(crlDir);
    await writeFile(join(crlDir, 'index.txt'), '');
    await writeFile(join(crlDir, 'ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndatabase=${crlDir}/index.txt\ndefault_md=sha256\ndefault_crl_days=1\n`);
    const crlPem = await openssl(['ca', '-config', join(crlDir, 'ca.cnf'), '-gencrl', '-keyfile', pki.intermediate.key, '-cert', pki.intermediate.cert]);
    const crl = await openssl(['crl', '-outform', 'der'], crlPem);
    assertUserError(() => parseMaterial(crl, 'crl.der'), 'crl.der', 'not a certificate or CSR');
    assertUserError(() => parseMaterial(crlPem, 'crl.pem'), 'crl.pem', 'X509 CRL');
  });

  test('PKCS#7 and PKCS#12 files made by openssl, and UTF-16 text, say how to get the PEM out', async () => {
    const leaf = pki.leaves['ec-p384'];
    const p7 = await openssl(['crl2pkcs7', '-nocrl', '-certfile', leaf.fullchain]);
    const p7Der = await openssl(['crl2pkcs7', '-nocrl', '-certfile', leaf.fullchain, '-outform', 'der']);
    const p12 = await openssl(['pkcs12', '-export', '-in', leaf.fullchain, '-inkey', leaf.key, '-passout', 'pass:']);
    assertUserError(() => parseMaterial(p7, 'chain.p7b'), 'chain.p7b', 'PKCS#7 bundle', 'openssl pkcs7 -print_certs');
    assertUserError(() => parseMaterial(p7Der, 'chain.p7b.der'), 'chain.p7b.der', 'PKCS#7 bundle', 'openssl pkcs7 -print_certs');
    assertUserError(() => parseMaterial(p12, 'cert.p12'), 'cert.p12', 'PKCS#12 file', 'openssl pkcs12');
    // What `openssl pkcs7 -print_certs` gives back loads (the hint works).
    const printed = await openssl(['pkcs7', '-print_certs'], p7);
    assert.equal(parseMaterial(printed, 'printed.pem').certs.length, 2);
    const text = await readFile(leaf.fullchain, 'utf8');
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const beNoBom = Buffer.from(text, 'utf16le').swap16();
    for (const [name, bytes] of [['le.pem', le], ['be.pem', beNoBom]] as const) assertUserError(() => parseMaterial(bytes, name), name, 'UTF-16');
  });

  test('several items that do not belong together', async () => {
    const a = await readFile(pki.leaves.rsa.key, 'latin1');
    const b = await readFile(pki.leaves.ed25519.key, 'latin1');
    const certA = await readFile(pki.leaves.rsa.cert, 'latin1');
    assertUserError(() => parseMaterial(Buffer.from(a + b), 'two-keys.pem'), 'two-keys.pem', '2 private keys');
    assertUserError(() => parseMaterial(Buffer.from(certA + b), 'wrong-key.pem'), 'wrong-key.pem', 'does not match');
    const csr = await readFile(pki.leaves.rsa.csr, 'latin1');
    assertUserError(() => parseMaterial(Buffer.from(certA + csr), 'cert-csr.pem'), 'cert-csr.pem', 'CSR');
    assertUserError(() => loadChain(pki.leaves.rsa.key), pki.leaves.rsa.key, 'private key, not certificates');
  });

  test('property: any bytes give a Material or a one-line UserError naming the source, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, asPem) => {
        const input = asPem ? Buffer.from(derToPem(Buffer.from(bytes), 'CERTIFICATE')) : Buffer.from(bytes);
        try {
          parseMaterial(input, 'fuzz.bin');
        } catch (e) {
          return e instanceof UserError && e.message.startsWith('fuzz.bin') && !e.message.includes('\n');
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  test('property: a certificate with any byte changed parses or fails with a one-line UserError', async () => {
    const der = await readFile(pki.leaves.ed25519.certDer);
    fc.assert(
      fc.property(fc.nat({ max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bent = Buffer.from(der);
        bent[at] = bent[at]! ^ xor;
        try {
          const m = parseMaterial(bent, 'bent.der');
          return bent.includes(m.spki);
        } catch (e) {
          return e instanceof UserError && e.message.startsWith('bent.der') && !e.message.includes('\n');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
