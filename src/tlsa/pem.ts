// PEM (RFC 7468) blocks out of text that may hold other text around them, as `openssl x509 -text`
// writes, and CRLF line ends. Strict about what is inside a block: a truncated or mangled block is
// an error, never a silently shorter certificate.

export interface PemBlock {
  label: string;
  der: Buffer;
  /** RFC 1421 headers such as "Proc-Type: 4,ENCRYPTED" (traditional encrypted OpenSSL keys). */
  headers: string[];
}

/** Thrown on a malformed block; the loader adds the file name. */
export class PemError extends Error {}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----\s*$/;
const END = /^-----END ([A-Z0-9 ]+)-----\s*$/;

export const looksLikePem = (bytes: Buffer): boolean => bytes.includes('-----BEGIN ');

/** Every block in file order. Throws PemError for BEGIN without END, bad base64, empty blocks. */
export function pemBlocks(text: string): PemBlock[] {
  const lines = text.split(/\r?\n|\r/);
  const blocks: PemBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const begin = BEGIN.exec(lines[i]!.trim());
    if (!begin) continue;
    const label = begin[1]!;
    const body: string[] = [];
    const headers: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!.trim();
      const end = END.exec(line);
      if (end) {
        if (end[1] !== label) throw new PemError(`PEM block "${label}" ends with "END ${end[1]}"`);
        break;
      }
      if (BEGIN.test(line)) throw new PemError(`PEM block "${label}" has no END line before the next BEGIN (truncated?)`);
      if (body.length === 0 && /^[A-Za-z-]+:/.test(line)) headers.push(line);
      else if (line !== '' || body.length > 0) body.push(line);
    }
    if (j === lines.length) throw new PemError(`PEM block "${label}" has no END line (truncated?)`);
    blocks.push({ label, der: decodeBase64(label, body.join('')), headers });
    i = j;
  }
  return blocks;
}

function decodeBase64(label: string, b64: string): Buffer {
  if (b64.length === 0) throw new PemError(`PEM block "${label}" is empty`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new PemError(`PEM block "${label}" is not valid base64`);
  }
  return Buffer.from(b64, 'base64');
}

/** DER to PEM text with 64-character lines. */
export function derToPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
