// dane-hook advance: the periodic run (systemd timer, cron). Promotes staged chains whose records
// are ready, withdraws stale records, and says when it next has work. --wait keeps going until
// nothing waits, showing progress on a terminal.
import type { CommandModule } from 'yargs';
import { Exit } from '../../errors.js';
import type { ServiceFile } from '../../state/store.js';
import { unreportedRenewal } from '../../acme/renewal.js';
import { shownValue } from '../../io/shown.js';
import { shownId } from '../../config/lineages.js';
import { materialCache } from '../../engine/material-cache.js';
import type { MaterialReader } from '../../tlsa/load.js';
import type { ServiceSettings } from '../../config/types.js';
import type { RunReport, Trigger } from '../../engine/run.js';
import type { RunFailure } from '../report.js';
import { addServiceOptions, settingsFromArgs, type ServiceArgs } from '../service-options.js';
import { allServices } from '../services.js';
import { failure, isFailure, print, runBatch, worst, type CommonArgs } from './run-common.js';
import { runSpooled } from './spooled.js';
import type { FastCommand } from '../fast-argv.js';

type Args = ServiceArgs & { wait?: boolean; 'max-wait'?: number };

/**
 * The safety net for a renewal no hook reported (a deploy hook killed before it saved, or never
 * run: certbot ignores a hook's failure and never reruns it): when the files configured for the
 * service hold a certificate the state does not know, this run deploys them. Asked by the run
 * with the state it loaded under the service's lock (RunOptions.renewalCheck).
 */
function renewalCheck(read: MaterialReader): (s: ServiceSettings, known: ServiceFile | undefined) => Trigger {
  return (s, known) => {
    const r = unreportedRenewal(s.source, known, read);
    if (r.kind !== 'renewed') return r.kind === 'none' && r.seen ? { kind: 'advance', certSeen: r.seen } : { kind: 'advance' };
    process.stderr.write(`dane-hook: warning: ${shownId(s)}: ${shownValue(r.files.cert)} holds a certificate (${r.leafId.slice(0, 12)}, expires ${r.notAfter}) that no deploy hook reported: deploying it now\n`);
    return { kind: 'deploy', files: r.files };
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const OPTIONS = {
  wait: { type: 'boolean', describe: 'Keep running until no step waits (progress shown on a terminal)' },
  'max-wait': { type: 'number', default: 3600, describe: 'With --wait: give up after this many seconds' },
} as const;

const command: CommandModule<object, Args> & { fast: FastCommand } = {
  command: 'advance',
  describe: 'Periodic run: promote staged chains whose records are ready, withdraw stale records',
  builder: (y) => addServiceOptions(y).options(OPTIONS),
  fast: { options: OPTIONS },
  handler: async (argv) => {
    const global = settingsFromArgs(argv, process.env, { needService: false });
    const args = argv as Args & CommonArgs;
    // One failing service neither stops the others nor runs again in this --wait.
    const failures: RunFailure[] = [];
    let services = allServices(global, (id, err) => failures.push(failure(id, err, args.verbose)));
    const deadline = Date.now() + (argv['max-wait'] ?? 3600) * 1000;
    // With --json and --wait, one document at the end: what every round did, as of the last round.
    const done = new Map<string, { steps: RunReport['steps']; emitted: string }>();
    // Renewals recorded by `deploy --spool` first: their deploy run is that service's first round.
    const spooled = await runSpooled(global, services, args, failures);
    for (const r of spooled) done.set(r.service, { steps: r.steps, emitted: r.emitted ?? '' });
    let reports: RunReport[] = [];
    for (let round = 0; ; round++) {
      reports = round === 0 ? [...spooled] : [];
      const due = services.filter((s) => !(round === 0 && (spooled.some((r) => r.service === s.id) || failures.some((f) => f.service === s.id))));
      // One cache per round: the renewal check and the deploy it may start parse each file once.
      const read = materialCache();
      const items = due.map((s) => ({ settings: s, trigger: { kind: 'advance' } as const }));
      const results = await runBatch(global.stateDir, items, args, services.length === 1 && failures.length === 0, { read, renewalCheck: renewalCheck(read) });
      for (const r of results) {
        if (isFailure(r)) {
          failures.push(r);
          continue;
        }
        const before = done.get(r.service) ?? { steps: [], emitted: '' };
        done.set(r.service, { steps: [...before.steps, ...r.steps], emitted: before.emitted + (r.emitted ?? '') });
        reports.push(r);
      }
      services = services.filter((s) => !failures.some((f) => f.service === s.id));
      const waits = reports.map((r) => r.nextAt).filter((t): t is number => t !== undefined);
      if (!argv.wait || args.dryRun || waits.length === 0) break;
      const at = Math.min(...waits);
      if (at > deadline) {
        finish(reports, failures, done, args, global.warnings);
        process.stderr.write(`dane-hook: gave up waiting: the next step is due at ${new Date(at).toISOString()}, after --max-wait\n`);
        process.exitCode = worst([...failures.map((f) => f.exitCode), Exit.NOT_READY]);
        return;
      }
      // Progress goes to stderr as text; stdout keeps the one final document (--json, emit script).
      if (!argv.quiet) print(reports.filter((r) => r.steps.length > 0), { ...args, json: false });
      await countdown(at);
    }
    finish(reports, failures, done, args, global.warnings);
    if (services.length === 0 && failures.length === 0 && !argv.quiet) process.stderr.write(`dane-hook: no services in ${global.stateDir} or the config\n`);
    process.exitCode = worst([...reports, ...failures].map((r) => r.exitCode));
  },
};

/** Prints the last round; under --json each service's steps and emitted text of every round. */
function finish(reports: RunReport[], failures: RunFailure[], done: Map<string, { steps: RunReport['steps']; emitted: string }>, args: CommonArgs, warnings: string[]): void {
  const shown = args.json ? reports.map((r) => ({ ...r, steps: done.get(r.service)?.steps ?? r.steps, emitted: done.get(r.service)?.emitted ?? '' })) : reports;
  print(shown, args, warnings, failures);
}

/** Sleeps until `at`, redrawing a one-line countdown when stderr is a terminal. */
async function countdown(at: number): Promise<void> {
  const tty = process.stderr.isTTY;
  while (Date.now() < at) {
    if (tty) process.stderr.write(`\rdane-hook: waiting for records to be ready: ${Math.ceil((at - Date.now()) / 1000)} s left   `);
    await sleep(Math.min(1000, Math.max(50, at - Date.now())));
  }
  if (tty) process.stderr.write('\r\x1b[K');
}

export default command;
