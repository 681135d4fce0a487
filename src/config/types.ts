// Normalized settings: what the engine runs on, whether they came from a config file or flags.
import type { CertSource } from '../acme/types.js';
import type { ServerAddress } from '../dns/types.js';
import type { TlsaParams } from '../tlsa/record.js';

export type BackendName = 'emit' | 'nsupdate' | 'exec' | 'powerdns';
export type EmitFormat = 'nsupdate' | 'zone' | 'json';

export interface DnsSettings {
  backend: BackendName;
  /** Where updates go (nsupdate); also asked for the zone's SOA/NS when zone or authServers are not given. */
  server?: ServerAddress;
  /** Path of a key file as written by tsig-keygen. Never read into logs. */
  tsigKeyFile?: string;
  /** Absolute zone name; found by SOA lookup when absent. */
  zone?: string;
  /** Servers asked whether a record is published; default: the zone's NS set. */
  authServers: ServerAddress[];
  emitFormat: EmitFormat;
  /** exec backend: the command run once per single-record change (split into words, no shell). */
  command?: string;
  /** powerdns backend: the HTTP API base, e.g. http://127.0.0.1:8081. */
  apiUrl?: string;
  /** powerdns backend: file holding the X-API-Key. Checked to exist, read only when applying, never logged. */
  apiKeyFile?: string;
}

export interface ServiceSettings {
  /** Stable, file-name-safe id (state file name): configured, or derived from the first TLSA name. */
  id: string;
  /** Absolute TLSA owner names, e.g. _25._tcp.mx.example.com. */
  tlsaNames: string[];
  /** Record parameter sets to publish; default 3 1 1 and 2 1 1. */
  records: TlsaParams[];
  ttl: number;
  dns: DnsSettings;
  /** Staged mode: the directory services read cert.pem/chain.pem/fullchain.pem/privkey.pem from. */
  activateDir?: string;
  /** Command run after the activate dir changed (split into words, no shell). */
  reload?: string;
  /** A pre-generated next key whose record is published ahead of the renewal. */
  nextKeyFile?: string;
  /** PEM files of extra CA certificates to pin with usage 2/0 records (e.g. an issuer family). */
  extraCaFiles: string[];
  source: CertSource;
  /** Live endpoint HOST:PORT to verify after promotion (default: host and port of the TLSA name). */
  connect?: string;
  starttls?: 'smtp' | 'imap' | 'pop3' | 'ftp' | 'xmpp' | 'none';
}

export interface GlobalSettings {
  stateDir: string;
  services: ServiceSettings[];
  warnings: string[];
  /** DNS settings given as flags: they also apply to services known only from the state dir. */
  dnsFlags?: Partial<DnsSettings>;
}

// The ACME side owns the shape of its inputs; config only fills it (config -> acme, never back).
export type { CertSource };

export const DEFAULT_CONFIG_PATH = '/etc/dane-hook/config.json';
export const DEFAULT_STATE_DIR = '/var/lib/dane-hook';
export const DEFAULT_TTL = 3600;
