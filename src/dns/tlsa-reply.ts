// The reply to a TLSA question, decoded for what the observer reads (observer.ts readAnswer, cname.ts)
// and nothing else: the header's AA bit and rcode; each answer and authority record's owner, type
// and TTL; the data of TLSA, RRSIG (type covered, signer) and CNAME records. dns-packet's decode
// builds every record in full, additional section and signatures included: a run over a thousand
// names spent more time there than in the rest of its DNS work. The fields it does build are built
// as dns-packet builds them (test/dns/tlsa-reply.test.ts compares the two on random replies).
import * as packet from 'dns-packet';
import type { DnsReply } from './query.js';

const TYPE = { TLSA: 52, RRSIG: 46, CNAME: 5 } as const;

/** Types by number, as dns-packet names them (its own table, through an encode of each). */
const typeNames = new Map<number, string>();
const typeName = (n: number): string => {
  let name = typeNames.get(n);
  if (name === undefined) typeNames.set(n, (name = typeString(n)));
  return name;
};

function typeString(n: number): string {
  // dns-packet exports no name table: read it back from a question of that type.
  const q = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, n >> 8, n & 0xff, 0, 1]);
  return (packet.decode(q).questions![0]!.type as string) ?? `UNKNOWN_${n}`;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

class Reader {
  constructor(readonly buf: Buffer) {}

  need(at: number, n: number): void {
    if (at + n > this.buf.length) throw new Error('Cannot decode reply (buffer overflow)');
  }

  /** The name at `at` and where the record goes on after it (a pointer ends it). */
  name(at: number): { name: string; end: number } {
    const buf = this.buf;
    const labels: string[] = [];
    let total = 0;
    let end = -1;
    let floor = at; // a pointer may only go back, before every label read so far
    for (;;) {
      this.need(at, 1);
      const len = buf[at]!;
      if (len === 0) {
        at += 1;
        break;
      }
      if ((len & 0xc0) === 0) {
        this.need(at + 1, len);
        total += len + 1;
        if (total > 254) throw new Error('Cannot decode name (name too long)');
        labels.push(buf.toString('utf-8', at + 1, at + 1 + len));
        at += 1 + len;
      } else if ((len & 0xc0) === 0xc0) {
        this.need(at, 2);
        const to = buf.readUInt16BE(at) - 0xc000;
        if (to >= floor) throw new Error('Cannot decode name (bad pointer)');
        if (end < 0) end = at + 2;
        at = floor = to;
      } else throw new Error('Cannot decode name (bad label)');
    }
    return { name: labels.length === 0 ? '.' : labels.join('.'), end: end < 0 ? at : end };
  }
}

type Record = { name: string; type: string; ttl: number; data?: unknown };

/** Decodes a reply to a TLSA question (see above); throws on a malformed message, as dns-packet does. */
export function decodeTlsaReply(buf: Buffer): DnsReply {
  const r = new Reader(buf);
  r.need(0, 12);
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8].map((o) => buf.readUInt16BE(o)) as [number, number, number];
  let at = 12;
  for (let q = 0; q < counts[0]; q++) {
    at = r.name(at).end;
    r.need(at, 4);
    at += 4;
  }
  const section = (n: number): Record[] => {
    const out: Record[] = [];
    for (let i = 0; i < n; i++) {
      const owner = r.name(at);
      at = owner.end;
      r.need(at, 10);
      const type = buf.readUInt16BE(at);
      const ttl = buf.readUInt32BE(at + 4);
      const length = buf.readUInt16BE(at + 8);
      const start = at + 10;
      r.need(start, length);
      const rec: Record = { name: owner.name, type: typeName(type), ttl };
      if (type === TYPE.TLSA) {
        r.need(start, 3);
        rec.data = { usage: buf[start]!, selector: buf[start + 1]!, matchingType: buf[start + 2]!, certificate: buf.subarray(start + 3, start + length) };
      } else if (type === TYPE.RRSIG) {
        r.need(start, 18);
        rec.data = { typeCovered: typeName(buf.readUInt16BE(start)), signersName: r.name(start + 18).name };
      } else if (type === TYPE.CNAME) rec.data = r.name(start).name;
      out.push(rec);
      at = start + length;
    }
    return out;
  };
  const answers = section(counts[1]);
  const authorities = section(counts[2]);
  return {
    id: buf.readUInt16BE(0),
    type: flags & 0x8000 ? 'response' : 'query',
    flags: flags & 0x7fff,
    flag_aa: ((flags >> 10) & 1) === 1,
    rcode: RCODES[flags & 0xf] ?? `RCODE_${flags & 0xf}`,
    answers,
    authorities,
  } as unknown as DnsReply;
}
