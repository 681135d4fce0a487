// The powerdns backend end to end against a real pdns_server (gsqlite3, DNSSEC) on loopback,
// driven through the built CLI: publication, a rollover that keeps someone else's record, a
// wrong API key, and bad input that never reaches the API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPdns, type PdnsServer } from '../support/pdns.js';
import { makeIntermediate, makePki, renewLeaf, spkiHash, type Pki } from '../support/pki.js';
import { runCli } from '../support/cli.js';
import { observeTlsa } from '../../src/dns/observer.js';
import { mergeRecords, powerdnsBackend } from '../../src/dns/powerdns.js';
import { DnsError } from '../../src/errors.js';
import { recordKey, type TlsaRecord } from '../../src/tlsa/record.js';
import { freePort } from '../support/bind.js';

const NAME = '_25._tcp.mx.example.test';
// Someone else's record at the same name (a fleet peer's key), added behind dane-hook's back.
const FOREIGN = `3 1 1 ${'ab'.repeat(32)}`;
let pdns: PdnsServer;
let pki: Pki;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-pdns-test-'));
  [pdns, pki] = await Promise.all([startPdns({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['ec-p384'], host: 'mx.example.test' })]);
});
after(async () => {
  await pdns?.stop();
  await rm(dir, { recursive: true, force: true });
});

const tlsa = async (name = NAME) => (await pdns.dig(['+short', '+split=0', 'TLSA', `${name}.`])).toLowerCase().trim().split('\n').filter(Boolean).sort();
const pdnsArgs = () => ['--dns', 'powerdns', '--api-url', pdns.apiUrl, '--api-key-file', pdns.apiKeyFile, '--auth-server', pdns.address];

test('mergeRecords: adds and removes single records, keeps the rest (disabled ones too)', () => {
  const r = (d: string): TlsaRecord => ({ usage: 3, selector: 1, matching: 1, data: d.repeat(32) });
  const current = [{ content: `3 1 1 ${'AA'.repeat(32)}`, disabled: false }, { content: `3 1 1 ${'bb'.repeat(32)}`, disabled: true }];
  const out = mergeRecords(current, [
    { op: 'add', name: 'x.', ttl: 1, record: r('cc') },
    { op: 'add', name: 'x.', ttl: 1, record: r('aa') },
    { op: 'delete', name: 'x.', ttl: 1, record: r('dd') },
  ]);
  assert.deepEqual(out, [...current, { content: `3 1 1 ${'cc'.repeat(32)}`, disabled: false }]);
  assert.deepEqual(mergeRecords(out, [{ op: 'delete', name: 'x.', ttl: 1, record: r('aa') }]).map((x) => x.content), [`3 1 1 ${'bb'.repeat(32)}`, `3 1 1 ${'cc'.repeat(32)}`]);
});

test('powerdns backend: first deploy publishes 3 1 1 and 2 1 1; a renewal to a new issuer rolls over and keeps a foreign record', async () => {
  const st = join(dir, 'state');
  const base = ['--tlsa-name', NAME, '--ttl', '1', ...pdnsArgs(), '--state-dir', st, '--activate-dir', join(dir, 'active')];
  const a = pki.leaves['ec-p384'];
  const r1 = await runCli(['deploy', ...base, '--fullchain', a.fullchain, '--key', a.key], { timeoutMs: 40_000 });
  assert.equal(r1.exitCode, 0, r1.stderr);
  const keyA = `3 1 1 ${await spkiHash(a.cert)}`;
  const caA = `2 1 1 ${await spkiHash(pki.intermediate.cert)}`;
  assert.deepEqual(await tlsa(), [caA, keyA].sort());
  // Our own observer agrees with dig, and sees the RRset signed.
  const obs = await observeTlsa(`${NAME}.`, [{ host: '127.0.0.1', port: pdns.dnsPort }]);
  assert.equal(obs.answers[0]!.status, 'ok');
  assert.equal(obs.answers[0]!.signed, true);
  assert.deepEqual(obs.answers[0]!.records.map(recordKey).sort(), [caA, keyA].sort());

  await pdns.pdnsutil(['add-record', 'example.test', '_25._tcp.mx', 'TLSA', '1', FOREIGN]);
  await pdns.pdnsutil(['rectify-zone', 'example.test']);
  assert.ok((await tlsa()).includes(FOREIGN));

  const issuer2 = await makeIntermediate(pki, 'issuer2');
  const b = await renewLeaf(pki, a, join(dir, 'b'), { issuer: issuer2 });
  const r2 = await runCli(['deploy', ...base, '--fullchain', b.fullchain, '--key', b.key], { timeoutMs: 40_000 });
  assert.equal(r2.exitCode, 0, r2.stderr);
  const keyB = `3 1 1 ${await spkiHash(b.cert)}`;
  const caB = `2 1 1 ${await spkiHash(issuer2.cert)}`;
  const mid = await tlsa();
  // Staged: the new records are published beside the old ones, nothing withdrawn yet.
  for (const r of [keyA, caA, keyB, caB, FOREIGN]) assert.ok(mid.includes(r), `${r} missing from ${mid.join(', ')}`);

  const done = await runCli(['advance', '--state-dir', st, '--wait', '--max-wait', '30'], { timeoutMs: 50_000 });
  assert.equal(done.exitCode, 0, done.stderr);
  assert.deepEqual(await tlsa(), [caB, keyB, FOREIGN].sort());
  assert.equal((await readFile(join(dir, 'active', 'cert.pem'), 'utf8')).trim(), (await readFile(b.cert, 'utf8')).trim());
});

