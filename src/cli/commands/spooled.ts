// The batched half of `deploy --spool`: each recorded renewal is deployed to the services it
// matches, in the order the hooks ran; an entry goes once all its services took it (a failed one
// stays for the next run). Used by `advance`, which certbot's --post-hook and the timer run.
import { UserError } from '../../errors.js';
import { findServices } from '../../config/index.js';
import type { GlobalSettings, ServiceSettings } from '../../config/types.js';
import type { RunReport } from '../../engine/run.js';
import { readSpool, removeSpoolEntry } from '../../state/spool.js';
import type { RunFailure } from '../report.js';
import { failure, isFailure, jsonSink, runOne, type CommonArgs } from './run-common.js';

/** Deploy reports of the spooled renewals (the last one per service); failures go to `failures`. */
export async function runSpooled(global: GlobalSettings, services: ServiceSettings[], args: CommonArgs, failures: RunFailure[]): Promise<RunReport[]> {
  const reports = new Map<string, RunReport>();
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
    let taken = true;
    for (const s of matched) {
      const sink = jsonSink(args);
      const r = await runOne(global.stateDir, s, { kind: 'deploy', files }, { dryRun: args.dryRun, force: args.force, out: sink.out }, false, args.verbose);
      if (isFailure(r)) {
        failures.push(r);
        taken = false;
      } else {
        reports.set(s.id, args.json ? { ...r, emitted: sink.text() } : r);
      }
    }
    if (taken && !args.dryRun) removeSpoolEntry(spooled.path);
  }
  return [...reports.values()];
}
