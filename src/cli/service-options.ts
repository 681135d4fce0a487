// The flags shared by deploy, pre-renew, advance and status (users write them into hook lines), and
// how they become settings: a config file, flags on top of it, or one service from flags alone.
// Everything is checked before any command runs: bad input never reaches DNS.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { buildSettings, type FlagInput } from '../config/settings.js';
import { readJsonFile } from '../config/json.js';
import { throwIfErrors } from '../config/context.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_STATE_DIR, type CertSource, type GlobalSettings } from '../config/types.js';

export interface ServiceArgs {
  config?: string;
  'tlsa-name'?: string[];
  records?: string[];
  ttl?: string;
  dns?: 'emit' | 'nsupdate' | 'exec' | 'powerdns';
  'api-url'?: string;
  'api-key-file'?: string;
  exec?: string;
  server?: string;
  'tsig-key'?: string;
  zone?: string;
  'auth-server'?: string[];
  'state-dir'?: string;
  'activate-dir'?: string;
  reload?: string;
  'next-key'?: string;
  'extra-ca'?: string[];
  cert?: string;
  chain?: string;
  fullchain?: string;
  key?: string;
  lineage?: string;
  id?: string;
  connect?: string;
  starttls?: string;
  'emit-format'?: 'nsupdate' | 'zone' | 'json';
  'dry-run'?: boolean;
  json?: boolean;
  quiet?: boolean;
  force?: boolean;
  _: (string | number)[];
}

// Repeatable flags: `--tlsa-name A --tlsa-name B`. Not yargs arrays, which would swallow the
// positional words that follow (dehydrated's deploy_cert arguments).
const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : ([] as unknown[]).concat(v).map(String));
const one = (v: unknown): string | undefined => (v === undefined ? undefined : Array.isArray(v) ? String(v[v.length - 1]) : String(v));

export function addServiceOptions<T>(y: Argv<T>): Argv<T & ServiceArgs> {
  const G = { settings: 'Settings:', dns: 'DNS:', files: 'Certificate files (default: from the ACME client hook environment):', run: 'Run:' };
  return y
    .option('config', { type: 'string', group: G.settings, describe: `JSON config file (default $DANE_HOOK_CONFIG, else ${DEFAULT_CONFIG_PATH} if it exists)` })
    .option('id', { type: 'string', group: G.settings, describe: 'The configured service to act on (default: the one matching the certificate)' })
    .option('tlsa-name', { type: 'string', coerce: list, group: G.settings, describe: 'TLSA owner name, e.g. _25._tcp.mx.example.com (repeatable)' })
    .option('records', { type: 'string', coerce: list, group: G.settings, describe: 'Record parameters to keep, e.g. "3 1 1" (repeatable; default "3 1 1" and "2 1 1")' })
    .option('ttl', { type: 'string', coerce: one, group: G.settings, describe: 'TTL of published records in seconds (default 3600)' })
    .option('state-dir', { type: 'string', coerce: one, group: G.settings, describe: `Where rollover state is kept (default ${DEFAULT_STATE_DIR})` })
    .option('activate-dir', { type: 'string', coerce: one, group: G.settings, describe: 'Staged mode: the directory services read their certificate from' })
    .option('reload', { type: 'string', coerce: one, group: G.settings, describe: 'Command run after the activate dir changed (no shell)' })
    .option('next-key', { type: 'string', coerce: one, group: G.settings, describe: 'Pre-generated next key to publish ahead of the renewal' })
    .option('extra-ca', { type: 'string', coerce: list, group: G.settings, describe: 'PEM file of extra CA certificates for 2 x x records (repeatable)' })
    .option('connect', { type: 'string', coerce: one, group: G.settings, describe: 'Live endpoint HOST:PORT to verify (default: from the TLSA name)' })
    .option('starttls', { type: 'string', choices: ['smtp', 'imap', 'pop3', 'ftp', 'xmpp', 'none'], group: G.settings, describe: 'STARTTLS protocol for --connect' })
    .option('dns', { type: 'string', choices: ['emit', 'nsupdate', 'exec', 'powerdns'], group: G.dns, describe: 'Backend: print the changes, apply them with nsupdate, run --exec CMD per change, or use the PowerDNS HTTP API' })
    .option('exec', { type: 'string', coerce: one, group: G.dns, describe: 'Command run once per record change (env TLSA_OPERATION=publish|delete, TLSA_NAME, TLSA_USAGE, ...; exit 0 done, 1 nothing to do)' })
    .option('api-url', { type: 'string', coerce: one, group: G.dns, describe: 'PowerDNS HTTP API URL, e.g. http://127.0.0.1:8081 (--dns powerdns)' })
    .option('api-key-file', { type: 'string', coerce: one, group: G.dns, describe: 'File holding the PowerDNS API key (never printed)' })
    .option('server', { type: 'string', coerce: one, group: G.dns, describe: 'Server that takes updates, HOST[:PORT]' })
    .option('tsig-key', { type: 'string', coerce: one, group: G.dns, describe: 'TSIG key file as written by tsig-keygen' })
    .option('zone', { type: 'string', coerce: one, group: G.dns, describe: 'The zone (default: found by SOA lookup)' })
    .option('auth-server', { type: 'string', coerce: list, group: G.dns, describe: 'Authoritative server to check, HOST[:PORT] (repeatable; default: the NS set)' })
    .option('emit-format', { type: 'string', choices: ['nsupdate', 'zone', 'json'], group: G.dns, describe: 'Output format of --dns emit' })
    .option('lineage', { type: 'string', coerce: one, group: G.files, describe: 'Directory with cert.pem, chain.pem, fullchain.pem, privkey.pem (certbot live dir)' })
    .option('cert', { type: 'string', coerce: one, group: G.files, describe: 'Certificate file' })
    .option('chain', { type: 'string', coerce: one, group: G.files, describe: 'Chain file (issuer certificates)' })
    .option('fullchain', { type: 'string', coerce: one, group: G.files, describe: 'Certificate followed by its chain' })
    .option('key', { type: 'string', coerce: one, group: G.files, describe: 'Private key file' })
    .option('dry-run', { type: 'boolean', group: G.run, describe: 'Show the plan, change nothing' })
    .option('json', { type: 'boolean', group: G.run, describe: 'Print results as JSON' })
    .option('quiet', { type: 'boolean', alias: 'q', group: G.run, describe: 'Print nothing on success (for hooks)' })
    .option('force', { type: 'boolean', group: G.run, describe: 'Allow a plan that withdraws the last record at a name, or many' }) as unknown as Argv<T & ServiceArgs>;
}

