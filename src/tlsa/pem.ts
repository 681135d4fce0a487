// PEM (RFC 7468) blocks out of text that may hold other text around them, as `openssl x509 -text`
// writes, and CRLF line ends. As strict as OpenSSL's PEM reader (crypto/pem/pem_lib.c, checked
// against `openssl x509`/`openssl pkey` 3.0): OpenSSL silently skips a block it cannot read and
// takes the next one, so Postfix would serve the second certificate of a bundle while we hashed
// the first. Any block OpenSSL would not read is therefore an error naming the block, never
// skipped and never read more leniently than OpenSSL does:
// - BEGIN and END lines start in column 0; only whitespace may follow their closing dashes;
// - the base64 may hold spaces and tabs (OpenSSL skips them), but no blank line: OpenSSL takes
//   a blank line as the end of RFC 1421 headers, so only one right after BEGIN (or after
//   headers) is allowed.

export interface PemBlock {
  label: string;
  der: Buffer;
  /** RFC 1421 headers such as "Proc-Type: 4,ENCRYPTED" (traditional encrypted OpenSSL keys). */
  headers: string[];
}

/** Thrown on a malformed block; the loader adds the file name. */
export class PemError extends Error {}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----[ \t]*$/;
const END = /^-----END ([^-]*)-----[ \t]*$/;

export const looksLikePem = (bytes: Buffer): boolean => bytes.includes('-----BEGIN ');

/** Every block in file order. Throws PemError naming the block for anything OpenSSL would not read. */
export function pemBlocks(text: string): PemBlock[] {
  const lines = text.split(/\r?\n|\r/);
  const blocks: PemBlock[] = [];
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (!raw.includes('-----BEGIN')) continue;
    n++;
    const begin = BEGIN.exec(raw);
    if (!begin) {
      const why = /^\s/.test(raw) ? 'its BEGIN line is indented' : /^-----BEGIN /.test(raw) ? 'its BEGIN line is malformed (text after the dashes?)' : 'its BEGIN line does not start the line';
      throw new PemError(`PEM block ${n}: ${why}: openssl skips such a block (and would use the next one)`);
    }
    const label = begin[1]!;
    const where = `PEM block ${n} (${label})`;
    const end = blockEnd(lines, i + 1, where, label);
    blocks.push(blockBody(lines.slice(i + 1, end), where, label));
    i = end;
  }
  return blocks;
}

/** Index of the END line for a block whose body starts at `from`. */
function blockEnd(lines: string[], from: number, where: string, label: string): number {
  for (let j = from; j < lines.length; j++) {
    const line = lines[j]!;
    const end = END.exec(line);
    if (end) {
      if (end[1] !== label) throw new PemError(`${where} ends with "END ${end[1]}"`);
      return j;
    }
    if (/^\s+-----END /.test(line)) throw new PemError(`${where}: its END line is indented: openssl does not read the block`);
    if (line.includes('-----BEGIN')) throw new PemError(`${where} has no END line before the next BEGIN (truncated?)`);
  }
  throw new PemError(`${where} has no END line (truncated?)`);
}

/** Headers (before the one blank line OpenSSL allows) and the base64 after them. */
function blockBody(body: string[], where: string, label: string): PemBlock {
  const trimmed = body.map((l) => l.replace(/[ \t]+$/, ''));
  const blanks = trimmed.flatMap((l, k) => (l === '' ? [k] : []));
  if (blanks.length > 1 || (blanks.length === 1 && !trimmed.slice(0, blanks[0]).every((l) => /^[A-Za-z-]+: ?\S/.test(l)))) {
    throw new PemError(`${where} has a blank line inside its base64: openssl does not read the block`);
  }
  const headers = blanks.length === 1 ? trimmed.slice(0, blanks[0]) : [];
  if (headers.length > 0 && !headers[0]!.startsWith('Proc-Type:')) throw new PemError(`${where} has headers that do not start with Proc-Type: openssl does not read the block`);
  const data = blanks.length === 1 ? trimmed.slice(blanks[0]! + 1) : trimmed;
  return { label, der: decodeBase64(where, data.join('').replace(/[ \t]/g, '')), headers };
}

function decodeBase64(where: string, b64: string): Buffer {
  if (b64.length === 0) throw new PemError(`${where} is empty`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new PemError(`${where} is not valid base64`);
  }
  return Buffer.from(b64, 'base64');
}

/** DER to PEM text with 64-character lines. */
export function derToPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
