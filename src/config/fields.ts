// Reading one object of the config (or the flags shaped like one) into typed, checked fields.
// Nothing is required here and no defaults are applied: a service may get its fields from the
// config file, the defaults section and flags, and is completed in service.ts.
import { readBounded } from '../io/read-bounded.js';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { checkFile } from '../acme/files.js';
import { parseServer } from '../dns/address.js';
import { checkTsigKeyFile } from '../dns/tsig.js';
import { BACKEND_NAMES, EMIT_FORMATS, type ServerAddress } from '../dns/types.js';
import { STARTTLS_PROTOCOLS } from '../tls/starttls.js';
import { checkName, checkTtl, parseOwner } from '../tlsa/name.js';
import { paramsText, parseParams, type TlsaParams } from '../tlsa/record.js';
import { attempt, checkKeys, fail, isObject, type Ctx } from './context.js';
import { DNS_KEYS, LINEAGE_KEYS } from './flags.js';
import { LINEAGE_KEY_TYPES, type BackendName, type CertSource, type EmitFormat, type LineageSettings, type ServiceSettings } from './types.js';

export const DEFAULTS_KEYS = ['ttl', 'records', 'extraCa'] as const;
/** File-name safe: the id names the state file. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface DnsFields {
  backend?: BackendName;
  server?: ServerAddress;
  tsigKeyFile?: string;
  zone?: string;
  authServers?: ServerAddress[];
  emitFormat?: EmitFormat;
  command?: string;
  apiUrl?: string;
  apiKeyFile?: string;
}

export type ServiceFields = Partial<Omit<ServiceSettings, 'dns' | 'source'>> & {
  source: CertSource;
  /** Keys present in the input, valid or not: an invalid value is reported once, not again as missing. */
  given: string[];
};

const at = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

export function readString(ctx: Ctx, obj: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return fail(ctx, at(path, key), `must be a string, not ${describe(v)}`);
  if (v.trim() === '') return fail(ctx, at(path, key), 'is empty');
  // Values end up in commands, state files and messages: one line each.
  if (/[\0-\x1f\x7f]/.test(v)) return fail(ctx, at(path, key), `${JSON.stringify(v)} contains a control character`);
  return v;
}

function readList(ctx: Ctx, obj: Record<string, unknown>, key: string, path: string, example: string): string[] | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return fail(ctx, at(path, key), `must be a list of strings, e.g. [${example}], not ${describe(v)}`);
  const out: string[] = [];
  v.forEach((item, i) => {
    const s = readString(ctx, { [`${key}[${i}]`]: item }, `${key}[${i}]`, path);
    if (s !== undefined) out.push(s);
  });
  return out.length === v.length ? out : undefined;
}

function readPath(ctx: Ctx, obj: Record<string, unknown>, key: string, path: string): string | undefined {
  const s = readString(ctx, obj, key, path);
  return s === undefined ? undefined : resolve(ctx.baseDir, s);
}

