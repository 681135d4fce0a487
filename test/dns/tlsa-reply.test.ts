// decodeTlsaReply (dns/tlsa-reply.ts) against dns-packet's full decode: on random replies that
// dns-packet encodes (every record type the observer meets and others, names in any case, every
// rcode), and on real named's replies (compressed names, RRSIGs, NSEC proofs, SOA in authority,
// NXDOMAIN, a CNAME, a delegation), every field the observer reads is what dns-packet reads; a
// malformed reply throws, as dns-packet does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import fc from 'fast-check';
import * as packet from 'dns-packet';
import { startBind, type BindServer } from '../support/bind.js';
import { decodeTlsaReply } from '../../src/dns/tlsa-reply.js';
import type { DnsReply } from '../../src/dns/query.js';

/** What the observer reads of a reply (observer.ts readAnswer, cname.ts). */
function read(r: DnsReply) {
  const rec = (a: packet.Answer) => {
    const d = (a as { data?: unknown }).data;
    const tlsa = d as packet.TlsaData;
    const sig = d as packet.RrsigData;
    const data =
      a.type === 'TLSA'
        ? { usage: tlsa.usage, selector: tlsa.selector, matchingType: tlsa.matchingType, certificate: tlsa.certificate.toString('hex') }
        : a.type === 'RRSIG'
          ? { typeCovered: sig.typeCovered, signersName: sig.signersName }
          : a.type === 'CNAME'
            ? d
            : undefined;
    return { name: a.name, type: a.type, ttl: (a as { ttl?: number }).ttl, data };
  };
  return { id: r.id, flag_aa: r.flag_aa, rcode: r.rcode, answers: (r.answers ?? []).map(rec), authorities: (r.authorities ?? []).map(rec) };
}

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const owner = fc.array(label, { minLength: 0, maxLength: 5 }).map((l) => (l.length === 0 ? '.' : l.join('.')));
const ttl = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const record: fc.Arbitrary<packet.Answer> = fc.oneof(
  fc.record({ type: fc.constant('TLSA' as const), name: owner, ttl, data: fc.record({ usage: fc.integer({ min: 0, max: 255 }), selector: fc.integer({ min: 0, max: 255 }), matchingType: fc.integer({ min: 0, max: 255 }), certificate: fc.uint8Array({ maxLength: 70 }).map((b) => Buffer.from(b)) }) }),
  fc.record({
    type: fc.constant('RRSIG' as const),
    name: owner,
    ttl,
    data: fc.record({ typeCovered: fc.constantFrom('TLSA', 'NS', 'SOA', 'A', 'NSEC'), algorithm: fc.constant(13), labels: fc.integer({ min: 0, max: 9 }), originalTTL: ttl, expiration: ttl, inception: ttl, keyTag: fc.integer({ min: 0, max: 65535 }), signersName: owner, signature: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)) }),
  }),
  fc.record({ type: fc.constant('CNAME' as const), name: owner, ttl, data: owner }),
  fc.record({ type: fc.constant('NS' as const), name: owner, ttl, data: owner }),
  fc.record({ type: fc.constant('SOA' as const), name: owner, ttl, data: fc.record({ mname: owner, rname: owner, serial: ttl, refresh: ttl, retry: ttl, expire: ttl, minimum: ttl }) }),
  fc.record({ type: fc.constant('A' as const), name: owner, ttl, data: fc.ipV4() }),
  fc.record({ type: fc.constant('TXT' as const), name: owner, ttl, data: fc.string({ maxLength: 20 }) }),
) as fc.Arbitrary<packet.Answer>;

const reply = fc.record({
  id: fc.integer({ min: 0, max: 65535 }),
  aa: fc.boolean(),
  rcode: fc.integer({ min: 0, max: 15 }),
  question: owner,
  answers: fc.array(record, { maxLength: 6 }),
  authorities: fc.array(record, { maxLength: 4 }),
  additional: fc.boolean(),
});

