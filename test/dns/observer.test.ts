// The observer and the query under it, against real named servers: every status, signed or not,
// one server down, a secondary lagging, and a reply too big for UDP.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import * as packet from 'dns-packet';
import { startBind, freePort, type BindServer } from '../support/bind.js';
import { observeTlsa, servedByAll, goneFromAll } from '../../src/dns/observer.js';
import { query } from '../../src/dns/query.js';
import { DnsError } from '../../src/errors.js';
import type { TlsaRecord } from '../../src/tlsa/record.js';
import type { ServerAddress } from '../../src/dns/types.js';

const hex = (n = 32) => randomBytes(n).toString('hex');
const at = (port: number): ServerAddress => ({ host: '127.0.0.1', port });

describe('observeTlsa (real named: signed primary + secondary, unsigned zone)', () => {
  let signed: BindServer;
  let unsigned: BindServer;
  const name = (b: BindServer) => `_25._tcp.mail.${b.zone}`;
  const record: TlsaRecord = { usage: 3, selector: 1, matching: 1, data: hex() };
  before(async () => {
    const line = `_25._tcp.mail IN TLSA 3 1 1 ${record.data}`;
    [signed, unsigned] = await Promise.all([
      startBind({ ttl: 2, secondary: true, extraRecords: [line, 'mail IN A 127.0.0.1', 'child IN NS ns.child', 'ns.child IN A 127.0.0.9'] }),
      startBind({ ttl: 2, signed: false, zone: 'plain.test', extraRecords: [line] }),
    ]);
  });
  after(async () => Promise.all([signed?.stop(), unsigned?.stop()]));

  test('ok + signed at the primary and the secondary; same records as dig', async () => {
    const obs = await observeTlsa(name(signed), [at(signed.port), at(signed.secondaryPort!)]);
    assert.equal(obs.name, name(signed));
    assert.ok(Math.abs(obs.at - Date.now()) < 5000);
    assert.deepEqual(obs.answers.map((a) => a.server), [signed.address, signed.secondaryAddress]);
    for (const a of obs.answers) {
      assert.equal(a.status, 'ok');
      assert.equal(a.signed, true);
      assert.equal(a.ttl, 2);
      assert.deepEqual(a.records, [record]);
      assert.equal(a.zone, signed.zone, 'a signed answer shows its zone (the RRSIG signer)');
    }
    const dug = (await signed.dig(['+short', '+split=0', 'TLSA', name(signed)])).trim().toLowerCase();
    assert.equal(dug, `3 1 1 ${record.data}`);
    assert.equal(servedByAll(obs, record, { requireSigned: true }), true);
    assert.equal(servedByAll(obs, { ...record, data: hex() }), false);
    assert.equal(goneFromAll(obs, record), false);
  });

  test('an unsigned zone: ok but signed false, so requireSigned fails', async () => {
    const obs = await observeTlsa(name(unsigned), [at(unsigned.port)]);
    assert.equal(obs.answers[0]!.status, 'ok');
    assert.equal(obs.answers[0]!.signed, false);
    assert.equal(obs.answers[0]!.zone, unsigned.zone, "an unsigned answer shows its zone by named's NS set in authority");
    assert.equal(servedByAll(obs, record), true);
    assert.equal(servedByAll(obs, record, { requireSigned: true }), false);
  });

  test('nodata at a name with other types, nxdomain at a name that does not exist', async () => {
    const obs = await observeTlsa(`mail.${signed.zone}`, [at(signed.port)]);
    assert.equal(obs.answers[0]!.status, 'nodata');
    assert.equal(obs.answers[0]!.zone, signed.zone, 'NODATA shows its zone (the SOA in authority)');
    assert.match(await signed.dig(['TLSA', `mail.${signed.zone}`]), /status: NOERROR.*\n.*ANSWER: 0/);
    const none = await observeTlsa(`_25._tcp.nothing.${signed.zone}`, [at(signed.port)]);
    assert.equal(none.answers[0]!.status, 'nxdomain');
    assert.equal(none.answers[0]!.zone, signed.zone, 'NXDOMAIN shows its zone');
    assert.match(await signed.dig(['TLSA', `_25._tcp.nothing.${signed.zone}`]), /status: NXDOMAIN/);
    assert.equal(goneFromAll(none, record), true);
  });

  test('a name delegated away from the server is an error, not nodata', async () => {
    const obs = await observeTlsa(`_25._tcp.www.child.${signed.zone}`, [at(signed.port)]);
    assert.equal(obs.answers[0]!.status, 'error');
    assert.equal(obs.answers[0]!.zone, undefined, 'a referral shows no zone of this server');
    assert.match(obs.answers[0]!.error!, /is not authoritative for _25\._tcp\.www\.child\.example\.test\. \(no AA bit: a referral\)/);
  });

  test('one server down gives error for that server only', async () => {
    const down = await freePort();
    const obs = await observeTlsa(name(signed), [at(signed.port), at(down)], { timeoutMs: 500, retries: 1 });
    assert.equal(obs.answers[0]!.status, 'ok');
    assert.equal(obs.answers[1]!.status, 'error');
    assert.match(obs.answers[1]!.error!, new RegExp(`TLSA ${name(signed).replace(/\./g, '\\.')} at 127\\.0\\.0\\.1:${down} failed: connection refused`));
    assert.equal(servedByAll(obs, record), false);
    assert.equal(goneFromAll(obs, record), false);
  });

  test('a lagging secondary: the new record is at the primary only until it catches up', async () => {
    const fresh: TlsaRecord = { usage: 3, selector: 1, matching: 1, data: hex() };
    const servers = [at(signed.port), at(signed.secondaryPort!)];
    await signed.holdSecondary();
    await signed.nsupdate([`update add ${name(signed)} 2 IN TLSA 3 1 1 ${fresh.data}`]);
    const lagging = await observeTlsa(name(signed), servers);
    assert.equal(lagging.answers[0]!.records.length, 2);
    assert.deepEqual(lagging.answers[1]!.records, [record]);
    assert.equal(servedByAll(lagging, fresh), false);
    await signed.releaseSecondary();
    const caughtUp = await observeTlsa(name(signed), servers);
    assert.equal(servedByAll(caughtUp, fresh, { requireSigned: true }), true);
  });
});