/** Certificate files named by flags (resolveCertFiles takes them first). */
export function sourceFromArgs(argv: Partial<ServiceArgs>): CertSource {
  const src: CertSource = {};
  for (const k of ['lineage', 'cert', 'chain', 'fullchain', 'key'] as const) if (argv[k] !== undefined) src[k] = argv[k];
  return src;
}

/** The positional words after the command: dehydrated's `deploy_cert DOMAIN KEYFILE ...`. */
export function hookArgs(argv: Pick<ServiceArgs, '_'>): string[] {
  return argv._.slice(1).map(String);
}

/** The config file to read: --config, else $DANE_HOOK_CONFIG, else the default path when it exists. */
export function configPath(argv: Partial<ServiceArgs>, env: NodeJS.ProcessEnv, defaultPath = DEFAULT_CONFIG_PATH): string | undefined {
  const given = argv.config ?? (env.DANE_HOOK_CONFIG || undefined);
  if (given !== undefined) return resolve(given);
  return existsSync(defaultPath) ? defaultPath : undefined;
}

export interface SettingsOptions {
  /** Without a config file, fail when the flags define no service (default true; status may pass false). */
  needService?: boolean;
  /** For tests: the path used when neither --config nor $DANE_HOOK_CONFIG is given. */
  defaultConfigPath?: string;
  cwd?: string;
}

/** Settings for a run; throws one UserError listing every problem (one line each). Warnings ride along. */
export function settingsFromArgs(argv: Partial<ServiceArgs>, env: NodeJS.ProcessEnv = process.env, options: SettingsOptions = {}): GlobalSettings {
  const file = configPath(argv, env, options.defaultConfigPath);
  const result = buildSettings({
    config: file === undefined ? undefined : { file, raw: readJsonFile(file) },
    flags: flagInput(argv),
    cwd: options.cwd,
    needService: options.needService,
  });
  throwIfErrors(result);
  return result.config!;
}

function flagInput(a: Partial<ServiceArgs>): FlagInput {
  const pick = (entries: [string, unknown][]) => Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  return {
    id: a.id,
    stateDir: a['state-dir'],
    service: pick([
      ['tlsaNames', a['tlsa-name']], ['records', a.records], ['ttl', a.ttl], ['activateDir', a['activate-dir']],
      ['reload', a.reload], ['nextKey', a['next-key']], ['extraCa', a['extra-ca']], ['connect', a.connect],
      ['starttls', a.starttls], ['lineage', a.lineage], ['cert', a.cert], ['chain', a.chain],
      ['fullchain', a.fullchain], ['key', a.key],
    ]),
    dns: pick([
      ['backend', a.dns], ['server', a.server], ['tsigKey', a['tsig-key']], ['zone', a.zone],
      ['authServers', a['auth-server']], ['emitFormat', a['emit-format']], ['command', a.exec],
      ['apiUrl', a['api-url']], ['apiKeyFile', a['api-key-file']],
    ]),
  };
}
