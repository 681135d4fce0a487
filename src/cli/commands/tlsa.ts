// `dane-hook tlsa FILE...`: TLSA records for certificate, key or CSR files. Everything is loaded
// and computed before anything is printed, so a bad file never leaves half an answer on stdout.
import { parseArgs } from 'node:util';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.js';
import { tlsaFor } from '../../tlsa/compute.js';
import { formatRecords, RECORD_FORMATS, type NamedRecord, type RecordFormat } from '../../tlsa/format.js';
import { loadMaterial } from '../../tlsa/load.js';
import { checkName, checkTtl, tlsaOwner } from '../../tlsa/name.js';
import { parseMatching, parseParams, parseSelector, parseUsage, recordKey, type TlsaParams } from '../../tlsa/record.js';

interface TlsaArgs {
  files: string[];
  usage?: string | string[];
  selector?: string | string[];
  matching?: string | string[];
  records?: string | string[];
  name?: string | string[];
  host?: string | string[];
  port?: string | string[];
  proto?: string | string[];
  ttl?: string | string[];
  format?: string | string[];
}

/** One value for an option given at most once (yargs turns repeats into arrays). */
function single(option: string, value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) throw new UserError(`--${option} is given ${value.length} times: give it once`);
  return value;
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : ([] as string[]).concat(value));

const VALUE_OPTIONS = new Set(['usage', 'selector', 'matching', 'records', 'name', 'host', 'port', 'proto', 'ttl', 'format']);

export function builder(y: Argv) {
  return y
    .positional('files', { type: 'string', array: true, describe: "Certificate, chain, key or CSR files (PEM or DER); '-' reads standard input" })
    .option('usage', { type: 'string', describe: 'Certificate usage: 0-3 or PKIX-TA, PKIX-EE, DANE-TA, DANE-EE', defaultDescription: '3' })
    .option('selector', { type: 'string', describe: 'Selector: 0/Cert or 1/SPKI', defaultDescription: '1' })
    .option('matching', { type: 'string', describe: 'Matching type: 0/Full, 1/SHA2-256 or 2/SHA2-512', defaultDescription: '1' })
    .option('records', { type: 'string', describe: 'Parameter set such as "3 1 1"; repeat for several (instead of --usage/--selector/--matching)' })
    .option('name', { type: 'string', describe: 'Owner name, e.g. _25._tcp.mx.example.com' })
    .option('host', { type: 'string', describe: 'Host for the owner name _<port>._<proto>.<host>' })
    .option('port', { type: 'string', describe: 'Port for the owner name' })
    .option('proto', { type: 'string', describe: 'Protocol for the owner name', defaultDescription: 'tcp' })
    .option('ttl', { type: 'string', describe: 'TTL in seconds (zone, nsupdate, json)', defaultDescription: '3600' })
    .option('format', { type: 'string', describe: `Output: ${RECORD_FORMATS.join(', ')}`, defaultDescription: 'rdata' })
    .example('$0 tlsa /etc/letsencrypt/live/mx.example.com/cert.pem', 'print 3 1 1 <sha256 of the SPKI>')
    .example('$0 tlsa --records "3 1 1" --records "2 1 1" --host mx.example.com --port 25 --format zone fullchain.pem', 'zone lines for the server key and its issuing CA');
}

function paramSets(args: TlsaArgs): TlsaParams[] {
  const records = list(args.records);
  const usage = single('usage', args.usage);
  const selector = single('selector', args.selector);
  const matching = single('matching', args.matching);
  if (records.length > 0) {
    if (usage ?? selector ?? matching) throw new UserError('give --records or --usage/--selector/--matching, not both');
    return records.map(parseParams);
  }
  return [{ usage: parseUsage(usage ?? 3), selector: parseSelector(selector ?? 1), matching: parseMatching(matching ?? 1) }];
}

function ownerName(args: TlsaArgs): string | undefined {
  const name = single('name', args.name);
  const host = single('host', args.host);
  const port = single('port', args.port);
  const proto = single('proto', args.proto);
  if (name !== undefined) {
    if (host !== undefined || port !== undefined || proto !== undefined) throw new UserError('give --name or --host/--port/--proto, not both');
    return checkName(name, 'TLSA name');
  }
  if (host === undefined && port === undefined) {
    if (proto !== undefined) throw new UserError('--proto needs --host and --port');
    return undefined;
  }
  if (host === undefined || port === undefined) throw new UserError(`--${host === undefined ? 'port' : 'host'} needs --${host === undefined ? 'host' : 'port'} as well`);
  return tlsaOwner(host, port, proto ?? 'tcp');
}

