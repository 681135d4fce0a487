// Every setting a user can give as a flag, once: its name, type, where it lands in the config, its
// help and its choices. cli/service-options.ts makes the yargs options from these rows, the config
// code takes the known keys and the flag that sets each from them, and scripts/man.mjs writes the
// man page from them: a new setting is one row here plus the code that reads it.
import { BACKEND_NAMES, EMIT_FORMATS, type BackendSettings } from '../dns/types.js';
import { STARTTLS_PROTOCOLS } from '../tls/starttls.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_STATE_DIR } from './types.js';

export const FLAG_GROUPS = {
  settings: 'Settings:',
  dns: 'DNS:',
  files: 'Certificate files (default: from the ACME client hook environment):',
  run: 'Run:',
} as const;

/**
 * Where a flag's value goes: `top` a top-level config key, `service` a key of a service object,
 * `dns` a key of a `dns` object, `file` the config file itself, `run` this run only (no config key).
 */
export type FlagScope = 'file' | 'top' | 'service' | 'dns' | 'run';

export interface FlagRow {
  readonly flag: string;
  readonly type: 'string' | 'boolean';
  readonly scope: FlagScope;
  /** The config key (in its scope's object). */
  readonly key?: string;
  /** The settings field it becomes, when named otherwise than the key (tsigKey -> tsigKeyFile). */
  readonly setting?: string;
  /** Given again, it adds a value (`--tlsa-name A --tlsa-name B`); otherwise the last one counts. */
  readonly repeat?: true;
  readonly choices?: readonly string[];
  readonly group: keyof typeof FLAG_GROUPS;
  readonly help: string;
  readonly alias?: string;
}

export const FLAGS = [
  { flag: 'config', type: 'string', scope: 'file', group: 'settings', help: `JSON config file (default $DANE_HOOK_CONFIG, else ${DEFAULT_CONFIG_PATH} if it exists)` },
  { flag: 'id', type: 'string', scope: 'service', key: 'id', group: 'settings', help: 'The configured service to act on (default: the one matching the certificate)' },
  { flag: 'tlsa-name', type: 'string', scope: 'service', key: 'tlsaNames', repeat: true, group: 'settings', help: 'TLSA owner name, e.g. _25._tcp.mx.example.com (repeatable)' },
  { flag: 'records', type: 'string', scope: 'service', key: 'records', repeat: true, group: 'settings', help: 'Record parameters to keep, e.g. "3 1 1" (repeatable; default "3 1 1" and "2 1 1")' },
  { flag: 'ttl', type: 'string', scope: 'service', key: 'ttl', group: 'settings', help: 'TTL of published records in seconds (default 3600)' },
  { flag: 'state-dir', type: 'string', scope: 'top', key: 'stateDir', group: 'settings', help: `Where rollover state is kept (default ${DEFAULT_STATE_DIR})` },
  { flag: 'activate-dir', type: 'string', scope: 'service', key: 'activateDir', group: 'settings', help: 'Staged mode: the directory services read their certificate from' },
  { flag: 'reload', type: 'string', scope: 'service', key: 'reload', group: 'settings', help: 'Command run after the activate dir changed (no shell)' },
  { flag: 'next-key', type: 'string', scope: 'service', key: 'nextKey', setting: 'nextKeyFile', group: 'settings', help: 'Pre-generated next key to publish ahead of the renewal' },
  { flag: 'extra-ca', type: 'string', scope: 'service', key: 'extraCa', setting: 'extraCaFiles', repeat: true, group: 'settings', help: 'PEM file of extra CA certificates for 2 x x records (repeatable)' },
  { flag: 'connect', type: 'string', scope: 'service', key: 'connect', group: 'settings', help: 'Live endpoint HOST:PORT to verify (default: from the TLSA name)' },
  { flag: 'starttls', type: 'string', scope: 'service', key: 'starttls', choices: STARTTLS_PROTOCOLS, group: 'settings', help: 'STARTTLS protocol for --connect' },
  { flag: 'dns', type: 'string', scope: 'dns', key: 'backend', choices: BACKEND_NAMES, group: 'dns', help: 'Backend: print the changes, apply them with nsupdate, run --exec CMD per change, or use the PowerDNS HTTP API (default: exec with --exec, powerdns with --api-url, nsupdate with --server or --tsig-key, else emit)' },
  { flag: 'exec', type: 'string', scope: 'dns', key: 'command', group: 'dns', help: 'Command run once per record change (env TLSA_OPERATION=publish|delete, TLSA_NAME, TLSA_USAGE, ...; exit 0 done, 1 nothing to do)' },
  { flag: 'api-url', type: 'string', scope: 'dns', key: 'apiUrl', group: 'dns', help: 'PowerDNS HTTP API URL, e.g. http://127.0.0.1:8081 (--dns powerdns)' },
  { flag: 'api-key-file', type: 'string', scope: 'dns', key: 'apiKeyFile', group: 'dns', help: 'File holding the PowerDNS API key (never printed)' },
  { flag: 'server', type: 'string', scope: 'dns', key: 'server', group: 'dns', help: 'Server that takes updates, HOST[:PORT]' },
  { flag: 'tsig-key', type: 'string', scope: 'dns', key: 'tsigKey', setting: 'tsigKeyFile', group: 'dns', help: 'TSIG key file as written by tsig-keygen' },
  { flag: 'zone', type: 'string', scope: 'dns', key: 'zone', group: 'dns', help: 'The zone (default: found by SOA lookup)' },
  { flag: 'auth-server', type: 'string', scope: 'dns', key: 'authServers', repeat: true, group: 'dns', help: 'Authoritative server to check, HOST[:PORT] (repeatable; default: the NS set)' },
  { flag: 'emit-format', type: 'string', scope: 'dns', key: 'emitFormat', choices: EMIT_FORMATS, group: 'dns', help: 'Output format of --dns emit (default nsupdate)' },
  { flag: 'lineage', type: 'string', scope: 'service', key: 'lineage', group: 'files', help: 'Directory with cert.pem, chain.pem, fullchain.pem, privkey.pem (certbot live dir)' },
  { flag: 'cert', type: 'string', scope: 'service', key: 'cert', group: 'files', help: 'Certificate file' },
  { flag: 'chain', type: 'string', scope: 'service', key: 'chain', group: 'files', help: 'Chain file (issuer certificates)' },
  { flag: 'fullchain', type: 'string', scope: 'service', key: 'fullchain', group: 'files', help: 'Certificate followed by its chain' },
  { flag: 'key', type: 'string', scope: 'service', key: 'key', group: 'files', help: 'Private key file' },
  { flag: 'dry-run', type: 'boolean', scope: 'run', group: 'run', help: 'Show the plan, change nothing' },
  { flag: 'json', type: 'boolean', scope: 'run', group: 'run', help: 'Print results as JSON' },
  { flag: 'quiet', type: 'boolean', scope: 'run', alias: 'q', group: 'run', help: 'Print nothing on success (for hooks)' },
  { flag: 'force', type: 'boolean', scope: 'run', group: 'run', help: 'Allow a plan that withdraws the last record at a name, or many' },
] as const satisfies readonly FlagRow[];

