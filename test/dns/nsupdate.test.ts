// The nsupdate backend against a real signed named: single-record adds and deletes, seen by our
// observer and by dig; the failures worth telling apart, each with a clear first line.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as dnsPacket from 'dns-packet';
import { join } from 'node:path';
import { startBind, freePort, type BindServer } from '../support/bind.js';
import { nsupdateBackend, renderNsupdateScript } from '../../src/dns/nsupdate.js';
import { observeTlsa } from '../../src/dns/observer.js';
import { DnsError, UserError } from '../../src/errors.js';
import type { TlsaRecord } from '../../src/tlsa/record.js';
import type { RecordChange, ServerAddress } from '../../src/dns/types.js';

const hex = (n = 32) => randomBytes(n).toString('hex');
const rec = (data = hex(), usage = 3, selector = 1, matching = 1): TlsaRecord => ({ usage, selector, matching, data }) as TlsaRecord;
const change = (op: 'add' | 'delete', name: string, record: TlsaRecord, ttl = 1): RecordChange => ({ op, name, ttl, record });

/** `dig +dnssec +short` lines for TLSA at name, hex joined and lower-cased, RRSIG lines apart. */
async function digTlsa(bind: BindServer, name: string): Promise<{ records: string[]; rrsig: boolean }> {
  const lines = (await bind.dig(['+norec', '+dnssec', '+short', '+split=0', 'TLSA', name])).split('\n').filter((l) => l.trim() !== '');
  return {
    records: lines.filter((l) => /^\d+ \d+ \d+ [0-9A-F]+$/i.test(l)).map((l) => l.toLowerCase()).sort(),
    rrsig: lines.some((l) => l.startsWith('TLSA ')),
  };
}