test('powerdns backend: a wrong API key is exit 3 with one line that names the cause, never the key', async () => {
  const wrong = join(dir, 'wrong.key');
  const secret = 'not-the-key-' + 'x7'.repeat(12);
  await writeFile(wrong, `${secret}\n`);
  const a = pki.leaves['ec-p384'];
  const before = await tlsa('_26._tcp.mx.example.test');
  const r = await runCli(['deploy', '--tlsa-name', '_26._tcp.mx.example.test', '--dns', 'powerdns', '--api-url', pdns.apiUrl, '--api-key-file', wrong, '--auth-server', pdns.address, '--state-dir', join(dir, 'st-wrong'), '--cert', a.cert, '--key', a.key]);
  assert.equal(r.exitCode, 3, r.stderr);
  assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), 'the key leaked');
  assert.ok(!r.stderr.includes((await readFile(pdns.apiKeyFile, 'utf8')).trim()));
  const lines = r.stderr.split('\n').filter((l) => l.includes('PowerDNS'));
  assert.equal(lines.length, 1, r.stderr);
  const line = lines[0];
  assert.match(line ?? '', /PowerDNS API at http:\/\/127\.0\.0\.1:\d+ could not read zone example\.test\.: 401 Unauthorized \(check --api-key-file\)/, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.deepEqual(await tlsa('_26._tcp.mx.example.test'), before);
});

test('powerdns backend: a newline in --tlsa-name is exit 2 and the zone is unchanged', async () => {
  const list = () => pdns.pdnsutil(['list-zone', 'example.test']);
  const zoneBefore = await list();
  const a = pki.leaves['ec-p384'];
  const r = await runCli(['deploy', '--tlsa-name', '_443._tcp.www.example.test\nupdate delete example.test', ...pdnsArgs(), '--state-dir', join(dir, 'st-bad'), '--cert', a.cert, '--key', a.key]);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /control character|not a valid|tlsa-name/i);
  assert.equal(await list(), zoneBefore);
});

test('powerdns backend: an API that is not listening is exit 3, "connection refused"', async () => {
  const a = pki.leaves['ec-p384'];
  const port = await freePort();
  const r = await runCli(['deploy', '--tlsa-name', '_27._tcp.mx.example.test', '--dns', 'powerdns', '--api-url', `http://127.0.0.1:${port}`, '--api-key-file', pdns.apiKeyFile, '--auth-server', pdns.address, '--state-dir', join(dir, 'st-refused'), '--cert', a.cert, '--key', a.key]);
  assert.equal(r.exitCode, 3, r.stderr);
  assert.equal(r.stderr.trim(), `dane-hook: PowerDNS API at http://127.0.0.1:${port} could not read zone example.test.: connection refused`);
});

test('powerdns config: a non-http URL and an empty key file are one-line errors naming the flag', async () => {
  const empty = join(dir, 'empty.key');
  await writeFile(empty, '\n');
  const a = pki.leaves['ec-p384'];
  const r = await runCli(['deploy', '--tlsa-name', NAME, '--dns', 'powerdns', '--api-url', 'ftp://127.0.0.1/', '--api-key-file', empty, '--auth-server', pdns.address, '--state-dir', join(dir, 'st-cfg'), '--cert', a.cert, '--key', a.key]);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /--api-url "ftp:\/\/127\.0\.0\.1\/" is not an http\(s\) URL/);
  assert.match(r.stderr, /--api-key-file: .*empty\.key is empty/);
});

test('powerdns backend (called directly): a zone the server does not have is a DnsError "404 zone not found"', async () => {
  const backend = powerdnsBackend({ apiUrl: pdns.apiUrl, apiKeyFile: pdns.apiKeyFile });
  const change = { op: 'add' as const, name: '_25._tcp.mx.other.test.', ttl: 60, record: { usage: 3, selector: 1, matching: 1, data: 'cd'.repeat(32) } as TlsaRecord };
  await assert.rejects(backend.apply([change], { zone: 'other.test.' }), (err: Error) => {
    assert.ok(err instanceof DnsError);
    assert.equal(err.message, `PowerDNS API at ${pdns.apiUrl} could not read zone other.test.: 404 zone other.test. not found`);
    return true;
  });
  // A bad change makes no request at all: a URL nobody listens on is never asked.
  const nowhere = powerdnsBackend({ apiUrl: `http://127.0.0.1:${await freePort()}`, apiKeyFile: pdns.apiKeyFile });
  await assert.rejects(nowhere.apply([{ ...change, name: '_25._tcp.mx\nexample.test.' }], { zone: 'example.test.' }), (err: Error) => !(err instanceof DnsError) && /name/.test(err.message));
});

test('powerdns backend (mock API that never answers: a hung server cannot be had from pdns): a timeout is a one-line DnsError', async () => {
  const sockets: import('node:net').Socket[] = [];
  const silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const port = (silent.address() as { port: number }).port;
    const backend = powerdnsBackend({ apiUrl: `http://127.0.0.1:${port}`, apiKeyFile: pdns.apiKeyFile, timeoutSec: 1 });
    const change = { op: 'add' as const, name: `${NAME}.`, ttl: 60, record: { usage: 3, selector: 1, matching: 1, data: 'ef'.repeat(32) } as TlsaRecord };
    await assert.rejects(backend.apply([change], { zone: 'example.test.' }), (err: Error) => {
      assert.ok(err instanceof DnsError);
      assert.equal(err.message, `PowerDNS API at http://127.0.0.1:${port} could not read zone example.test.: timed out after 1 s`);
      return true;
    });
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});
