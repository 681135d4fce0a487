// --generate-next-key makes a key like the current one: algorithm, size and, for RSA-PSS, the
// key's parameter restrictions (read back with the real openssl).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { generateKeyLike } from '../../src/engine/keygen.js';

const restrictions = async (file: string) => (await execa('openssl', ['pkey', '-in', file, '-noout', '-text'])).stdout.split('\n').filter((l) => /Hash Algorithm|Mask Algorithm|Salt Length/.test(l)).map((l) => l.trim());

test('an RSA-PSS next key keeps the current key\'s hash, MGF1 hash and salt length', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-keygen-'));
  try {
    const current = join(dir, 'current.pem');
    await execa('openssl', ['genpkey', '-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_pss_keygen_md:sha384', '-pkeyopt', 'rsa_pss_keygen_mgf1_md:sha384', '-pkeyopt', 'rsa_pss_keygen_saltlen:48', '-out', current]);
    const next = join(dir, 'next.pem');
    generateKeyLike(current, next);
    const want = await restrictions(current);
    assert.equal(want.length, 3, `openssl shows the current key's restrictions: ${want.join('; ')}`);
    assert.deepEqual(await restrictions(next), want);
    assert.equal((await stat(next)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an RSA-PSS key without restrictions gives one without them; other types keep their curve and size', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dane-hook-keygen-'));
  try {
    for (const [name, args, shows] of [
      ['pss', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'], /RSA-PSS|Private-Key: \(2048 bit/],
      ['ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], /NIST CURVE: P-384/],
      ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], /Private-Key: \(3072 bit/],
    ] as const) {
      const current = join(dir, `${name}.pem`);
      await execa('openssl', ['genpkey', ...args, '-out', current]);
      const next = join(dir, `${name}-next.pem`);
      generateKeyLike(current, next);
      const text = (await execa('openssl', ['pkey', '-in', next, '-noout', '-text'])).stdout;
      assert.match(text, shows, name);
      if (name === 'pss') assert.deepEqual(await restrictions(next), []);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
