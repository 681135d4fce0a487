// Config file + flags -> GlobalSettings, changesets style: read every part, complete every service,
// and return all problems at once as {config, warnings, errors}.
//
// Config file format (JSON; relative paths are taken from the file's directory):
// {
//   "stateDir": "/var/lib/dane-hook",                       // default DEFAULT_STATE_DIR
//   "dns": {                                                 // for every service
//     "backend": "nsupdate" | "emit" | "exec" | "powerdns",  // default: exec if command, nsupdate if server or tsigKey, else emit
//     "server": "127.0.0.1:53",                              // HOST[:PORT] or [V6]:PORT, where updates go
//     "tsigKey": "/etc/dane-hook/tsig.key",                  // a tsig-keygen file (checked to exist, never read here)
//     "zone": "example.com",                                 // default: found by SOA lookup
//     "authServers": ["ns1.example.com", "192.0.2.1:53"],    // default: the zone's NS set
//     "emitFormat": "nsupdate" | "zone" | "json",            // default nsupdate
//     "command": "/usr/local/bin/tlsa-provider",              // exec backend
//     "apiUrl": "http://127.0.0.1:8081",                     // powerdns backend: the HTTP API
//     "apiKeyFile": "/etc/dane-hook/pdns-api.key"            // powerdns backend: the X-API-Key (never printed)
//   },
//   "defaults": { "ttl": 3600, "records": ["3 1 1", "2 1 1"], "extraCa": ["issuers.pem"] },
//   "services": [ {
//     "id": "mx",                                            // default: host of the first TLSA name
//     "tlsaNames": ["_25._tcp.mx.example.com"],              // required
//     "records": ["3 1 1", "2 1 1"], "ttl": 3600, "extraCa": ["..."],
//     "lineage": "/etc/letsencrypt/live/mx.example.com",     // or "cert"/"chain"/"fullchain"/"key"
//     "activateDir": "/etc/dane-hook/active/mx", "reload": "systemctl reload postfix",
//     "nextKey": "/etc/dane-hook/next/mx.key", "connect": "127.0.0.1:25", "starttls": "smtp",
//     "lineages": [ { "keyType": "rsa" | "ecdsa", "lineage": "..." (or cert/key/...), "activateDir": "..." } ],
//                                                            // instead of lineage/cert/...: one source per key type
//     "dns": { ... }                                         // per-service override, merged key by key
//   } ]
// }
// Unknown keys are errors. Flags override: DNS flags and --state-dir apply to every service; the
// service flags apply to the service chosen by --id, or to the only one.
import { dirname, resolve } from 'node:path';
import { checkKeys, configCtx, fail, flagsCtx, isObject, type Ctx } from './context.js';
import { DEFAULTS_KEYS, ID_PATTERN, readDns, readExtraCa, readRecords, readService, readString, readTtl, prune, type DnsFields, type ServiceFields } from './fields.js';
import { FLAG_OF, SERVICE_KEYS, SOURCE_KEYS, type FlagInput } from './flags.js';
import { readJsonFile } from './json.js';
import { checkActivateDirs, checkUniqueIds, completeService, deriveId, type Defaults } from './service.js';
import { DEFAULT_STATE_DIR, type GlobalSettings, type ServiceSettings } from './types.js';

export interface ConfigResult {
  config?: GlobalSettings;
  warnings: string[];
  errors: string[];
}

export interface BuildOptions {
  config?: { file: string; raw: unknown };
  flags?: FlagInput;
  /** Base for relative paths in flags (default process.cwd()). */
  cwd?: string;
  /** Without a config file, fail when the flags define no service (default true). */
  needService?: boolean;
}

const TOP_KEYS = ['stateDir', 'dns', 'defaults', 'services'] as const;

interface Entry {
  ctx: Ctx;
  path: string;
  fields: ServiceFields;
  dns: DnsFields;
}

/** Reads and checks a config file on its own (no flags). */
export function loadConfig(file: string): ConfigResult {
  const path = resolve(file);
  return buildSettings({ config: { file: path, raw: readJsonFile(path) } });
}