function parseFormat(raw: string | undefined): RecordFormat {
  const f = (raw ?? 'rdata').toLowerCase();
  if (!(RECORD_FORMATS as readonly string[]).includes(f)) throw new UserError(`format '${raw}' is not known: use ${RECORD_FORMATS.join(', ')}`);
  return f as RecordFormat;
}

/** Everything the command will print, or a UserError: no output has happened yet. */
export function tlsaOutput(args: TlsaArgs): string {
  const format = parseFormat(single('format', args.format));
  const params = paramSets(args);
  const name = ownerName(args);
  const ttl = checkTtl(single('ttl', args.ttl) ?? 3600);
  if ((format === 'zone' || format === 'nsupdate') && name === undefined) {
    throw new UserError(`--format ${format} needs an owner name: give --name, or --host and --port`);
  }
  const files = list(args.files as string | string[] | undefined);
  if (files.length === 0) throw new UserError('name at least one certificate, key or CSR file');
  if (files.filter((f) => f === '-').length > 1) throw new UserError("'-' (standard input) is given more than once");
  const rrs = new Map<string, NamedRecord>();
  for (const file of files) {
    const material = loadMaterial(file);
    for (const p of params) {
      for (const record of tlsaFor(material, p)) {
        const key = recordKey(record);
        if (!rrs.has(key)) rrs.set(key, { name, ttl, record, source: file });
      }
    }
  }
  const text = formatRecords([...rrs.values()], format);
  return format === 'nsupdate' ? `${text}send\n` : text;
}

const text = { type: 'string', multiple: true } as const;
const FAST_OPTIONS = {
  usage: text, selector: text, matching: text, records: text, name: text, host: text, port: text, proto: text, ttl: text, format: text,
  verbose: { type: 'boolean', multiple: true },
} as const;

/**
 * The whole command without yargs, for cli/main.ts to call before it loads yargs: yargs costs
 * about as much as node's own start-up, and hooks run this once per lineage (see bench/).
 * `words` are the CLI's arguments (the command word included). Returns the text to print, or
 * undefined when yargs must handle the call (--help, --version).
 */
export function tlsaFast(words: string[]): string | undefined {
  const end = words.indexOf('--');
  if (words.slice(0, end < 0 ? undefined : end).some((w) => w === '--help' || w === '-h' || w === '--version')) return undefined;
  const at = words.findIndex((w) => !w.startsWith('-'));
  let parsed;
  try {
    parsed = parseArgs({ args: words.filter((_, i) => i !== at), options: FAST_OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    // One line: node:util's "ambiguous" message (a value starting with '-') spans three.
    const first = (e as Error).message.split(/\.\s|\n/)[0]!.replace(/\.$/, '');
    const dash = /use '(--[a-z-]+=-XYZ)'/.exec((e as Error).message)?.[1];
    throw new UserError(`${first}${dash ? `: write ${dash} for a value that starts with '-'` : ''} (see dane-hook tlsa --help)`);
  }
  const values = parsed.values as Record<string, string[] | undefined>;
  const one = (v: string[] | undefined): string | string[] | undefined => (v && v.length === 1 ? v[0] : v);
  const args: TlsaArgs = { files: parsed.positionals, records: values.records };
  for (const o of VALUE_OPTIONS) if (o !== 'records') (args as unknown as Record<string, unknown>)[o] = one(values[o]);
  return tlsaOutput(args);
}

// Typed as yargs types the builder's options (only --help and --version ever reach yargs).
const command: CommandModule<object, ReturnType<typeof builder> extends Argv<infer U> ? U : never> = {
  command: 'tlsa <files..>',
  describe: 'Print TLSA records for certificate, key or CSR files',
  builder,
  // Never reached: main.ts answers `tlsa` with tlsaFast and hands yargs only --help and --version,
  // which yargs answers before any handler runs. yargs wants one all the same.
  handler: () => {},
};

export default command;