describe('nsupdate backend (real named, real nsupdate)', () => {
  let bind: BindServer;
  let server: ServerAddress;
  const foreign = rec(hex(32), 3, 0, 1); // put in the zone file by "someone else"
  before(async () => {
    bind = await startBind({ ttl: 1, extraRecords: [`_443._tcp.www IN TLSA 3 0 1 ${foreign.data}`, 'mail IN A 127.0.0.1'] });
    server = { host: '127.0.0.1', port: bind.port };
  });
  after(async () => bind?.stop());

  test('adds two records in one update; our observer and dig +dnssec agree, signed', async () => {
    const name = `_25._tcp.mail.${bind.zone}`;
    const a = rec();
    const b = rec(hex(64), 2, 0, 2);
    const before = await bind.serial();
    await nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 3 }).apply([change('add', name, a), change('add', name, b)], { zone: bind.zone });
    assert.ok((await bind.serial()) > before, 'the serial grows');

    const obs = await observeTlsa(name, [server]);
    const [answer] = obs.answers;
    assert.equal(answer!.status, 'ok');
    assert.equal(answer!.signed, true);
    assert.equal(answer!.ttl, 1);
    const ours = answer!.records.map((r) => `${r.usage} ${r.selector} ${r.matching} ${r.data}`).sort();
    const dug = await digTlsa(bind, name);
    assert.deepEqual(ours, dug.records);
    assert.deepEqual(dug.records, [`2 0 2 ${b.data}`, `3 1 1 ${a.data}`].sort());
    assert.equal(dug.rrsig, true);
  });

  test('deletes one record and leaves foreign records at the same name alone', async () => {
    const name = `_443._tcp.www.${bind.zone}`;
    const other = rec(); // added with plain nsupdate by another tool
    await bind.nsupdate([`update add ${name} 1 IN TLSA 3 1 1 ${other.data}`]);
    const mine = rec();
    const backend = nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 3 });
    await backend.apply([change('add', name, mine)], { zone: bind.zone });
    assert.equal((await digTlsa(bind, name)).records.length, 3);

    await backend.apply([change('delete', name, mine)], { zone: bind.zone });
    assert.deepEqual((await digTlsa(bind, name)).records, [`3 0 1 ${foreign.data}`, `3 1 1 ${other.data}`].sort());
    const obs = await observeTlsa(name, [server]);
    assert.equal(obs.answers[0]!.records.length, 2);
  });

  test('a wrong TSIG secret is a DnsError saying BADSIG and pointing at the key', async () => {
    const bad = join(bind.dir, 'wrong.key');
    await writeFile(bad, `key "${bind.tsigKeyName}" {\n\talgorithm hmac-sha256;\n\tsecret "${randomBytes(32).toString('base64')}";\n};\n`);
    const err = await rejection(nsupdateBackend({ server, tsigKeyFile: bad, timeoutSec: 3 }).apply([change('add', `x.${bind.zone}`, rec())], { zone: bind.zone }));
    assert.ok(err instanceof DnsError);
    assert.equal(err.rcode, 'NOTAUTH');
    assert.match(err.message, new RegExp(`^nsupdate to 127\\.0\\.0\\.1:${bind.port} failed for zone example\\.test\\.: NOTAUTH \\(BADSIG\\): the TSIG key does not match`));
    assert.doesNotMatch(err.message, /secret|\n/);
  });

  test('a malformed key file: a key error that never shows the secret', async () => {
    const garbled = join(bind.dir, 'garbled.key');
    await writeFile(garbled, `key "${bind.tsigKeyName}" {\n\talgorithm hmac-sha256;\n\tsecret "NOT-BASE64-SECRET!!";\n};\n`);
    const err = await rejection(nsupdateBackend({ server, tsigKeyFile: garbled, timeoutSec: 3 }).apply([change('add', `x.${bind.zone}`, rec())], { zone: bind.zone }));
    assert.ok(err instanceof DnsError);
    assert.match(err.message, /failed for zone example\.test\.: nsupdate could not use the TSIG key file/);
    assert.doesNotMatch(`${err.message} ${String(err.cause ?? '')}`, /NOT-BASE64-SECRET/);
  });

  test('an unknown key name is BADKEY', async () => {
    const other = join(bind.dir, 'other.key');
    await writeFile(other, `key "someone-else" {\n\talgorithm hmac-sha256;\n\tsecret "${randomBytes(32).toString('base64')}";\n};\n`);
    const err = await rejection(nsupdateBackend({ server, tsigKeyFile: other, timeoutSec: 3 }).apply([change('add', `x.${bind.zone}`, rec())], { zone: bind.zone }));
    assert.match(String(err), /NOTAUTH \(BADKEY\): the server does not know this TSIG key name/);
  });

  test('a zone the server does not serve is NOTAUTH; an unsigned update is REFUSED', async () => {
    const backend = nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 3 });
    const notauth = await rejection(backend.apply([change('add', '_25._tcp.mail.other.test.', rec())], { zone: 'other.test' }));
    assert.ok(notauth instanceof DnsError);
    assert.match(notauth.message, /failed for zone other\.test\.: NOTAUTH: the server is not authoritative for other\.test\./);
    const refused = await rejection(nsupdateBackend({ server, timeoutSec: 3 }).apply([change('add', `x.${bind.zone}`, rec())], { zone: bind.zone }));
    assert.ok(refused instanceof DnsError);
    assert.equal(refused.rcode, 'REFUSED');
    assert.match(refused.message, /REFUSED: the server's update-policy does not allow/);
  });

  test('a port nobody listens on: connection refused; a server that never answers: timeout', async () => {
    const closed = await freePort();
    const refused = await rejection(
      nsupdateBackend({ server: { host: '127.0.0.1', port: closed }, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 2 }).apply([change('add', `x.${bind.zone}`, rec())], { zone: bind.zone }),
    );
    assert.match(String(refused), new RegExp(`nsupdate to 127\\.0\\.0\\.1:${closed} failed for zone example\\.test\\.: connection refused`));

    const silent = createSocket('udp4'); // a real socket that reads and never replies
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    try {
      const port = silent.address().port;
      const t0 = Date.now();
      const timeout = await rejection(
        nsupdateBackend({ server: { host: '127.0.0.1', port }, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 2 }).apply([change('add', `x.${bind.zone}`, rec())], { zone: bind.zone }),
      );
      assert.match(String(timeout), new RegExp(`no answer from 127\\.0\\.0\\.1:${port} within 2 s`));
      assert.ok(Date.now() - t0 < 3500, `took ${Date.now() - t0} ms`);
    } finally {
      silent.close();
    }
  });

  test('a missing nsupdate binary and a missing key file are clear errors', async () => {
    const noBinary = await rejection(
      nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile, command: 'nsupdate-not-installed' }).apply([change('add', `x.${bind.zone}`, rec())], { zone: bind.zone }),
    );
    assert.match(String(noBinary), /the 'nsupdate-not-installed' program is not installed/);
    const noKey = await rejection(
      nsupdateBackend({ server, tsigKeyFile: join(bind.dir, 'nope.key') }).apply([change('add', `x.${bind.zone}`, rec())], { zone: bind.zone }),
    );
    assert.ok(noKey instanceof UserError);
    assert.match(noKey.message, /^TSIG key file .*nope\.key cannot be read \(ENOENT\)/);
  });

  test('a name with a newline or space, or outside the zone, is a UserError and nothing reaches the server', async () => {
    const before = await bind.serial();
    const backend = nsupdateBackend({ server, tsigKeyFile: bind.tsigKeyFile, timeoutSec: 3 });
    const evil = rec();
    const bad = [
      `x.${bind.zone}\nupdate add evil.${bind.zone} 1 IN TLSA 3 1 1 ${evil.data}`,
      `evil ${bind.zone}`,
      `evil.other.test.`,
    ];
    for (const name of bad) {
      // A good change first: the whole batch must be refused, not half of it sent.
      const err = await rejection(backend.apply([change('add', `ok.${bind.zone}`, rec()), change('add', name, evil)], { zone: bind.zone }));
      assert.ok(err instanceof UserError && !(err instanceof DnsError), String(err));
      assert.doesNotMatch(err.message, /\n/);
    }
    const badData = await rejection(backend.apply([change('add', `ok.${bind.zone}`, rec('ab\nsend'))], { zone: bind.zone }));
    assert.ok(badData instanceof UserError);
    assert.equal(await bind.serial(), before);
    assert.equal((await bind.dig(['+short', 'TLSA', `evil.${bind.zone}`])).trim(), '');
    assert.equal((await bind.dig(['+short', 'TLSA', `ok.${bind.zone}`])).trim(), '');
  });
});

