// query.ts's reply matching (a pure function over wire bytes): a reply is ours when it is a
// response with our id and our question, the name in any case, and never otherwise. And the
// question written without dns-packet: the same bytes as dns-packet writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as packet from 'dns-packet';
import fc from 'fast-check';
import { encodeRequest, matches } from '../../src/dns/query.js';

const ask = (id: number, name: string, type: packet.RecordType = 'TLSA'): Buffer =>
  packet.encode({ type: 'query', id, questions: [{ type, name, class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: packet.DNSSEC_OK } as packet.Answer] });

const reply = (id: number, name: string, type: packet.RecordType = 'TLSA', flags = 0): Buffer =>
  packet.encode({ type: 'response', id, flags, questions: [{ type, name, class: 'IN' }], answers: [{ type: 'A', name, ttl: 60, data: '192.0.2.1' }] });

const label = fc.stringMatching(/^[a-z0-9_][a-z0-9_-]{0,20}$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
const flipCase = (name: string, flips: boolean[]) => [...name].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join('');

test('a reply with our id and question matches, whatever the case of the name in it', () => {
  fc.assert(
    fc.property(dnsName, fc.integer({ min: 0, max: 65535 }), fc.array(fc.boolean(), { minLength: 1 }), (name, id, flips) => {
      assert.ok(matches(reply(id, flipCase(name, flips)), ask(id, name)));
    }),
  );
});

test('another id, another name, another type, a query instead of a response, no question: no match', () => {
  fc.assert(
    fc.property(dnsName, dnsName, fc.integer({ min: 0, max: 65534 }), (name, other, id) => {
      const sent = ask(id, name);
      assert.equal(matches(reply(id + 1, name), sent), false);
      assert.equal(matches(reply(id, name, 'A'), sent), false);
      assert.equal(matches(ask(id, name), sent), false, 'our own query read back is not an answer');
      if (other.toLowerCase() !== name.toLowerCase()) assert.equal(matches(reply(id, other), sent), false);
      // No question, but an answer whose owner, type and class sit where our question would.
      const noQuestion = packet.encode({ type: 'response', id, questions: [], answers: [{ type: 'TLSA', name, ttl: 60, data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32) } } as unknown as packet.Answer] });
      assert.equal(matches(noQuestion, sent), false, 'a reply without a question is not ours');
    }),
  );
});

test('a name differing only in a non-letter byte does not match (case folding is for letters only)', () => {
  const sent = ask(7, 'a-b.example');
  // '-' (0x2d) and 0x0d differ by 0x20 like a case pair would: not the same name.
  const bad = Buffer.from(reply(7, 'a-b.example'));
  bad[12 + 2] = 0x0d;
  assert.equal(matches(bad, sent), false);
  // A label length octet must not fold either: the label "a-b" under a length of 3 vs 35.
  const len = Buffer.from(reply(7, 'a-b.example'));
  len[12] = len[12]! | 0x20;
  assert.equal(matches(len, sent), false);
});

test('a truncated reply with only its header and question matches (it then goes again over TCP)', () => {
  const sent = ask(99, 'mx.example');
  const full = reply(99, 'mx.example', 'TLSA', 0x0200);
  const questionEnd = 12 + 'mx.example'.length + 2 + 4;
  const cut = Buffer.from(full.subarray(0, questionEnd));
  cut.writeUInt16BE(0, 6); // no answers in what is left
  assert.ok(matches(cut, sent));
  assert.equal(matches(cut.subarray(0, questionEnd - 1), sent), false, 'a question cut short is not a match');
  // Cut down to its header: still ours when TC is set (the question then goes again over TCP).
  assert.ok(matches(cut.subarray(0, 12), sent));
  const noTc = Buffer.from(cut.subarray(0, 12));
  noTc[2] = noTc[2]! & ~0x02;
  assert.equal(matches(noTc, sent), false, 'a bare header without TC is not an answer');
});

test('property: a TLSA question written directly is the bytes dns-packet writes for it', () => {
  const anyLabel = fc.stringMatching(/^[A-Za-z0-9_-]{1,63}$/);
  const name = fc.tuple(fc.array(anyLabel, { minLength: 1, maxLength: 4 }), fc.boolean()).map(([l, dot]) => `${l.join('.')}${dot ? '.' : ''}`).filter((n) => n.length <= 253);
  const options = fc.record({ dnssec: fc.option(fc.boolean(), { nil: undefined }), recursion: fc.option(fc.boolean(), { nil: undefined }), udpSize: fc.option(fc.integer({ min: 512, max: 65535 }), { nil: undefined }) });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65535 }), name, options, (id, n, o) => {
      const viaPacket = packet.encode({
        type: 'query',
        id,
        flags: o.recursion ? packet.RECURSION_DESIRED : 0,
        questions: [{ type: 'TLSA', name: n.replace(/\.$/, ''), class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: o.udpSize ?? 1232, flags: o.dnssec ? packet.DNSSEC_OK : 0 } as packet.Answer],
      });
      assert.deepEqual(encodeRequest(id, n, 'TLSA', o), viaPacket);
    }),
    { numRuns: 2000 },
  );
  // Other questions, and names that are not plain, go through dns-packet as before.
  assert.deepEqual(encodeRequest(9, 'a.b', 'SOA', {}), packet.encode({ type: 'query', id: 9, flags: 0, questions: [{ type: 'SOA', name: 'a.b', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as packet.Answer] }));
});
