// The exec backend: one run of a user's command per single-record change, so any DNS provider
// can be plugged in. The contract is alnitak's (a common one for TLSA hooks):
//   env TLSA_OPERATION=publish|delete, TLSA_USAGE, TLSA_SELECTOR, TLSA_MATCHING, TLSA_PORT,
//   TLSA_PROTOCOL, TLSA_DOMAIN (the host), TLSA_HASH (association data), plus TLSA_NAME (the owner
//   name, absolute), TLSA_TTL and TLSA_ZONE;
//   exit 0: done; 1: nothing to do (already there / already gone); anything else: failure.
// The command is split into words and run without a shell; every value was checked first.
import { DnsError } from '../errors.js';
import { parseOwner } from '../tlsa/name.js';
import { checkChanges } from './changes.js';
import type { ApplyOptions, Backend, RecordChange } from './types.js';
import { loadExeca } from '../child-process.js';

export interface ExecOptions {
  command: string;
  /** Seconds before one run is killed (default 60). */
  timeoutSec?: number;
}

export function execEnv(change: RecordChange, zone: string): Record<string, string> {
  const owner = parseOwner(change.name);
  return {
    TLSA_OPERATION: change.op === 'add' ? 'publish' : 'delete',
    TLSA_USAGE: String(change.record.usage),
    TLSA_SELECTOR: String(change.record.selector),
    TLSA_MATCHING: String(change.record.matching),
    TLSA_HASH: change.record.data,
    TLSA_PORT: owner ? String(owner.port) : '',
    TLSA_PROTOCOL: owner?.proto ?? '',
    TLSA_DOMAIN: owner?.host.replace(/\.$/, '') ?? '',
    TLSA_NAME: change.name,
    TLSA_TTL: String(change.ttl),
    TLSA_ZONE: zone,
  };
}

export function execBackend(options: ExecOptions): Backend {
  return {
    name: 'exec',
    applies: true,
    async apply(changes: RecordChange[], apply: ApplyOptions): Promise<void> {
      const checked = checkChanges(changes, apply.zone || undefined);
      const { execa, parseCommandString } = await loadExeca();
      const [file, ...args] = parseCommandString(options.command);
      for (const change of checked) {
        const r = await execa(file!, args, {
          env: execEnv(change, apply.zone),
          reject: false,
          stdin: 'ignore',
          timeout: (options.timeoutSec ?? 60) * 1000,
        });
        if (r.exitCode === 0 || r.exitCode === 1) continue;
        const what = `${change.op === 'add' ? 'publish' : 'delete'} ${change.name} TLSA ${change.record.usage} ${change.record.selector} ${change.record.matching}`;
        const why = r.timedOut ? `timed out after ${options.timeoutSec ?? 60} s` : r.failed && r.exitCode === undefined ? (r.shortMessage ?? 'could not run') : `exit ${r.exitCode}`;
        const detail = String(r.stderr ?? '').trim().split('\n').slice(-1)[0];
        throw new DnsError(`exec backend '${options.command}' failed to ${what}: ${why}${detail ? ` (${detail})` : ''}`);
      }
    },
  };
}