test('renderNsupdateScript: one update line per single record, never a whole-RRset delete', () => {
  const a = rec('aa'.repeat(32));
  const script = renderNsupdateScript(
    [change('add', '_25._tcp.MX.Example.Org', a, 300), change('delete', '_25._tcp.mx.example.org.', rec('bb'.repeat(32)), 300)],
    { server: { host: '2001:db8::53', port: 5300 }, zone: 'example.org' },
  );
  assert.equal(
    script,
    [
      'server 2001:db8::53 5300',
      'zone example.org.',
      `update add _25._tcp.mx.example.org. 300 IN TLSA 3 1 1 ${'aa'.repeat(32)}`,
      `update delete _25._tcp.mx.example.org. IN TLSA 3 1 1 ${'bb'.repeat(32)}`,
      'send',
      '',
    ].join('\n'),
  );
  assert.throws(() => renderNsupdateScript([change('add', 'a.example.org', a)], { zone: 'example.org', server: { host: '1.2.3.4\nsend', port: 53 } }), UserError);
  assert.throws(() => renderNsupdateScript([change('add', 'a.example.org', a, -1)], { zone: 'example.org' }), /TTL '-1' is not valid/);
});

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected a rejection');
}

/**
 * A stand-in for named (a busy named cannot be made on demand): silent for `busyMs` (for ever when
 * undefined), then serving serial 1 + the messages sent so far, which a stand-in nsupdate logs
 * (when each left) and answers NOERROR.
 */
