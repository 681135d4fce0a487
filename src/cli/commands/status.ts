// dane-hook status: what each service has published and what waits, for people and monitors.
import type { CommandModule } from 'yargs';
import { serviceStatus, type ServiceStatus } from '../../engine/status.js';
import { addServiceOptions, settingsFromArgs, type ServiceArgs } from '../service-options.js';
import { allServices } from '../services.js';
import { failure, worst } from './run-common.js';
import { activateDirWarning } from '../../state/activate-form.js';
import type { RunFailure } from '../report.js';
import { selectService } from '../select.js';
import type { FastCommand } from '../fast-argv.js';
import { lineageViews } from '../../config/lineages.js';

type Args = ServiceArgs & { offline?: boolean };

function text(s: ServiceStatus): string[] {
  const lines = [`${s.service} (${s.mode} mode${s.observed ? '' : ', not checked against DNS'})`];
  const chains = [['in service', s.inService], ['pending', s.pending], ...(s.waiting ?? []).map((c) => ['waiting', c] as const), ['next key', s.next]] as const;
  for (const [role, c] of chains) {
    if (c) lines.push(`  ${role.padEnd(10)} ${c.subject ?? c.id.slice(0, 16)}${c.notAfter ? ` (expires ${c.notAfter})` : ''}: ${c.ready ? 'matched by ready records' : 'not yet matched by ready records'} (${c.readiness})`);
  }
  for (const n of s.names) {
    lines.push(`  ${n.name}`);
    for (const r of n.records) {
      const served = r.servedBy ? ` served by ${r.servedBy}` : '';
      const ready = r.ready ? `ready since ${r.readyAt}` : r.readyAt ? `ready at ${r.readyAt}` : 'not served everywhere yet';
      const need = r.neededBy.length > 0 ? ` [${r.neededBy.join(', ')}]` : ' [stale]';
      lines.push(`    ${r.record.slice(0, 30)}… ${r.owner}${served}, ${ready}${need}`);
    }
  }
  if (s.nextSteps.length === 0) lines.push('  next step: none');
  for (const step of s.nextSteps) lines.push(`  next step: ${step}`);
  if (s.nextAt) lines.push(`  due: ${s.nextAt}`);
  return lines;
}

const OPTIONS = { offline: { type: 'boolean', describe: 'Do not ask DNS: show the state file only' } } as const;

const command: CommandModule<object, Args> & { fast: FastCommand } = {
  command: 'status',
  describe: 'Show, per service and TLSA name, the records published (by whom), what waits, and the next step',
  builder: (y) => addServiceOptions(y).options(OPTIONS),
  fast: { options: OPTIONS },
  handler: async (argv) => {
    const global = settingsFromArgs(argv, process.env, { needService: false });
    const statuses: ServiceStatus[] = [];
    // A service whose state cannot be read is one line on stderr and exit 2; the others still show.
    const failures: RunFailure[] = [];
    for (const s of selectService(allServices(global, (id, err) => failures.push(failure(id, err, argv.verbose as boolean | undefined))), argv.id).flatMap(lineageViews)) {
      try {
        const st = await serviceStatus(global.stateDir, s, { offline: argv.offline });
        const form = activateDirWarning(s.activateDir);
        statuses.push(form ? { ...st, warnings: [...st.warnings, form] } : st);
      } catch (err) {
        failures.push(failure(s.id, err, argv.verbose as boolean | undefined));
      }
    }
    process.exitCode = worst(failures.map((f) => f.exitCode));
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({ version: 1, services: statuses }, null, 2)}\n`);
      return;
    }
    if (statuses.length === 0) process.stdout.write(`no services in ${global.stateDir} or the config\n`);
    for (const s of statuses) {
      for (const w of s.warnings) process.stderr.write(`dane-hook: warning: ${s.service}: ${w}\n`);
      process.stdout.write(`${text(s).join('\n')}\n`);
    }
  },
};
export default command;
