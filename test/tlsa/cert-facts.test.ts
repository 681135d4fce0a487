// The leaf facts the state records (validity, subject, issuer), read from the DER, against
// X509Certificate on certificates made by the real openssl: equal where the DER reader answers,
// and left to X509Certificate for every name it does not print the same way for sure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { certFacts, certFactsOfDer, type CertFacts } from '../../src/tlsa/cert-facts.js';
import { loadChain } from '../../src/tlsa/load.js';
import { makePki } from '../support/pki.js';
import { requireTool } from '../support/tools.js';

let dir: string;
let openssl: string;
let n = 0;
before(async () => {
  openssl = requireTool('openssl');
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-cert-facts-'));
  await execa(openssl, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'key.pem')]);
});
after(() => rm(dir, { recursive: true, force: true }));

/** A self-signed certificate with this subject (openssl -subj syntax), valid for `days`. */
async function cert(subject: string, days = 90): Promise<Buffer> {
  const out = join(dir, `c${n++}.pem`);
  await execa(openssl, ['req', '-x509', '-key', join(dir, 'key.pem'), '-out', out, '-days', String(days), '-subj', subject, '-utf8']);
  return loadChain(out)[0]!;
}

function byX509(der: Buffer): CertFacts {
  const x = new X509Certificate(der);
  return { notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo), subject: x.subject, issuer: x.issuer };
}

describe('certFacts', () => {
  test('plain names and both time forms: the DER reader answers, exactly as X509Certificate', async () => {
    const cases = [
      ['/CN=mx.example.test', 90],
      ["/C=US/O=Let's Encrypt/CN=R10", 90],
      ['/C=DE/ST=Berlin/L=Berlin/O=Example GmbH/OU=Mail (MX)/CN=*.example.test', 90],
      // Past 2049 notAfter is a GeneralizedTime (RFC 5280 4.1.2.5).
      ['/CN=long.example.test', 12_000],
    ] as const;
    for (const [subject, days] of cases) {
      const der = await cert(subject, days);
      const facts = certFactsOfDer(der);
      assert.ok(facts, `${subject}: read from the DER`);
      assert.deepEqual(facts, byX509(der), subject);
      assert.deepEqual(certFacts(der), byX509(der), subject);
    }
  });

  test('names OpenSSL prints otherwise (escapes, multi-valued RDN, non-ASCII, other attributes): X509Certificate decides', async () => {
    for (const subject of ['/CN=a, b', '/CN=a+OU=x', '/CN=Zürich', '/CN=x/emailAddress=a@b.test', '/CN= lead', '/CN=a"b', '/CN=#x']) {
      const der = await cert(subject);
      assert.equal(certFactsOfDer(der), undefined, `${subject}: not read from the DER`);
      assert.deepEqual(certFacts(der), byX509(der), subject);
    }
  });

  test('the test PKI (the chains the other tests deploy): leaf, intermediate and root read from the DER', async () => {
    const pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256', 'rsa'] });
    for (const der of [...loadChain(pki.leaves['ec-p256'].fullchain), ...loadChain(pki.leaves.rsa.cert), ...loadChain(pki.root.cert)]) {
      assert.deepEqual(certFactsOfDer(der), byX509(der));
    }
  });

  test('not a certificate: X509Certificate throws as before', () => {
    assert.throws(() => certFacts(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])));
  });
});
