// What a postmaster runs by hand: settings from the state dir with new DNS flags, a mistyped
// state dir, a wrong TSIG key file, deploy by hand from the config's files. Emit backend: no DNS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki, renewLeaf, spkiHash, type Pki } from '../support/pki.js';
import { runCli } from '../support/cli.js';

const NAME = '_25._tcp.mx.example.test';
let dir: string;
let pki: Pki;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-ux-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['ed448'], host: 'mx.example.test' });
});
after(() => rm(dir, { recursive: true, force: true }));

test('advance with only --state-dir takes DNS flags given now over the registered ones', async () => {
  const st = join(dir, 'st1');
  const a = pki.leaves.ed448;
  const base = ['--tlsa-name', NAME, '--records', '3 1 1', '--ttl', '1', '--state-dir', st, '--activate-dir', join(dir, 'act1')];
  assert.equal((await runCli(['deploy', ...base, '--cert', a.cert, '--key', a.key])).exitCode, 0);
  const b = await renewLeaf(pki, a, join(dir, 'b'));
  assert.equal((await runCli(['deploy', ...base, '--cert', b.cert, '--key', b.key])).exitCode, 0);
  const r = await runCli(['advance', '--state-dir', st, '--emit-format', 'json', '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  const emitted = JSON.parse(r.stdout) as { op: string; data: string }[];
  assert.deepEqual(emitted.map((c) => [c.op, c.data]), [['delete', await spkiHash(a.cert)]]);
});

test('a state dir that does not exist, with no config, is an error (exit 2), not a silent success', async () => {
  const r = await runCli(['advance', '--state-dir', join(dir, 'no-such-dir')]);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /no-such-dir does not exist/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a TSIG key file that is not one fails when settings are read (exit 2), naming it, not printing it', async () => {
  const a = pki.leaves.ed448;
  const r = await runCli(['deploy', '--tlsa-name', NAME, '--server', '127.0.0.1:1', '--tsig-key', a.key, '--state-dir', join(dir, 'st2'), '--cert', a.cert, '--key', a.key]);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /--tsig-key .*privkey.* is not a TSIG key file/);
  assert.doesNotMatch(r.stderr, /BEGIN/);
});

test('deploy by hand with --config and no file flags re-reads the files the config names', async () => {
  const a = pki.leaves.ed448;
  const cfg = join(dir, 'config.json');
  await writeFile(cfg, JSON.stringify({ stateDir: join(dir, 'st3'), defaults: { records: ['3 1 1'] }, services: [{ id: 'mx', tlsaNames: [NAME], cert: a.cert, key: a.key }] }));
  const r = await runCli(['deploy', '--config', cfg, '--id', 'mx'], { env: { ...process.env, RENEWED_LINEAGE: undefined, RENEWED_DOMAINS: undefined } });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`update add ${NAME.replace(/\./g, '\\.')}\\. 3600 IN TLSA 3 1 1 ${await spkiHash(a.cert)}`));
});
