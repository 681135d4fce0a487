// What a run is called with and what it reports: shared by the engine modules and the CLI.
import type { CertFiles, CertSeen } from '../acme/types.js';
import type { ServiceSettings } from '../config/types.js';
import type { ServiceFile } from '../state/store.js';
import type { EmitFormat, RecordChange, ServerAddress } from '../dns/types.js';
import type { ChainReadiness, Step } from '../rollover/types.js';
import type { MaterialReader } from '../tlsa/load.js';

export type Trigger =
  | { kind: 'deploy'; files: CertFiles }
  | { kind: 'pre-renew'; nextKeyFile?: string; generate?: boolean }
  /** `certSeen`: what the renewal check learned of the configured certificate file, to keep. */
  | { kind: 'advance'; certSeen?: CertSeen };

export interface RunOptions {
  dryRun?: boolean;
  force?: boolean;
  now?: () => number;
  /** Takes what the emit backend hands over; the CLI renders and prints it. Without: dropped. */
  emit?: EmitSink;
  /** Reads certificate and key files; a run over many services shares a cache (material-cache.ts). */
  read?: MaterialReader;
  /**
   * advance: the trigger a service's run really has (a deploy, for a renewal no hook reported),
   * asked with the state file the run loaded under its lock, so the file is read once per run.
   */
  renewalCheck?: (settings: ServiceSettings, known: ServiceFile | undefined) => Trigger;
  /** A run over many services: the services whose last decision was taken again (engine/idle-memo.ts). */
  onMemo?: (replayed: string[]) => void;
}

/** Where emitted changes go, with what the CLI needs to render them (the zone, the format). */
export type EmitSink = (changes: RecordChange[], where: { zone: string; format: EmitFormat; server?: ServerAddress }) => void;

export interface RunReport {
  service: string;
  trigger: Trigger['kind'];
  steps: Step[];
  applied: boolean;
  warnings: string[];
  /** Direct mode: a chain went live before a ready record of each combination matched it. */
  unsafe: boolean;
  /** pre-renew: the next key's records are ready (the renewal may use it). */
  nextReady?: boolean;
  nextAt?: number;
  /** Per chain role: whether ready records match it (every combination, every name). */
  readiness: { inService?: boolean; pending?: boolean; next?: boolean };
  /** Per chain and per (usage, selector, matching) combination at each name. */
  combos?: ChainReadiness[];
  held: string[];
  exitCode: number;
  /** With --json: what the emit backend printed. */
  emitted?: string;
}
