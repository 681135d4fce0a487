// dane-hook advance: the periodic run (systemd timer, cron). Promotes staged chains whose records
// are ready, withdraws stale records, and says when it next has work. --wait keeps going until
// nothing waits, showing progress on a terminal.
import type { CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { Exit, UserError } from '../../errors.js';
import { listServices, loadService } from '../../state/store.js';
import type { GlobalSettings, ServiceSettings } from '../../config/types.js';
import type { RunReport } from '../../engine/run.js';
import type { RunFailure } from '../report.js';
import { addServiceOptions, settingsFromArgs, type ServiceArgs } from '../service-options.js';
import { failure, isFailure, jsonSink, print, runOne, worst, type CommonArgs } from './run-common.js';

type Args = ServiceArgs & { wait?: boolean; 'max-wait'?: number };

/**
 * Services from the config or flags, plus every service registered in the state dir by deploy.
 * With `onError`, a registered service whose state cannot be read is handed to it and left out;
 * without, the error is thrown.
 */
export function allServices(global: GlobalSettings, onError?: (id: string, err: unknown) => void): ServiceSettings[] {
  const byId = new Map(global.services.map((s) => [s.id, s]));
  if (byId.size === 0 && !existsSync(global.stateDir)) {
    throw new UserError(`state dir ${global.stateDir} does not exist and no config names a service: check --state-dir (deploy creates it)`);
  }
  for (const id of listServices(global.stateDir)) {
    if (byId.has(id)) continue;
    try {
      byId.set(id, withDnsFlags(loadService(global.stateDir, id)!.settings, global.dnsFlags));
    } catch (err) {
      if (!onError) throw err;
      onError(id, err);
    }
  }
  return [...byId.values()];
}

/** DNS flags given now win over the settings a service was registered with (as they do over a config). */
function withDnsFlags(s: ServiceSettings, flags: GlobalSettings['dnsFlags']): ServiceSettings {
  if (!flags || Object.keys(flags).length === 0) return s;
  const dns = { ...s.dns, ...flags };
  // As for a config: a command means exec, an API URL powerdns, a server or key nsupdate, unless --dns says.
  if (!flags.backend) dns.backend = flags.command ? 'exec' : flags.apiUrl ? 'powerdns' : flags.server || flags.tsigKeyFile ? 'nsupdate' : s.dns.backend;
  return { ...s, dns };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const command: CommandModule<object, Args> = {
  command: 'advance',
  describe: 'Periodic run: promote staged chains whose records are ready, withdraw stale records',
  builder: (y) =>
    addServiceOptions(y)
      .option('wait', { type: 'boolean', describe: 'Keep running until no step waits (progress shown on a terminal)' })
      .option('max-wait', { type: 'number', default: 3600, describe: 'With --wait: give up after this many seconds' }) as never,
  handler: async (argv) => {
    const global = settingsFromArgs(argv, process.env, { needService: false });
    const args = argv as Args & CommonArgs;
    // One failing service neither stops the others nor runs again in this --wait.
    const failures: RunFailure[] = [];
    let services = allServices(global, (id, err) => failures.push(failure(id, err, args.verbose)));
    const deadline = Date.now() + (argv['max-wait'] ?? 3600) * 1000;
    // With --json and --wait, one document at the end: what every round did, as of the last round.
    const done = new Map<string, { steps: RunReport['steps']; emitted: string }>();
    let reports: RunReport[] = [];
    for (;;) {
      reports = [];
      for (const s of services) {
        const sink = jsonSink(args);
        const r = await runOne(global.stateDir, s, { kind: 'advance' }, { dryRun: args.dryRun, force: args.force, out: sink.out }, services.length === 1 && failures.length === 0, args.verbose);
        if (isFailure(r)) {
          failures.push(r);
          continue;
        }
        const before = done.get(s.id) ?? { steps: [], emitted: '' };
        done.set(s.id, { steps: [...before.steps, ...r.steps], emitted: before.emitted + sink.text() });
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