async function standIn(busyMs: number | undefined): Promise<{ port: number; fake: string; sent(): Promise<number[]>; started: number; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dane-nsupdate-busy-'));
  const log = join(dir, 'sent.log');
  await writeFile(log, '');
  const sent = async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean).map(Number);
  const socket = createSocket('udp4');
  const port = await freePort();
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  const started = Date.now();
  socket.on('message', (msg, from) => {
    if (busyMs === undefined || Date.now() - started < busyMs) return;
    void sent().then((times) => {
      const q = dnsPacket.decode(msg);
      const soa = { type: 'SOA', name: q.questions![0]!.name, ttl: 1, data: { mname: 'ns.busy.test', rname: 'h.busy.test', serial: 1 + times.length, refresh: 1, retry: 1, expire: 1, minimum: 1 } } as dnsPacket.Answer;
      socket.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: q.questions, answers: [soa] }), from.port, from.address);
    });
  });
  const fake = join(dir, 'nsupdate');
  await writeFile(fake, `#!/bin/sh\ncat >/dev/null\necho "$(date +%s%3N)" >> ${log}\nprintf 'Outgoing update query:\\n;; ->>HEADER<<- opcode: UPDATE\\nAnswer:\\n;; ->>HEADER<<- opcode: UPDATE, status: NOERROR, id: 1\\n'\n`, { mode: 0o755 });
  return { port, fake, sent, started, stop: async () => (socket.close(), rm(dir, { recursive: true, force: true })) };
}

const twoGroups = (zone: string) => [1, 2].map((i) => ({ id: `s${i}`, changes: [change('add', `_25._tcp.mx${i}.${zone}`, rec())] }));

test('mocked server (a busy named cannot be made on demand): no message goes while the server answers no serial question; then each goes once the one before it is served', async () => {
  const BUSY_MS = 7000;
  const s = await standIn(BUSY_MS);
  try {
    const backend = nsupdateBackend({ server: { host: '127.0.0.1', port: s.port }, command: s.fake, timeoutSec: 10, maxMessageBytes: 1 });
    const results = await backend.applyGroups!(twoGroups('busy.test.'), { zone: 'busy.test.' });
    await backend.settled!('busy.test.');
    assert.deepEqual(results.map((r) => r.error?.message), [undefined, undefined]);
    const sent = await s.sent();
    assert.equal(sent.length, 2);
    for (const at of sent) assert.ok(at - s.started >= BUSY_MS, `a message left ${at - s.started} ms in, while the server was still busy (${BUSY_MS} ms)`);
  } finally {
    await s.stop();
  }
});

test('mocked server that never answers a serial question: the first message waits one update timeout, the next ones do not', async () => {
  const s = await standIn(undefined);
  try {
    const backend = nsupdateBackend({ server: { host: '127.0.0.1', port: s.port }, command: s.fake, timeoutSec: 3, maxMessageBytes: 1 });
    const results = await backend.applyGroups!([...twoGroups('silent.test.'), { id: 's3', changes: [change('add', '_25._tcp.mx3.silent.test.', rec())] }], { zone: 'silent.test.' });
    assert.deepEqual(results.map((r) => r.error?.message), [undefined, undefined, undefined]);
    const sent = await s.sent();
    assert.equal(sent.length, 3);
    assert.ok(sent[0]! - s.started >= 2500 && sent[0]! - s.started < 6000, `the first message left ${sent[0]! - s.started} ms in (one 3 s timeout expected)`);
    assert.ok(sent[2]! - sent[0]! < 4000, `the later messages took ${sent[2]! - sent[0]!} ms (about 1 s each expected)`);
  } finally {
    await s.stop();
  }
});