test('property: on random replies, what the observer reads is what dns-packet decodes', () => {
  fc.assert(
    fc.property(reply, (r) => {
      const buf = packet.encode({
        type: 'response',
        id: r.id,
        flags: (r.aa ? packet.AUTHORITATIVE_ANSWER : 0) | r.rcode,
        questions: [{ type: 'TLSA', name: r.question, class: 'IN' }],
        answers: r.answers,
        authorities: r.authorities,
        additionals: r.additional ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: packet.DNSSEC_OK } as packet.Answer] : [],
      });
      assert.deepEqual(read(decodeTlsaReply(buf)), read(packet.decode(buf) as DnsReply));
    }),
    { numRuns: 2000 },
  );
});

test('malformed replies throw: short, a record cut short, a pointer forward or to itself, a reserved label kind', () => {
  const ok = packet.encode({ type: 'response', id: 1, flags: packet.AUTHORITATIVE_ANSWER, questions: [{ type: 'TLSA', name: 'a.b', class: 'IN' }], answers: [{ type: 'TLSA', name: 'a.b', ttl: 5, data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, 1) } }] });
  const bad = [
    ok.subarray(0, 11),
    ok.subarray(0, ok.length - 10),
    Buffer.concat([ok.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 52, 0, 1])]), // a pointer to itself
    Buffer.concat([ok.subarray(0, 12), Buffer.from([0xc0, 0x20, 0, 52, 0, 1])]), // a pointer forward
    Buffer.concat([ok.subarray(0, 12), Buffer.from([0x40, 0, 0, 52, 0, 1])]), // a reserved label kind
  ];
  // (dns-packet reads a record cut short as a shorter one; here it is an error, as a server that
  // answers so is one that did not answer.)
  for (const b of bad) assert.throws(() => decodeTlsaReply(b), /Cannot decode/, b.toString('hex'));
});

describe('on real named replies (signed zone: compressed names, RRSIGs, NSEC, SOA, NS)', () => {
  let bind: BindServer;
  const data = randomBytes(32).toString('hex');
  before(async () => {
    bind = await startBind({ ttl: 2, extraRecords: [`_25._tcp.mail IN TLSA 3 1 1 ${data}`, `_25._tcp.mail IN TLSA 2 1 1 ${data}`, 'mail IN A 127.0.0.1', '_465._tcp.mail IN CNAME _25._tcp.mail', 'child IN NS ns.child', 'ns.child IN A 127.0.0.9'] });
  });
  after(() => bind?.stop());

  /** The raw reply of named to a TLSA question (DO set). */
  async function raw(name: string): Promise<Buffer> {
    const q = packet.encode({ type: 'query', id: 7, flags: 0, questions: [{ type: 'TLSA', name, class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: packet.DNSSEC_OK } as packet.Answer] });
    const s = createSocket('udp4');
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no reply')), 3000);
        s.on('message', (m) => (clearTimeout(timer), resolve(m)));
        s.send(q, bind.port, '127.0.0.1');
      });
    } finally {
      s.close();
    }
  }

  test('records, a CNAME, NODATA, NXDOMAIN, a delegation: the same as dns-packet reads', async () => {
    const zone = bind.zone.replace(/\.$/, '');
    for (const n of ['_25._tcp.mail', '_25._TCP.MAIL', '_465._tcp.mail', 'mail', '_26._tcp.mail', 'nowhere', '_25._tcp.x.child']) {
      const buf = await raw(`${n}.${zone}`);
      const lean = read(decodeTlsaReply(buf));
      assert.deepEqual(lean, read(packet.decode(buf) as DnsReply), n);
      assert.ok(lean.answers.length + lean.authorities.length > 0, `${n}: named said something`);
    }
    const records = read(decodeTlsaReply(await raw(`_25._tcp.mail.${zone}`)));
    assert.deepEqual(records.answers.filter((a) => a.type === 'TLSA').map((a) => (a.data as { certificate: string }).certificate), [data, data]);
    assert.ok(records.answers.some((a) => a.type === 'RRSIG' && (a.data as { typeCovered: string }).typeCovered === 'TLSA'));
  });
});
