// dane-hook deploy: after a renewal (certbot --deploy-hook, acme.sh --reloadcmd, dehydrated
// deploy_cert, lego --renew-hook) or by hand.
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.js';
import { fromEnvironment, fromFlags, resolveCertFiles } from '../../acme/index.js';
import { ignoredHookVerb } from '../../acme/dehydrated.js';
import { findServices } from '../../config/index.js';
import { addServiceOptions, hookArgs, settingsFromArgs, sourceFromArgs, type ServiceArgs } from '../service-options.js';
import { writeSpoolEntry } from '../../state/spool.js';
import { runAll, warnNoService, worst } from './run-common.js';
import { lineageViews } from '../../config/lineages.js';
import type { ServiceSettings } from '../../config/types.js';
import type { CertFiles } from '../../acme/types.js';
import type { FastCommand } from '../fast-argv.js';

type Args = ServiceArgs & { spool?: boolean };

const OPTIONS = {
  spool: { type: 'boolean', describe: 'Only record the renewal (a small file in the state dir); the next `advance` does the work for all recorded renewals at once (certbot --post-hook)' },
} as const;

const command: CommandModule<object, Args> & { fast: FastCommand } = {
  command: 'deploy [hook-args..]',
  describe: 'After a renewal: publish the new chain\'s records; put it in service when safe; withdraw stale records',
  builder: (y) =>
    addServiceOptions(y)
      .positional('hook-args', { type: 'string', array: true, describe: "dehydrated's hook arguments: deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP" })
      .options(OPTIONS)
      .example('$0 deploy --lineage /etc/letsencrypt/live/mx.example.com --tlsa-name _25._tcp.mx.example.com --dns nsupdate --server ns1.example.com --tsig-key /etc/dane-hook/tsig.key --activate-dir /etc/dane-hook/active/mx --reload "systemctl reload postfix"', 'by hand, staged mode')
      .example('certbot renew --deploy-hook "$0 deploy --spool --quiet --config /etc/dane-hook/config.json" --post-hook "$0 advance --quiet --config /etc/dane-hook/config.json"', 'many lineages: record each renewal, one run at the end') as never,
  fast: { options: OPTIONS, positional: 'hook-args' },
  handler: async (argv) => {
    const args = hookArgs(argv);
    // dehydrated calls one hook for every event; only deploy_cert concerns us.
    if (ignoredHookVerb(args) !== undefined) return;
    const global = settingsFromArgs(argv);
    // --spool records what a hook was called for: by hand with no files there is nothing to record.
    if (!argv.spool && fromFlags(sourceFromArgs(argv)) === undefined && fromEnvironment(process.env, args) === undefined) {
      // By hand, no files named and no hook environment: each service re-reads the files its
      // settings name (config lineage/cert/key), so `deploy --config C [--id ID]` just works.
      const chosen = global.services.filter((s) => argv.id === undefined || s.id === argv.id);
      // Each source's files are found once, and not parsed for their names: the service is known.
      const own = new Map<ServiceSettings, CertFiles>();
      for (const s of chosen) {
        const files = s.lineages ? undefined : fromFlags(s.source, false);
        if (files) own.set(s, files);
      }
      // A service with lineages deploys each lineage's files in turn.
      const lineages = chosen.flatMap((s) => (s.lineages ? lineageViews(s).flatMap((v) => { const files = fromFlags(v.source, false); return files === undefined ? [] : [{ s, files }]; }) : []));
      if (own.size + lineages.length > 0) {
        const codes: number[] = [];
        if (own.size > 0) codes.push((await runAll(global, [...own.keys()], (s) => ({ kind: 'deploy', files: own.get(s)! }), argv)).code);
        for (const { s, files } of lineages) codes.push((await runAll(global, [s], () => ({ kind: 'deploy', files }), argv)).code);
        process.exitCode = worst(codes);
        return;
      }
    }
    const files = resolveCertFiles(sourceFromArgs(argv), process.env, args);
    if (files.pending) throw new UserError('deploy was called before a certificate was issued (acme.sh --pre-hook environment): use dane-hook pre-renew there');
    // Files named by flags are the user's choice for the only service. A hook runs for every
    // certificate the client renews: its files must match a service (place, or names = TLSA hosts).
    const services = files.client === 'flags' && global.services.length === 1 ? global.services : findServices(global, files);
    if (services.length === 0) {
      warnNoService(global, files);
      return;
    }
    if (argv.spool) {
      if (argv.dryRun) return void process.stderr.write(`dane-hook: would record the renewal of ${services.map((s) => s.id).join(', ')} for the next advance\n`);
      const path = writeSpoolEntry(global.stateDir, files);
      if (!argv.quiet) process.stderr.write(`dane-hook: recorded the renewal of ${services.map((s) => s.id).join(', ')} in ${path}: the next \`dane-hook advance\` does the work\n`);
      return;
    }
    const { code } = await runAll(global, services, () => ({ kind: 'deploy', files }), argv);
    process.exitCode = code;
  },
};
export default command;
