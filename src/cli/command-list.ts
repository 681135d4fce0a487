// The commands, one line each: main.ts registers them (loading only the one run), the man page
// lists them. `load` brings the builder and handler only when it is the one run.
import type { CommandModule } from 'yargs';

export interface CommandEntry {
  describe: string;
  load: () => Promise<CommandModule<any, any>>;
  /** A plain call is parsed without yargs (cli/fast-argv.ts): the module has `fast`. */
  fast?: true;
}

export const COMMANDS: Record<string, CommandEntry> = {
  tlsa: { describe: 'Print TLSA records for certificate, key or CSR files', load: async () => (await import('./commands/tlsa.js')).default },
  deploy: { describe: "After a renewal: publish the new chain's records, put it in service when safe, withdraw stale ones", load: async () => (await import('./commands/deploy.js')).default, fast: true },
  'pre-renew': { describe: "Before a renewal: publish the next key's record (exit 5 while not ready)", load: async () => (await import('./commands/pre-renew.js')).default, fast: true },
  advance: { describe: 'Periodic run: promote ready chains, withdraw stale records', load: async () => (await import('./commands/advance.js')).default, fast: true },
  check: { describe: 'Monitoring check: live chain, validated TLSA, authoritative servers and files agree (exit 0-3)', load: async () => (await import('./commands/check.js')).default },
  status: { describe: 'Show records, readiness and the next step per service', load: async () => (await import('./commands/status.js')).default, fast: true },
};
