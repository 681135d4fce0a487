// TSIG key files. A file is checked when settings are read, so a wrong file fails at once (exit 2)
// instead of at the next renewal. Its content (the secret) is never printed.
//
// Accepted: tsig-keygen output (any algorithm, a key name with or without its trailing dot), the
// whole output of ddns-confgen and rndc-confgen (comments, update-policy, options and controls
// around the key statement), a named.conf fragment holding one key, and dnssec-keygen's K*.key /
// K*.private pair. nsupdate -k reads only a file that holds a key statement and nothing else (it
// stops at "unknown option 'update-policy'" or "'key' redefined"), so keyForNsupdate hands nsupdate
// the one key on standard input instead when the file holds more than that: never on the command
// line, where `ps` would show it.
import { readBounded } from '../io/read-bounded.js';
import { UserError } from '../errors.js';

export interface TsigKey {
  name: string;
  /** Lower-case, as nsupdate's `key ALG:NAME SECRET` takes it (hmac-md5.sig-alg.reg.int -> hmac-md5). */
  algorithm: string;
  secret: string;
}

/** The HMAC algorithms BIND 9 signs with (RFC 8945 6, RFC 4635). */
const ALGORITHMS = new Set(['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']);
const KEY_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_.])?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** dnssec-keygen's HMAC key pair (K<name>+<alg>+<id>.key / .private): nsupdate -k reads either. */
const DNSSEC_KEYGEN = [/^\S+\s+(?:\d+\s+)?IN\s+KEY\s+\d+/m, /^Private-key-format:/m];
const EXPECTED = 'expected tsig-keygen output, key "NAME" { algorithm hmac-sha256; secret "..."; };';

type Token = { kind: 'word' | 'string' | 'punct'; text: string };

/** named.conf tokens: words, quoted strings, { } ;, with #, // and C comments dropped (not inside strings: base64 holds '/'). */
function tokens(text: string): Token[] {
  const out: Token[] = [];
  const re = /\s+|#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|"([^"]*)"?|([{};])|([^\s{};"#/]+|\/)/g;
  for (let m = re.exec(text); m !== null && m[0] !== ''; m = re.exec(text)) {
    if (m[1] !== undefined) out.push({ kind: 'string', text: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'punct', text: m[2] });
    else if (m[3] !== undefined) out.push({ kind: 'word', text: m[3] });
  }
  return out;
}

interface Found {
  keys: { name: string; fields: Map<string, Token> }[];
  /** True when the file holds key statements and nothing else (what nsupdate -k reads). */
  onlyKeys: boolean;
}

/** True when a `key NAME {` statement starts at `i`. */
const keyStarts = (toks: Token[], i: number): boolean =>
  toks[i]?.kind === 'word' && toks[i]!.text.toLowerCase() === 'key' && toks[i + 1] !== undefined && toks[i + 1]!.kind !== 'punct' && toks[i + 2]?.text === '{';

/** The top-level `key NAME { ... };` statements; every other statement is skipped whole. */
function keyStatements(toks: Token[]): Found {
  const keys: Found['keys'] = [];
  let onlyKeys = true;
  let i = 0;
  while (i < toks.length) {
    const name = toks[i + 1];
    if (name && keyStarts(toks, i)) {
      const fields = new Map<string, Token>();
      let j = i + 3;
      while (j < toks.length && toks[j]!.text !== '}') {
        const [k, v, end] = [toks[j]!, toks[j + 1], toks[j + 2]];
        if (k.kind === 'word' && v && v.kind !== 'punct' && end?.text === ';') {
          fields.set(k.text.toLowerCase(), v);
          j += 3;
        } else j++;
      }
      keys.push({ name: name.text, fields });
      i = j + 1;
      if (toks[i]?.text === ';') i++;
      continue;
    }
    onlyKeys = false;
    i = skipStatement(toks, i);
  }
  return { keys, onlyKeys };
}