describe('query (real named)', () => {
  let bind: BindServer;
  const big = `_443._tcp.big`;
  // Three 3 0 0 records of 700 bytes each: about 2.2 kB, more than the 1232-byte UDP buffer.
  const certs = [hex(700), hex(700), hex(700)];
  before(async () => {
    bind = await startBind({ ttl: 2, extraRecords: certs.map((c) => `${big} IN TLSA 3 0 0 ${c}`) });
  });
  after(async () => bind?.stop());

  test('a truncated UDP reply is asked again over TCP and comes back whole', async () => {
    const name = `${big}.${bind.zone}`;
    const udpOnly = await bind.dig(['+norec', '+dnssec', '+notcp', '+ignore', '+bufsize=1232', 'TLSA', name]);
    assert.match(udpOnly, /flags: qr aa tc/, 'named truncates this reply over UDP');
    const reply = await query(at(bind.port), name, 'TLSA', { dnssec: true });
    assert.equal(reply.flag_tc, false);
    const tlsa = reply.answers!.filter((a): a is packet.TlsaAnswer => a.type === 'TLSA');
    assert.deepEqual(tlsa.map((a) => a.data.certificate.toString('hex')).sort(), [...certs].sort());
    assert.ok(reply.answers!.some((a) => a.type === 'RRSIG'));
    const obs = await observeTlsa(name, [at(bind.port)]);
    assert.equal(obs.answers[0]!.records.length, 3);
    assert.equal(obs.answers[0]!.signed, true);
  });

  test('REFUSED for a zone the server does not serve, named in the error', async () => {
    await assert.rejects(query(at(bind.port), 'www.elsewhere.test', 'TLSA'), (e: unknown) => {
      assert.ok(e instanceof DnsError);
      assert.equal(e.rcode, 'REFUSED');
      assert.equal(e.message, `DNS query for TLSA www.elsewhere.test at ${bind.address} failed: REFUSED`);
      return true;
    });
  });

  test('a server that never answers times out after the tries; the id and question are matched', async () => {
    // A real UDP socket that answers with a wrong id, then a wrong question, then never right.
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    let seen = 0;
    sock.on('message', (msg, rinfo) => {
      seen++;
      const q = packet.decode(msg);
      const wrongId = packet.encode({ type: 'response', id: (q.id! + 1) % 65536, flags: 0, questions: q.questions });
      const wrongQ = packet.encode({ type: 'response', id: q.id, flags: 0, questions: [{ type: 'A', name: 'x.test' }] });
      sock.send(wrongId, rinfo.port, rinfo.address);
      sock.send(wrongQ, rinfo.port, rinfo.address);
    });
    try {
      const t0 = Date.now();
      await assert.rejects(query(at(sock.address().port), 'a.example.test', 'TLSA', { timeoutMs: 300, retries: 1 }), (e: unknown) => {
        assert.ok(e instanceof DnsError);
        assert.match(e.message, /failed: timed out after 300 ms x 2 tries$/);
        return true;
      });
      assert.equal(seen, 2);
      assert.ok(Date.now() - t0 >= 550);
    } finally {
      sock.close();
    }
  });
});
