// The batched half of `deploy --spool`: each recorded renewal is deployed to the services it
// matches, in the order the hooks ran; an entry goes once all its services took it (a failed one
// stays for the next run). Used by `advance`, which certbot's --post-hook and the timer run.
import { UserError } from '../../errors.js';
import { findServices } from '../../config/index.js';
import type { GlobalSettings, ServiceSettings } from '../../config/types.js';
import type { RunReport } from '../../engine/run.js';
import type { CertFiles } from '../../acme/types.js';
import { readSpool, removeSpoolEntry } from '../../state/spool.js';
import type { RunFailure } from '../report.js';
import { failure, isFailure, runBatch, type CommonArgs } from './run-common.js';

/** Deploy reports of the spooled renewals (the last one per service); failures go to `failures`. */
export async function runSpooled(global: GlobalSettings, services: ServiceSettings[], args: CommonArgs, failures: RunFailure[]): Promise<RunReport[]> {
  // The last recorded renewal per service: the files it names are what the client left in place.
  const latest = new Map<string, { settings: ServiceSettings; files: CertFiles }>();
  const entries: { path: string; ids: string[] }[] = [];
  for (const spooled of readSpool(global.stateDir)) {
    if (!spooled.entry) {
      failures.push(failure('spool', new UserError(`spool entry ${spooled.path} is not valid (${spooled.error}): remove it`), args.verbose));
      continue;
    }
    const { files } = spooled.entry;
    const matched = findServices({ services }, files);
    if (matched.length === 0) {
      process.stderr.write(`dane-hook: warning: spool entry ${spooled.path} (${files.domains.join(', ') || files.cert}) is for no configured service; removed\n`);
      if (!args.dryRun) removeSpoolEntry(spooled.path);
      continue;
    }
    for (const s of matched) latest.set(s.id, { settings: s, files });
    entries.push({ path: spooled.path, ids: matched.map((s) => s.id) });
  }
  if (latest.size === 0) return [];
  const items = [...latest.values()].map(({ settings, files }) => ({ settings, trigger: { kind: 'deploy' as const, files } }));
  const reports: RunReport[] = [];
  const failed = new Set<string>();
  for (const r of await runBatch(global.stateDir, items, args, false)) {
    if (isFailure(r)) {
      failures.push(r);
      failed.add(r.service);
    } else reports.push(r);
  }
  // An entry goes once every service it named took it; a failed one is retried next run.
  if (!args.dryRun) for (const e of entries) if (!e.ids.some((id) => failed.has(id))) removeSpoolEntry(e.path);
  return reports;
}
