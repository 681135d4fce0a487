// Carries out a plan's steps in their order: publishes, then a promotion (activate dir swap and
// reload), then withdrawals, saving the state before each change leaves the machine.
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import type { RecordChange } from '../dns/types.js';
import { recordKey, recordText } from '../tlsa/record.js';
import type { Step } from '../rollover/types.js';
import { saveService, type ServiceFile } from '../state/store.js';
import type { DnsContext } from './dns-context.js';
import { reload, writeActivateDir } from './activate.js';
import { parseEndpoint, presentedChain } from '../tls/probe.js';
import { defaultStartTls } from '../tls/starttls.js';

function byZone(ctx: DnsContext, changes: RecordChange[]): Map<string, RecordChange[]> {
  const out = new Map<string, RecordChange[]>();
  for (const c of changes) {
    const zone = ctx.zoneOf[c.name] ?? '';
    out.set(zone, [...(out.get(zone) ?? []), c]);
  }
  return out;
}

async function applyChanges(ctx: DnsContext, changes: RecordChange[]): Promise<void> {
  for (const [zone, list] of byZone(ctx, changes)) await ctx.backend.apply(list, { zone });
}

/**
 * Applies steps in plan order: publishes, then the promotion, then withdrawals. Returns why the
 * withdrawals were held, if they were.
 */
export async function execute(stateDir: string, file: ServiceFile, settings: ServiceSettings, ctx: DnsContext, steps: Step[], now: number): Promise<string | undefined> {
  const adds: RecordChange[] = [];
  const dels: RecordChange[] = [];
  let promote: Extract<Step, { kind: 'promote' }> | undefined;
  for (const s of steps) {
    if (s.kind === 'publish') adds.push({ op: 'add', name: s.name, ttl: s.ttl, record: s.record });
    else if (s.kind === 'withdraw') dels.push({ op: 'delete', name: s.name, ttl: settings.ttl, record: s.record });
    else promote = s;
  }
  if (adds.length > 0) {
    // Owned before sent: a crash after the update leaves a record we know we may withdraw.
    const known = new Set(file.rollover.owned.map((o) => `${o.name} ${recordKey(o.record)}`));
    const owned = adds.filter((c) => !known.has(`${c.name} ${recordKey(c.record)}`)).map((c) => ({ name: c.name, record: c.record, ttl: c.ttl, addedAt: now }));
    file.rollover = { ...file.rollover, owned: [...file.rollover.owned, ...owned] };
    saveService(stateDir, file);
    await applyChanges(ctx, adds);
    file.history.push({ at: now, what: `published ${adds.map((c) => `${c.name} ${recordText(c.record).slice(0, 22)}`).join(', ')}` });
    saveService(stateDir, file);
  }
  if (promote) {
    const chain = file.chains[promote.chainId];
    if (settings.activateDir && !chain) throw new UserError(`state for ${settings.id} names chain ${promote.chainId.slice(0, 12)} but has no files for it; redeploy`);
    if (!promote.retry) {
      // Saved before the swap: until the reload is known to have worked, both chains may be
      // presented, so the previous chain's records stay (a crash or failed reload converges).
      file.rollover = { ...file.rollover, inService: file.rollover.pending, pending: undefined, retiring: settings.activateDir ? file.rollover.inService : undefined };
      saveService(stateDir, file);
    }
    if (settings.activateDir) {
      writeActivateDir(chain!.dir, settings.activateDir);
      if (settings.reload) await reload(settings.reload);
    }
    file.rollover = { ...file.rollover, retiring: undefined };
    file.history.push({ at: now, what: `${promote.retry ? 're-' : ''}promoted ${promote.chainId.slice(0, 12)}${promote.immediate ? ' (first deploy, no wait)' : ''}` });
    saveService(stateDir, file);
  }
  if (dels.length > 0 && settings.connect) {
    // Withdraw only once the service shows the chain in service (a failed reload keeps the old one).
    const problem = await verifyPresented(settings, file.rollover.inService?.id);
    if (problem) {
      file.history.push({ at: now, what: `withdrawal held: ${problem}` });
      return problem;
    }
  }
  if (dels.length > 0) {
    await applyChanges(ctx, dels);
    if (ctx.backend.applies || !ctx.verified) {
      const gone = new Set(dels.map((c) => `${c.name} ${recordKey(c.record)}`));
      file.rollover = { ...file.rollover, owned: file.rollover.owned.filter((o) => !gone.has(`${o.name} ${recordKey(o.record)}`)) };
    }
    file.history.push({ at: now, what: `withdrew ${dels.map((c) => `${c.name} ${recordText(c.record).slice(0, 22)}`).join(', ')}` });
    saveService(stateDir, file);
  }
  return undefined;
}

/** Undefined when the live endpoint presents the chain in service; else what is wrong. */
async function verifyPresented(settings: ServiceSettings, chainId: string | undefined): Promise<string | undefined> {
  const connect = settings.connect!;
  const starttls = settings.starttls ?? defaultStartTls(parseEndpoint(connect).port);
  let presented: Buffer[];
  try {
    presented = await presentedChain(connect, starttls, { timeoutMs: 10_000 });
  } catch (err) {
    return `could not read the chain ${connect} presents (${(err as Error).message}); stale records stay until it can be checked`;
  }
  const leaf = presented[0] ? createHash('sha256').update(presented[0]).digest('hex') : '';
  if (leaf !== chainId) return `${connect} still presents another certificate than the one in service (did the reload fail?); stale records stay`;
  return undefined;
}