function readEnum<T extends string>(ctx: Ctx, obj: Record<string, unknown>, key: string, path: string, allowed: readonly T[]): T | undefined {
  const s = readString(ctx, obj, key, path);
  if (s === undefined) return undefined;
  if ((allowed as readonly string[]).includes(s)) return s as T;
  return fail(ctx, at(path, key), `"${s}" is not one of ${allowed.join(', ')}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

export function readDns(ctx: Ctx, raw: unknown, path: string): DnsFields {
  if (raw === undefined) return {};
  if (!isObject(raw)) return fail(ctx, path, `must be an object with ${DNS_KEYS.join(', ')}`) ?? {};
  checkKeys(ctx, path, raw, DNS_KEYS);
  const out: DnsFields = {
    backend: readEnum(ctx, raw, 'backend', path, BACKEND_NAMES),
    emitFormat: readEnum(ctx, raw, 'emitFormat', path, EMIT_FORMATS),
  };
  const command = readString(ctx, raw, 'command', path);
  if (command !== undefined) out.command = command;
  const apiUrl = readString(ctx, raw, 'apiUrl', path);
  if (apiUrl !== undefined) out.apiUrl = checkApiUrl(ctx, apiUrl, at(path, 'apiUrl'));
  const apiKey = readPath(ctx, raw, 'apiKeyFile', path);
  // Checked to exist and hold something; the key itself is read only when applying.
  if (apiKey !== undefined) out.apiKeyFile = attempt(ctx, () => checkApiKeyFile(checkFile(ctx.where(at(path, 'apiKeyFile')), apiKey), ctx.where(at(path, 'apiKeyFile'))));
  const server = readString(ctx, raw, 'server', path);
  if (server !== undefined) out.server = attempt(ctx, () => parseServer(server), at(path, 'server'));
  const key = readPath(ctx, raw, 'tsigKey', path);
  // Checked for existence only: the key is a secret and is never read here.
  if (key !== undefined) out.tsigKeyFile = attempt(ctx, () => checkTsigKeyFile(checkFile(ctx.where(at(path, 'tsigKey')), key), ctx.where(at(path, 'tsigKey'))));
  const zone = readString(ctx, raw, 'zone', path);
  if (zone !== undefined) out.zone = attempt(ctx, () => checkName(zone, ctx.where(at(path, 'zone'))));
  const auth = readList(ctx, raw, 'authServers', path, '"ns1.example.com", "192.0.2.1:53"');
  if (auth !== undefined) {
    const servers = auth.map((s, i) => attempt(ctx, () => parseServer(s), at(path, `authServers[${i}]`)));
    if (servers.every((s) => s !== undefined)) out.authServers = servers as ServerAddress[];
  }
  return prune(out);
}

function checkApiUrl(ctx: Ctx, raw: string, key: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) {
    return fail(ctx, key, `"${raw}" is not an http(s) URL of the PowerDNS API, e.g. http://127.0.0.1:8081`);
  }
  return url.href.replace(/\/+$/, '');
}

function checkApiKeyFile(path: string, what: string): string {
  if (readBounded(path, { what: `${what}: ${path}` }).toString('utf8').trim() === '') throw new UserError(`${what}: ${path} is empty: it must hold the PowerDNS API key`);
  return path;
}

export function readRecords(ctx: Ctx, raw: Record<string, unknown>, path: string): TlsaParams[] | undefined {
  const list = readList(ctx, raw, 'records', path, '"3 1 1", "2 1 1"');
  if (list === undefined) return undefined;
  if (list.length === 0) return fail(ctx, at(path, 'records'), 'is empty: give at least one, e.g. ["3 1 1"]');
  const params = list.map((r, i) => attempt(ctx, () => parseParams(r), at(path, `records[${i}]`)));
  const seen = new Set<string>();
  params.forEach((p, i) => {
    if (p === undefined) return;
    if (seen.has(paramsText(p))) fail(ctx, at(path, `records[${i}]`), `"${paramsText(p)}" is listed twice`);
    seen.add(paramsText(p));
  });
  return params.every((p) => p !== undefined) ? (params as TlsaParams[]) : undefined;
}

export function readTtl(ctx: Ctx, raw: Record<string, unknown>, path: string): number | undefined {
  const v = raw.ttl;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' && typeof v !== 'string') return fail(ctx, at(path, 'ttl'), `must be a number of seconds, not ${describe(v)}`);
  return attempt(ctx, () => checkTtl(v, ctx.where(at(path, 'ttl'))));
}

export function readExtraCa(ctx: Ctx, raw: Record<string, unknown>, path: string): string[] | undefined {
  const list = readList(ctx, raw, 'extraCa', path, '"/etc/dane-hook/issuers.pem"');
  if (list === undefined) return undefined;
  const files = list.map((f, i) => attempt(ctx, () => checkFile(ctx.where(at(path, `extraCa[${i}]`)), resolve(ctx.baseDir, f))));
  return files.every((f) => f !== undefined) ? (files as string[]) : undefined;
}

function readTlsaNames(ctx: Ctx, raw: Record<string, unknown>, path: string): string[] | undefined {
  const list = readList(ctx, raw, 'tlsaNames', path, '"_25._tcp.mx.example.com"');
  if (list === undefined) return undefined;
  if (list.length === 0) return fail(ctx, at(path, 'tlsaNames'), 'is empty: give at least one, e.g. ["_25._tcp.mx.example.com"]');
  const names: string[] = [];
  list.forEach((n, i) => {
    const where = at(path, `tlsaNames[${i}]`);
    const name = attempt(ctx, () => checkName(n, ctx.where(where)));
    if (name === undefined) return;
    if (parseOwner(name) === undefined) return void fail(ctx, where, `"${n}" is not a TLSA owner name: write _<port>._<proto>.<host>, e.g. _25._tcp.mx.example.com`);
    if (names.includes(name)) return void fail(ctx, where, `"${n}" is listed twice`);
    names.push(name);
  });
  return names.length === list.length ? names : undefined;
}

