// state.json is read back on every run: valid JSON of the wrong shape (a hand edit, a tool that
// rewrote it, an older version) must be one error naming the file and the JSON path, for that
// service only, not a crash (exit 70) that stops every other service. Values that later reach
// nsupdate, a file path or a command (names, record data, the id) are checked as a config's are.
import { ID_PATTERN } from '../config/fields.js';
import { checkName } from '../tlsa/name.js';
import { LINEAGE_KEY_TYPES } from '../config/types.js';

/**
 * A check returns undefined, or the problem as a function of where the value sits: the JSON path
 * is built only for the one value that is wrong, not for every value of every file that is right.
 */
type Problem = (path: string) => string;
type Check = (v: unknown) => Problem | undefined;

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);
const is = (want: string, ok: (v: unknown) => boolean): Check => (v) => (ok(v) ? undefined : (p) => `${p} must be ${want}, not ${typeName(v)}`);

const str = is('a string', (v) => typeof v === 'string');
const num = is('a number', (v) => typeof v === 'number' && Number.isFinite(v));
const bool = is('true or false', (v) => typeof v === 'boolean');
const int = (lo: number, hi: number) => is(`an integer ${lo}-${hi}`, (v) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi);
const hex = is('lower-case hex', (v) => typeof v === 'string' && /^(?:[0-9a-f]{2})+$/.test(v));
const id = is('an id of a-z 0-9 . _ - (1-64)', (v) => typeof v === 'string' && ID_PATTERN.test(v));
const dnsName: Check = (v) => {
  const notStr = str(v);
  if (notStr) return notStr;
  try {
    checkName(v as string);
    return undefined;
  } catch (err) {
    return (p: string) => `${p}: ${(err as Error).message}`;
  }
};

// Loops, not lists of closures: every state file is checked on every run, a thousand per timer run.
const list = (of: Check): Check => (v) => {
  if (!Array.isArray(v)) return (p) => `${p} must be a list, not ${typeName(v)}`;
  for (let i = 0; i < v.length; i++) {
    const problem = of(v[i]);
    if (problem) return (p) => problem(`${p}[${i}]`);
  }
  return undefined;
};
const map = (of: Check): Check => (v) => {
  if (!isObj(v)) return (p) => `${p} must be an object, not ${typeName(v)}`;
  for (const k in v) {
    const problem = of(v[k]);
    if (problem) return (p) => problem(`${p}[${JSON.stringify(k)}]`);
  }
  return undefined;
};
const opt = (c: Check): Check => (v) => (v === undefined ? undefined : c(v));
const shape = (fields: Record<string, Check>): Check => {
  // Index loops: destructuring each [key, check] pair allocates, once per field per file.
  const keys = Object.keys(fields);
  const checks = Object.values(fields);
  return (v) => {
    if (!isObj(v)) return (p) => `${p || 'the file'} must be an object, not ${typeName(v)}`;
    for (let i = 0; i < keys.length; i++) {
      const problem = checks[i]!(v[keys[i]!]);
      if (problem) {
        const k = keys[i]!;
        return (p) => problem(p === '' ? k : `${p}.${k}`);
      }
    }
    return undefined;
  };
};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const params = { usage: int(0, 3), selector: int(0, 1), matching: int(0, 2) };
const record = shape({ ...params, data: hex });
const validity = { notBefore: opt(num), notAfter: opt(num) };
const chainRef = shape({ id: str, records: list(record), ...validity });

const source = shape({ lineage: opt(str), cert: opt(str), chain: opt(str), fullchain: opt(str), key: opt(str) });
const lineageKeyType = is(LINEAGE_KEY_TYPES.join(' or '), (v) => (LINEAGE_KEY_TYPES as readonly unknown[]).includes(v));

const settings = shape({
  id,
  tlsaNames: list(dnsName),
  records: list(shape(params)),
  ttl: int(0, 2_147_483_647),
  dns: shape({ backend: is('emit, nsupdate, exec or powerdns', (v) => ['emit', 'nsupdate', 'exec', 'powerdns'].includes(v as string)), authServers: list(shape({ host: str, port: int(1, 65535) })), emitFormat: str, server: opt(shape({ host: str, port: int(1, 65535) })), tsigKeyFile: opt(str), zone: opt(dnsName), command: opt(str), apiUrl: opt(str), apiKeyFile: opt(str) }),
  extraCaFiles: list(str),
  source,
  lineages: opt(list(shape({ keyType: lineageKeyType, source, activateDir: opt(str) }))),
  lineage: opt(lineageKeyType),
  activateDir: opt(str),
  reload: opt(str),
  nextKeyFile: opt(str),
  connect: opt(str),
  starttls: opt(str),
});

const rollover = shape({
  inService: opt(chainRef),
  pending: opt(shape({ id: str, records: list(record), ...validity, immediate: opt(bool) })),
  waiting: opt(list(chainRef)),
  reloadDue: opt(bool),
  next: opt(chainRef),
  retiring: opt(chainRef),
  owned: list(shape({ name: dnsName, record, ttl: num, addedAt: num })),
  seen: map(map(shape({ since: num, readyAt: num }))),
  names: map(shape({ maxTtl: num, empty: bool })),
});

const serviceFile = shape({
  version: is('1', (v) => v === 1),
  id,
  settings,
  rollover,
  // Added with lineages (issue 11): older files have none.
  lineages: opt(map(rollover)),
  chains: map(shape({ id: str, dir: str, subject: str, issuer: str, notAfter: str, keyType: str, spki: hex, addedAt: num })),
  nextKeyFile: opt(str),
  // Added with the renewal check's stat skip (issue 10): older files have none.
  certSeen: opt(shape({ stamp: is('a stat stamp (dev:ino:size:mtime:ctime)', (v) => typeof v === 'string' && /^[0-9]+(?::[0-9]+){4}$/.test(v)), leafId: hex })),
  history: list(shape({ at: num, what: str })),
  updatedAt: num,
});

/**
 * The first problem with a parsed state file, as "JSON.path what is wrong", or undefined. The
 * file's folder names the service: an id that differs (or escapes the folder: "../../x") is refused.
 */
export function stateProblem(data: unknown, folderId: string): string | undefined {
  if (isObj(data) && data.version !== undefined && data.version !== 1) return `version ${JSON.stringify(data.version)} is not a version this dane-hook reads (1)`;
  const problem = serviceFile(data);
  if (problem) return problem('');
  const d = data as { id: string; settings: { id: string } };
  if (d.id !== folderId) return `id ${JSON.stringify(d.id)} is not the id of its folder (${folderId})`;
  if (d.settings.id !== folderId) return `settings.id ${JSON.stringify(d.settings.id)} is not the id of its folder (${folderId})`;
  return undefined;
}
