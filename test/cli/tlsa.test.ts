// `dane-hook tlsa` as users run it: the built dist/dane-hook.mjs in a subprocess, answers checked
// against the openssl pipeline and ldns-dane; every bad input gives one stderr line, no stdout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCli, stderrLines, type CliResult } from '../support/cli.js';
import { requireTool } from '../support/tools.js';
import { makePki, openssl, type Pki } from '../support/pki.js';
import { ldnsDaneCreate, opensslSpki, referenceAssociation } from '../tlsa/reference.js';

let dir: string;
let pki: Pki;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-cli-tlsa-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['rsa', 'ec-p256', 'ed25519'] });
});
after(() => rm(dir, { recursive: true, force: true }));

const sha256Spki = async (file: string): Promise<string> => referenceAssociation(await opensslSpki(file), 1);

function assertOk(r: CliResult): void {
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stderr, '');
}

/** Non-zero exit, nothing on stdout, exactly one stderr line containing each part. */
function assertRefused(r: CliResult, ...parts: string[]): void {
  assert.notEqual(r.exitCode, 0, `exit 0 with stdout ${r.stdout}`);
  assert.equal(r.stdout, '');
  const lines = stderrLines(r);
  assert.equal(lines.length, 1, `stderr: ${r.stderr}`);
  for (const p of parts) assert.ok(lines[0]!.includes(p), `'${lines[0]}' does not mention '${p}'`);
  assert.doesNotMatch(r.stderr, /\bat .+:\d+:\d+/, 'stack trace on stderr');
}

/** A mode-000 file in a directory anyone may enter. */
async function lockedFile(): Promise<string> {
  const open = join(dir, 'open');
  await mkdir(open, { recursive: true });
  await chmod(dir, 0o755);
  await chmod(open, 0o755);
  const f = join(open, 'locked.pem');
  await writeFile(f, await readFile(pki.leaves.rsa.cert));
  await chmod(f, 0);
  return f;
}

/** Runs the CLI as 'nobody' when we are root (root reads anything), else as ourselves. */
async function runUnprivileged(args: string[]): Promise<CliResult> {
  if (process.getuid?.() !== 0) return runCli(args);
  const r = await execa(requireTool('setpriv'), ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], { reject: false, input: '' });
  return { stdout: String(r.stdout), stderr: `${String(r.stderr)}\n`, exitCode: r.exitCode ?? -1 };
}

describe('dane-hook tlsa: output', () => {
  test('default 3 1 1 rdata equals the openssl pipeline, for each key type', async () => {
    for (const leaf of Object.values(pki.leaves)) {
      const r = await runCli(['tlsa', leaf.cert]);
      assertOk(r);
      assert.equal(r.stdout, `3 1 1 ${await sha256Spki(leaf.cert)}\n`);
    }
  });

  test('zone format equals ldns-dane create for each parameter set given with --records', async () => {
    const leaf = pki.leaves.rsa;
    const r = await runCli(['tlsa', '--host', leaf.host, '--port', '25', '--format', 'zone', '--records', '3 1 1', '--records', 'DANE-EE Cert SHA2-512', leaf.cert]);
    assertOk(r);
    const want = await Promise.all([[3, 1, 1], [3, 0, 2]].map(async ([u, s, m]) => {
      const t = await ldnsDaneCreate(leaf.cert, leaf.host, 25, u!, s!, m!);
      return `${t.name} ${t.ttl} IN TLSA ${t.rdata}`;
    }));
    assert.deepEqual(r.stdout.trimEnd().split('\n'), want);
  });

  test('nsupdate format: update lines then send; --ttl and --name', async () => {
    const leaf = pki.leaves['ec-p256'];
    const r = await runCli(['tlsa', '--name', '_465._tcp.MX.example.com', '--ttl', '600', '--format', 'nsupdate', leaf.cert]);
    assertOk(r);
    assert.equal(r.stdout, `update add _465._tcp.mx.example.com. 600 IN TLSA 3 1 1 ${await sha256Spki(leaf.cert)}\nsend\n`);
  });

  test('json format, stdin, and several files in order (duplicates once)', async () => {
    const a = pki.leaves.ed25519;
    const b = pki.leaves.rsa;
    const r = await runCli(['tlsa', '--format', 'json', a.cert, '-', a.key], { input: await readFile(b.certDer) });
    assertOk(r);
    const parsed = JSON.parse(r.stdout) as { name: null; data: string; source: string; ttl: number }[];
    assert.deepEqual(parsed.map((x) => [x.name, x.ttl, x.source, x.data]), [
      [null, 3600, a.cert, await sha256Spki(a.cert)],
      [null, 3600, '-', await sha256Spki(b.cert)],
    ]);
  });

  test('a bundle with usage 2 gives one record per CA certificate, equal to ldns-dane -o', async () => {
    const leaf = pki.leaves['ec-p256'];
    const r = await runCli(['tlsa', '--usage', 'DANE-TA', '--selector', 'SPKI', '--matching', 'SHA2-256', leaf.fullchainWithRoot]);
    assertOk(r);
    const theirs = await Promise.all([1, 0].map(async (o) => (await ldnsDaneCreate(leaf.fullchainWithRoot, leaf.host, 25, 2, 1, 1, o)).rdata));
    assert.deepEqual(r.stdout.trimEnd().split('\n'), theirs);
  });

  test('keys, CSRs and DER/CRLF/text variants of one certificate give the same record', async () => {
    const leaf = pki.leaves.rsa;
    const files = [leaf.certDer, leaf.certCrlf, leaf.certText, leaf.key, leaf.keyDer, leaf.keyTraditional!, leaf.pub, leaf.pubRsa!, leaf.csr, leaf.csrDer, leaf.combined];
    const want = `3 1 1 ${await sha256Spki(leaf.cert)}\n`;
    for (const f of files) {
      const r = await runCli(['tlsa', f]);
      assertOk(r);
      assert.equal(r.stdout, want, f);
    }
  });

  test('--help exits 0 and lists the options', async () => {
    const r = await runCli(['tlsa', '--help']);
    assert.equal(r.exitCode, 0);
    for (const o of ['--usage', '--selector', '--matching', '--records', '--name', '--host', '--port', '--ttl', '--format']) assert.ok(r.stdout.includes(o), o);
  });
});