export function buildSettings(opts: BuildOptions): ConfigResult {
  const cwd = opts.cwd ?? process.cwd();
  const fctx = flagsCtx(cwd, (k) => FLAG_OF[k] ?? k);
  const flags = opts.flags ?? { service: {}, dns: {} };
  const fService = readService(fctx, flags.service, '');
  const fDns = readDns(fctx, flags.dns, '');
  const flagId = flags.id === undefined ? undefined : ID_PATTERN.test(flags.id) ? flags.id : fail(fctx, 'id', `"${flags.id}" is not a valid id: use 1-64 of a-z 0-9 . _ -`);
  // File flags name the certificate (a deploy matches it to its service); the other service flags
  // set one service, so they need it to be chosen.
  const serviceFlags = fService.given.filter((k) => k !== 'id' && !(SOURCE_KEYS as readonly string[]).includes(k));
  const ctxs = [fctx];

  let stateDir = flags.stateDir === undefined ? undefined : resolve(cwd, flags.stateDir);
  let entries: Entry[] = [];
  let defaults: Defaults = {};
  if (opts.config) {
    const { file, raw } = opts.config;
    const cctx = configCtx(file, dirname(file));
    ctxs.unshift(cctx);
    const read = readConfig(cctx, raw);
    defaults = read.defaults;
    stateDir ??= read.stateDir;
    entries = read.entries;
    const ids = entries.map((e) => e.fields.id ?? deriveId(e.fields.tlsaNames));
    const target = flagId !== undefined ? ids.indexOf(flagId) : entries.length === 1 ? 0 : -1;
    const known = `services: ${ids.filter(Boolean).join(', ') || 'none with a valid id'}`;
    if (target >= 0) {
      const e = entries[target]!;
      // A service with lineages takes no file flags: the files a deploy names pick the lineage.
      const source = e.fields.lineages ? e.fields.source : { ...e.fields.source, ...fService.source };
      e.fields = { ...e.fields, ...fService, source, given: [...e.fields.given, ...fService.given] };
    } else if (flagId !== undefined && fService.given.includes('tlsaNames')) {
      entries.push({ ctx: fctx, path: '', fields: { ...fService, id: flagId }, dns: {} });
    } else if (flagId !== undefined && cctx.errors.length === 0) {
      fctx.errors.push(`--id "${flagId}" is not a service in config ${file} (${known})`);
    } else if (serviceFlags.length > 0 && entries.length > 1) {
      fctx.errors.push(`${serviceFlags.map((k) => FLAG_OF[k] ?? k).join(', ')} set one service, but config ${file} has ${entries.length}: choose it with --id (${known})`);
    }
  } else if (serviceFlags.length > 0 || opts.needService !== false) {
    if (!fService.given.includes('tlsaNames')) {
      fctx.errors.push('no config file and no --tlsa-name: give --config FILE, or the TLSA names to keep, e.g. --tlsa-name _25._tcp.mx.example.com');
    } else {
      entries.push({ ctx: fctx, path: '', fields: { ...fService, ...(flagId ? { id: flagId } : {}) }, dns: {} });
    }
  }

  const services: ServiceSettings[] = [];
  const placed: { id: string; path: string }[] = [];
  const activate: { activateDir?: string; path: string }[] = [];
  for (const e of entries) {
    const s = completeService(e.ctx, e.path, e.fields, { ...e.dns, ...fDns }, defaults);
    if (s) services.push(s);
    // A service with lineages writes one folder per lineage (its activateDir only holds them).
    if (s?.lineages) s.lineages.forEach((l, i) => activate.push({ activateDir: l.activateDir, path: `${e.path}.lineages[${i}]` }));
    else activate.push({ activateDir: s?.activateDir ?? e.fields.activateDir, path: e.path });
    const id = s?.id ?? e.fields.id ?? deriveId(e.fields.tlsaNames);
    if (id) placed.push({ id, path: e.path || `--id ${id}` });
  }
  checkUniqueIds(ctxs[0]!, placed);
  checkActivateDirs(ctxs[0]!, activate, stateDir ?? DEFAULT_STATE_DIR);
  const errors = ctxs.flatMap((c) => c.errors);
  const warnings = ctxs.flatMap((c) => c.warnings);
  if (errors.length > 0) return { errors, warnings };
  const dnsFlags = prune({ ...fDns }) as GlobalSettings['dnsFlags'];
  return { config: { stateDir: stateDir ?? DEFAULT_STATE_DIR, services, warnings, dnsFlags }, errors, warnings };
}

function readConfig(ctx: Ctx, raw: unknown): { stateDir?: string; defaults: Defaults; entries: Entry[] } {
  if (!isObject(raw)) {
    ctx.errors.push(`${ctx.where('').replace(/: $/, '')}: must hold a JSON object with ${TOP_KEYS.join(', ')}`);
    return { defaults: {}, entries: [] };
  }
  checkKeys(ctx, '', raw, TOP_KEYS);
  const dir = readString(ctx, raw, 'stateDir', '');
  const dns = readDns(ctx, raw.dns, 'dns');
  const defaults: Defaults = {};
  if (raw.defaults !== undefined) {
    if (!isObject(raw.defaults)) fail(ctx, 'defaults', `must be an object with ${DEFAULTS_KEYS.join(', ')}`);
    else {
      checkKeys(ctx, 'defaults', raw.defaults, DEFAULTS_KEYS);
      Object.assign(defaults, prune({ ttl: readTtl(ctx, raw.defaults, 'defaults'), records: readRecords(ctx, raw.defaults, 'defaults'), extraCaFiles: readExtraCa(ctx, raw.defaults, 'defaults') }));
    }
  }
  const entries: Entry[] = [];
  if (raw.services === undefined) fail(ctx, 'services', 'is missing: list the services whose TLSA records to keep');
  else if (!Array.isArray(raw.services)) fail(ctx, 'services', 'must be a list of service objects');
  else if (raw.services.length === 0) fail(ctx, 'services', 'is empty: list at least one service');
  else {
    raw.services.forEach((s: unknown, i: number) => {
      const path = `services[${i}]`;
      if (!isObject(s)) return void fail(ctx, path, 'must be an object');
      checkKeys(ctx, path, s, SERVICE_KEYS);
      entries.push({ ctx, path, fields: readService(ctx, s, path), dns: { ...dns, ...readDns(ctx, s.dns, `${path}.dns`) } });
    });
  }
  return { stateDir: dir === undefined ? undefined : resolve(ctx.baseDir, dir), defaults, entries };
}