const CONNECT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

export function readService(ctx: Ctx, raw: Record<string, unknown>, path: string): ServiceFields {
  const out: ServiceFields = {
    tlsaNames: readTlsaNames(ctx, raw, path),
    records: readRecords(ctx, raw, path),
    ttl: readTtl(ctx, raw, path),
    activateDir: readPath(ctx, raw, 'activateDir', path),
    reload: readString(ctx, raw, 'reload', path),
    nextKeyFile: readPath(ctx, raw, 'nextKey', path),
    extraCaFiles: readExtraCa(ctx, raw, path),
    starttls: readEnum(ctx, raw, 'starttls', path, STARTTLS_PROTOCOLS),
    source: readSource(ctx, raw, path),
    lineages: readLineages(ctx, raw, path),
    given: Object.keys(raw).filter((k) => raw[k] !== undefined),
  };
  const id = readString(ctx, raw, 'id', path);
  if (id !== undefined) out.id = ID_PATTERN.test(id) ? id : fail(ctx, at(path, 'id'), `"${id}" is not a valid id: use 1-64 of a-z 0-9 . _ - (it names the state file)`);
  const connect = readString(ctx, raw, 'connect', path);
  if (connect !== undefined) {
    const m = CONNECT.exec(connect);
    const port = Number(m?.[2]);
    if (m && port >= 1 && port <= 65535) out.connect = connect;
    else fail(ctx, at(path, 'connect'), `"${connect}" is not HOST:PORT (e.g. 127.0.0.1:25, [::1]:443)`);
  }
  return prune(out);
}

function readSource(ctx: Ctx, raw: Record<string, unknown>, path: string): CertSource {
  return prune({
    lineage: readPath(ctx, raw, 'lineage', path),
    cert: readPath(ctx, raw, 'cert', path),
    chain: readPath(ctx, raw, 'chain', path),
    fullchain: readPath(ctx, raw, 'fullchain', path),
    key: readPath(ctx, raw, 'key', path),
  });
}

/** `lineages: [{ keyType, lineage | cert/key/chain/fullchain, activateDir? }]`: one source per key type. */
function readLineages(ctx: Ctx, raw: Record<string, unknown>, path: string): LineageSettings[] | undefined {
  const v = raw.lineages;
  if (v === undefined) return undefined;
  const example = '[{ "keyType": "rsa", "lineage": "/etc/letsencrypt/live/mx-rsa" }, { "keyType": "ecdsa", ... }]';
  if (!Array.isArray(v) || v.length === 0) return fail(ctx, at(path, 'lineages'), `must be a non-empty list of certificate sources, e.g. ${example}`);
  const out: LineageSettings[] = [];
  v.forEach((item: unknown, i: number) => {
    const where = at(path, `lineages[${i}]`);
    if (!isObject(item)) return void fail(ctx, where, `must be an object with ${LINEAGE_KEYS.join(', ')}`);
    const errors = ctx.errors.length;
    checkKeys(ctx, where, item, LINEAGE_KEYS);
    const keyType = item.keyType === undefined ? fail(ctx, at(where, 'keyType'), `is missing: give ${LINEAGE_KEY_TYPES.join(' or ')}`) : readEnum(ctx, item, 'keyType', where, LINEAGE_KEY_TYPES);
    const source = readSource(ctx, item, where);
    const activateDir = readPath(ctx, item, 'activateDir', where);
    if (keyType === undefined || ctx.errors.length > errors) return;
    out.push(prune({ keyType, source, activateDir }));
  });
  return out.length === v.length ? out : undefined;
}

export function prune<T extends object>(o: T): T {
  // A copy, not `delete`: an object that lost a key is slow to read and to serialize ever after
  // (V8 turns it into a dictionary), and settings are read and hashed by every run.
  const out = {} as T;
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