describe('dane-hook tlsa: refusals (one line, no output)', () => {
  test('bad files', async () => {
    const good = pki.leaves.rsa.cert;
    const pem = await readFile(good, 'latin1');
    const der = await readFile(pki.leaves.rsa.certDer);
    const files: Record<string, string | Buffer> = {
      'empty.pem': '',
      'truncated.pem': pem.slice(0, 600),
      'badbase64.pem': pem.replace(/\n[A-Za-z0-9+/]{8}/, '\n********'),
      'random.bin': Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256)),
      'notes.txt': 'just some text\n',
      'crl.pem': '-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n',
      'trailing.der': Buffer.concat([der, Buffer.from('junk')]),
      'encrypted.pem': await openssl(['pkey', '-in', pki.leaves.rsa.key, '-aes128', '-passout', 'pass:x']),
    };
    for (const [name, content] of Object.entries(files)) {
      const f = join(dir, name);
      await writeFile(f, content);
      // The good file first: a later bad one must still leave stdout empty.
      assertRefused(await runCli(['tlsa', good, f]), f);
    }
    assertRefused(await runCli(['tlsa', join(dir, 'missing.pem')]), 'missing.pem', 'does not exist');
    assertRefused(await runCli(['tlsa', dir]), dir, 'directory');
    assertRefused(await runCli(['tlsa', '-'], { input: '' }), 'standard input', 'empty');
    assertRefused(await runUnprivileged(['tlsa', await lockedFile()]), 'locked.pem', 'permission denied');
    assertRefused(await runCli(['tlsa', '-', '-'], { input: pem }), "'-'");
    assertRefused(await runCli(['tlsa', '--selector', '0', pki.leaves.rsa.key]), pki.leaves.rsa.key, 'needs a certificate');
  });

  test('bad options and values', async () => {
    const f = pki.leaves.rsa.cert;
    assertRefused(await runCli(['tlsa', '--name', 'mx.example.com\nupdate delete example.com', '--format', 'nsupdate', f]), 'not a valid DNS name');
    assertRefused(await runCli(['tlsa', '--format', 'zone', f]), 'needs an owner name');
    assertRefused(await runCli(['tlsa', '--format', 'nsupdate', f]), 'needs an owner name');
    assertRefused(await runCli(['tlsa', '--format', 'yaml', f]), "'yaml'");
    assertRefused(await runCli(['tlsa', '--usage', '4', f]), "'4'");
    assertRefused(await runCli(['tlsa', '--selector', 'key', f]), "'key'");
    assertRefused(await runCli(['tlsa', '--matching', '3', f]), "'3'");
    assertRefused(await runCli(['tlsa', '--records', '3 1', f]), "'3 1'");
    assertRefused(await runCli(['tlsa', '--records', '3 1 1', '--usage', '2', f]), '--records');
    assertRefused(await runCli(['tlsa', '--host', 'mx.example.com', '--port', '70000', f]), "'70000'");
    assertRefused(await runCli(['tlsa', '--host', 'mx.example.com', f]), '--port');
    assertRefused(await runCli(['tlsa', '--name', 'a.example', '--port', '25', f]), '--name');
    assertRefused(await runCli(['tlsa', '--ttl', '1h', f]), "'1h'");
    assertRefused(await runCli(['tlsa', '--usage', '3', '--usage', '2', f]), '--usage');
    assertRefused(await runCli(['tlsa', f, '--bogus']), 'bogus');
    assertRefused(await runCli(['tlsa']));
  });
});