type Row = (typeof FLAGS)[number];
type ValueOf<R> = R extends { type: 'boolean' } ? boolean : R extends { repeat: true } ? string[] : R extends { choices: readonly (infer C)[] } ? C : string;

/** The parsed values of the shared flags, keyed by flag name. */
export type FlagValues = { -readonly [R in Row as R['flag']]?: ValueOf<R> };

const rows: readonly FlagRow[] = FLAGS;

const keysOf = (scope: FlagScope) => rows.filter((r) => r.scope === scope).map((r) => r.key!);

/** The keys a service object may have: its flags' keys, its own `dns` object and `lineages` (config only). */
export const SERVICE_KEYS: readonly string[] = [...keysOf('service'), 'dns', 'lineages'];
export const DNS_KEYS: readonly string[] = keysOf('dns');
/** The keys of one entry of a service's `lineages` (config only): a key type, its files, its activate dir. */
export const LINEAGE_KEYS: readonly string[] = ['keyType', ...rows.filter((r) => r.group === 'files').map((r) => r.key!), 'activateDir'];
/** The service keys that name certificate files (the flags of the files group). */
export const SOURCE_KEYS = rows.filter((r) => r.group === 'files').map((r) => r.key!) as readonly Extract<Row, { group: 'files' }>['key'][];

/** The flag that sets a config key, as shown in messages about flags: nextKey -> --next-key. */
export const FLAG_OF: Readonly<Record<string, string>> = Object.fromEntries(rows.filter((r) => r.key !== undefined).map((r) => [r.key!, `--${r.flag}`]));

/** How to give a DNS setting, for a message about a missing one: "--exec (config dns.command)". */
export function neededSetting(setting: keyof BackendSettings): string {
  const row = rows.find((r) => r.scope === 'dns' && (r.setting ?? r.key) === setting);
  return row ? `--${row.flag} (config dns.${row.key})` : setting;
}

/** The config key of a DNS setting: tsigKeyFile -> tsigKey. */
export function dnsKeyOf(setting: keyof BackendSettings): string {
  return rows.find((r) => r.scope === 'dns' && (r.setting ?? r.key) === setting)?.key ?? setting;
}

/**
 * Flag values shaped like config objects (lists for repeatable flags), not yet checked: what
 * config/settings.ts reads with the same code as a config file's objects.
 */
export interface FlagInput {
  service: Record<string, unknown>;
  dns: Record<string, unknown>;
  stateDir?: string;
  id?: string;
}

export function flagInput(values: FlagValues): FlagInput {
  const given = (r: FlagRow) => (values as Record<string, unknown>)[r.flag];
  const pick = (scope: FlagScope) => Object.fromEntries(rows.filter((r) => r.scope === scope && r.key !== 'id' && given(r) !== undefined).map((r) => [r.key!, given(r)]));
  return { id: values.id, stateDir: values['state-dir'], service: pick('service'), dns: pick('dns') };
}
