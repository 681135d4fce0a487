// tlsaFast (the yargs-free path main.ts may take for cold start) must answer exactly like the
// yargs command in the built CLI: same output for good calls, a refusal for bad ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesWithStdin, tlsaFast } from '../../src/cli/commands/tlsa.js';
import { UserError } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { makePki, type Pki } from '../support/pki.js';

let dir: string;
let pki: Pki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-cli-fast-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256', 'rsa'] });
});
after(() => rm(dir, { recursive: true, force: true }));

describe('tlsaFast answers like the yargs command', () => {
  test('good calls print the same text', async () => {
    const a = pki.leaves['ec-p256'];
    const b = pki.leaves.rsa;
    const calls: string[][] = [
      ['tlsa', a.cert],
      ['tlsa', a.cert, b.fullchain, '--usage', 'DANE-TA'],
      ['tlsa', '--records', '3 1 1', '--records=2 0 2', a.fullchainWithRoot],
      ['tlsa', '--host', a.host, '--port', '465', '--proto', 'TCP', '--format', 'zone', '--ttl', '60', a.key],
      ['tlsa', '--name', '_25._tcp.mx.example.com', '--format=nsupdate', b.csr, '--selector', 'SPKI', '--matching', '2'],
      ['--verbose', 'tlsa', '--format', 'json', b.pub, a.cert],
    ];
    for (const words of calls) {
      const r = await runCli(words);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(tlsaFast(words), r.stdout, words.join(' '));
    }
  });

  test('bad calls are refused by both', async () => {
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
    for (const words of calls) {
      const r = await runCli(words);
      assert.notEqual(r.exitCode, 0, words.join(' '));
      assert.throws(() => tlsaFast(words), UserError, words.join(' '));
    }
  });

  test('--help and --version are left to yargs', () => {
    assert.equal(tlsaFast(['tlsa', '--help']), undefined);
    assert.equal(tlsaFast(['tlsa', 'x.pem', '-h']), undefined);
    assert.equal(tlsaFast(['--version']), undefined);
  });
});

describe('filesWithStdin puts back the lone "-" yargs drops', () => {
  test('in place among the files, but not as an option value', () => {
    assert.deepEqual(filesWithStdin(['a', 'b'], ['tlsa', 'a', '-', 'b']), ['a', '-', 'b']);
    assert.deepEqual(filesWithStdin([], ['tlsa', '-']), ['-']);
    assert.deepEqual(filesWithStdin(['a'], ['tlsa', '--name', '-', 'a']), ['a']);
    assert.deepEqual(filesWithStdin(['a'], ['--verbose', 'tlsa', '-', '--records', '3 1 1', 'a']), ['-', 'a']);
  });
});
