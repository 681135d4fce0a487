// A minimal DER reader: tag, length and the exact byte offsets of each element. Offsets are the
// point: selector 1 hashes the SubjectPublicKeyInfo exactly as it stands in the certificate, and
// slicing the original bytes is the only way to be sure of that (node-forge's asn1 decodes to a
// tree without offsets; re-encoding could normalise what it read). It is also far lighter to load.

/** One element: where it starts, where its contents start, and where it ends (exclusive). */
export interface Tlv {
  tag: number;
  start: number;
  body: number;
  end: number;
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
} as const;

/** Thrown on malformed DER; the loader turns it into a UserError naming the file. */
export class DerError extends Error {}

/** Reads the element at `at`, which must end at or before `limit`. */
export function readTlv(buf: Buffer, at = 0, limit = buf.length): Tlv {
  if (at + 2 > limit) throw new DerError(`truncated element at byte ${at}`);
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at byte ${at} (not used in certificates or keys)`);
  let pos = at + 1;
  const first = buf[pos++]!;
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0) throw new DerError(`indefinite length at byte ${at} (BER, not DER)`);
    if (count > 4) throw new DerError(`length of ${count} octets at byte ${at}`);
    if (pos + count > limit) throw new DerError(`truncated length at byte ${at}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
  }
  if (pos + length > limit) throw new DerError(`element at byte ${at} runs ${pos + length - limit} bytes past its end`);
  return { tag, start: at, body: pos, end: pos + length };
}

/** The elements inside a constructed element, in order; they must fill it exactly. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

export const bytesOf = (buf: Buffer, t: Tlv): Buffer => buf.subarray(t.start, t.end);

/** Dotted text of an OBJECT IDENTIFIER element. */
export function oidText(buf: Buffer, t: Tlv): string {
  if (t.tag !== TAG.OID || t.end === t.body) throw new DerError(`expected an OBJECT IDENTIFIER at byte ${t.start}`);
  const arcs: number[] = [];
  let value = 0;
  for (let i = t.body; i < t.end; i++) {
    value = value * 128 + (buf[i]! & 0x7f);
    if (!(buf[i]! & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  const head = arcs.shift() ?? 0;
  const first = head < 40 ? 0 : head < 80 ? 1 : 2;
  return [first, head - first * 40, ...arcs].join('.');
}
