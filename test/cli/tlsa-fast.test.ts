// tlsaFast (the yargs-free path main.ts takes for `tlsa`) called in-process: its records equal the
// openssl reference pipeline, bad calls are UserErrors, and only --help/--version go to yargs.
// (test/cli/tlsa.test.ts runs the same path through the built CLI against openssl and ldns-dane.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tlsaFast } from '../../src/cli/commands/tlsa.js';
import { UserError } from '../../src/errors.js';
import { makePki, type Pki } from '../support/pki.js';
import { opensslCertDer, opensslSpki, referenceAssociation } from '../tlsa/reference.js';

let dir: string;
let pki: Pki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-cli-fast-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256', 'rsa'] });
});
after(() => rm(dir, { recursive: true, force: true }));

describe('tlsaFast', () => {
  test('records equal the openssl pipeline (SPKI and whole certificate, each matching type)', async () => {
    for (const leaf of [pki.leaves['ec-p256'], pki.leaves.rsa]) {
      const spki = await opensslSpki(leaf.cert);
      const der = await opensslCertDer(leaf.cert);
      assert.equal(tlsaFast(['tlsa', leaf.cert]), `3 1 1 ${await referenceAssociation(spki, 1)}\n`);
      assert.equal(tlsaFast(['tlsa', '--records', '3 1 2', leaf.cert]), `3 1 2 ${await referenceAssociation(spki, 2)}\n`);
      assert.equal(tlsaFast(['--verbose', 'tlsa', '--usage', 'DANE-EE', '--selector', 'Cert', '--matching', '0', leaf.cert]), `3 0 0 ${await referenceAssociation(der, 0)}\n`);
      // The key alone gives the same SPKI record as its certificate.
      assert.equal(tlsaFast(['tlsa', '--records=3 1 1', leaf.key]), `3 1 1 ${await referenceAssociation(spki, 1)}\n`);
    }
  });

  test('bad calls are UserErrors', () => {
    const f = pki.leaves.rsa.cert;
    const calls: string[][] = [
      ['tlsa', f, '--bogus'],
      ['tlsa', f, '--name'],
      ['tlsa', f, '--usage', '1', '--usage', '2'],
      ['tlsa', f, '--format', 'zone'],
      ['tlsa', f, '--name', 'a\nb'],
      ['tlsa'],
      ['tlsa', join(dir, 'missing.pem')],
    ];
    for (const words of calls) assert.throws(() => tlsaFast(words), UserError, words.join(' '));
  });

  test('a value that starts with a dash is one line that says how to give it', () => {
    assert.throws(
      () => tlsaFast(['tlsa', pki.leaves.rsa.cert, '--ttl', '-1']),
      (e: Error) => e instanceof UserError && !e.message.includes('\n') && /^Option '--ttl' argument is ambiguous: write --ttl=-XYZ for a value that starts with '-' \(see dane-hook tlsa --help\)$/.test(e.message),
    );
  });

  test('--help and --version are left to yargs', () => {
    assert.equal(tlsaFast(['tlsa', '--help']), undefined);
    assert.equal(tlsaFast(['tlsa', 'x.pem', '-h']), undefined);
    assert.equal(tlsaFast(['--version']), undefined);
  });
});
