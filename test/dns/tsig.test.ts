// Key files are read bounded: a FIFO (no writer) or a device must be refused at once, never hang
// a hook, and the message names the file, never its content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTsigKeyFile } from '../../src/dns/tsig.js';
import { readApiKey } from '../../src/dns/powerdns.js';

test('TSIG and PowerDNS key files: a FIFO, a device or a huge file is one line naming it; a good key passes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dane-keys-'));
  try {
    const fifo = join(dir, 'tsig.fifo');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => checkTsigKeyFile(fifo), /TSIG key file .*tsig\.fifo is a FIFO|tsig\.fifo is .*FIFO/i);
    assert.throws(() => checkTsigKeyFile('/dev/zero'), /\/dev\/zero is .*device/i);
    assert.throws(() => readApiKey(fifo), /PowerDNS API key file .*tsig\.fifo/);
    const big = join(dir, 'big.key');
    await writeFile(big, 'x'.repeat(2 * 1024 * 1024));
    assert.throws(() => checkTsigKeyFile(big), /larger than/);
    const good = join(dir, 'good.key');
    await writeFile(good, 'key "k" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";\n};\n');
    assert.equal(checkTsigKeyFile(good), good);
    await writeFile(join(dir, 'api.key'), ' s3cret \n');
    assert.equal(readApiKey(join(dir, 'api.key')), 's3cret');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
