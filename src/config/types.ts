// Normalized settings: what the engine runs on, whether they came from a config file or flags.
import type { CertSource } from '../acme/types.js';
import type { BackendName, BackendSettings, EmitFormat, ServerAddress } from '../dns/types.js';
import type { StartTls } from '../tls/starttls.js';
import type { TlsaParams } from '../tlsa/record.js';

export type { BackendName, EmitFormat };

export interface DnsSettings extends BackendSettings {
  backend: BackendName;
  /** Absolute zone name; found by SOA lookup when absent. */
  zone?: string;
  /** Servers asked whether a record is published; default: the zone's NS set. */
  authServers: ServerAddress[];
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
  /**
   * Several certificates for the same names (an RSA and an ECDSA certbot lineage): one entry per
   * key type, sharing the names, DNS settings, state file and reload. Then `source` is empty.
   */
  lineages?: LineageSettings[];
  /** Set on the view of one lineage (lineageViews): the slot of the state file it reads. */
  lineage?: LineageKeyType;
  /** Live endpoint HOST:PORT to verify after promotion (default: host and port of the TLSA name). */
  connect?: string;
  starttls?: StartTls;
}

/** Key types a lineage may be (certbot's --key-type names). */
export const LINEAGE_KEY_TYPES = ['rsa', 'ecdsa'] as const;
export type LineageKeyType = (typeof LINEAGE_KEY_TYPES)[number];

/** One certificate source of a service with several (config `lineages: [...]`). */
export interface LineageSettings {
  keyType: LineageKeyType;
  source: CertSource;
  /** Staged mode: where this lineage's files go (default: the service's activateDir/<keyType>). */
  activateDir?: string;
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