/**
 * Index after the statement starting at `i`: its `;` at depth 0. A line with no `;` (ddns-confgen
 * prints `nsupdate -k <keyfile>`) ends where a key statement starts.
 */
function skipStatement(toks: Token[], i: number): number {
  let depth = 0;
  for (let j = i; j < toks.length; j++) {
    const t = toks[j]!.text;
    if (depth === 0 && j > i && keyStarts(toks, j)) return j;
    if (toks[j]!.kind !== 'punct') continue;
    if (t === '{') depth++;
    else if (t === '}') depth = Math.max(0, depth - 1);
    else if (t === ';' && depth === 0) return j + 1;
  }
  return toks.length;
}

/** A key statement made usable, or a one-line reason naming the key (never its secret). */
function checkKey(k: Found['keys'][number], where: string): TsigKey {
  const named = `${where}: key ${JSON.stringify(k.name)}`;
  if (!KEY_NAME.test(k.name) || k.name.length > 254) throw new UserError(`${named} is not a valid key name (letters, digits, '.', '-', '_')`);
  const alg = k.fields.get('algorithm')?.text.toLowerCase().replace(/\.sig-alg\.reg\.int\.?$/, '');
  if (alg === undefined) throw new UserError(`${named} has no algorithm`);
  if (!ALGORITHMS.has(alg)) throw new UserError(`${named} has algorithm ${JSON.stringify(alg)}: use one of ${[...ALGORITHMS].join(', ')}`);
  const secret = k.fields.get('secret');
  if (secret === undefined) throw new UserError(`${named} has no secret`);
  const b64 = secret.text.replace(/\s+/g, '');
  if (b64 === '' || !BASE64.test(b64)) throw new UserError(`${named}: its secret is not base64`);
  return { name: k.name, algorithm: alg, secret: b64 };
}

type Parsed = { form: 'dnssec-keygen' } | { form: 'key'; key: TsigKey; onlyKeys: boolean };

function parseKeyFile(text: string, where: string): Parsed {
  const found = keyStatements(tokens(text));
  if (found.keys.length === 0) {
    if (DNSSEC_KEYGEN.some((re) => re.test(text))) return { form: 'dnssec-keygen' };
    throw new UserError(`${where} is not a TSIG key file: ${EXPECTED}`);
  }
  if (found.keys.length > 1) {
    const names = found.keys.map((k) => JSON.stringify(k.name)).join(', ');
    throw new UserError(`${where} holds ${found.keys.length} keys (${names}): nsupdate signs with one, so give a file with only the key the server grants TLSA updates`);
  }
  return { form: 'key', key: checkKey(found.keys[0]!, where), onlyKeys: found.onlyKeys };
}

const readKeyText = (path: string, what: string): string => readBounded(path, { what: `${what} ${path}` }).toString('utf8');

/** Checks the file holds exactly one usable key; returns the path. One-line UserError otherwise. */
export function checkTsigKeyFile(path: string, what = 'TSIG key file'): string {
  // Bounded, and never a device or FIFO (a FIFO with no writer would hang the hook).
  parseKeyFile(readKeyText(path, what), `${what} ${path}`);
  return path;
}

/**
 * How nsupdate gets the key: `-k FILE` when nsupdate reads the file as it is (tsig-keygen output,
 * dnssec-keygen pairs, and any file this parser cannot judge, so nsupdate's own error stands),
 * else a `key ALG:NAME SECRET` line to put first in the script on standard input.
 */
export function keyForNsupdate(path: string): { args: string[]; scriptHead: string } {
  let parsed: Parsed;
  try {
    parsed = parseKeyFile(readKeyText(path, 'TSIG key file'), `TSIG key file ${path}`);
  } catch {
    return { args: ['-k', path], scriptHead: '' };
  }
  if (parsed.form === 'dnssec-keygen' || parsed.onlyKeys) return { args: ['-k', path], scriptHead: '' };
  const { algorithm, name, secret } = parsed.key;
  return { args: [], scriptHead: `key ${algorithm}:${name} ${secret}\n` };
}
