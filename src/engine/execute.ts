// Carries out a plan's steps in their order, each through its edge (DNS backend, activate dir,
// reload command, live probe), saving the state that applyStep returns. A publish is saved before
// it is sent (a crash then leaves a record we know we may withdraw); anything else after it
// happened. Consecutive changes of one kind go to the backend together (one update per zone).
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import type { RecordChange } from '../dns/types.js';
import { recordText } from '../tlsa/record.js';
import { applyStep } from '../rollover/apply.js';
import { emptyState } from '../rollover/decide.js';
import { matchesKeyType } from '../config/lineages.js';
import type { Step } from '../rollover/types.js';
import type { FilesWriter } from '../state/atomic.js';
import { saveService, type ServiceFile } from '../state/store.js';
import type { DnsContext } from './dns-context.js';
import { reload, writeActivateDir } from './activate.js';
import { KEY_TYPES } from '../tls/probe.js';
import { leafProbe } from '../tls/presented-leaf.js';

export interface ApplyContext {
  stateDir: string;
  file: ServiceFile;
  settings: ServiceSettings;
  dns: DnsContext;
  now: number;
  /** A service with lineages: each lineage's view (its activate dir, key type); steps name theirs. */
  views?: Record<string, ServiceSettings>;
  /** How changes leave (default: this service's backend, one update per zone); many.ts batches services. */
  send?: (changes: RecordChange[]) => Promise<void>;
  /**
   * How the state is saved (default: written at once). `beforeSend` marks the save a publish needs
   * before its records leave the machine; many.ts defers every other save to one write at the end.
   */
  save?: (beforeSend: boolean) => Promise<unknown>;
  /** How the activate dir's files are written (default: at once; many.ts: without blocking). */
  write?: FilesWriter;
}

/** The changes split by the zone of each name ('' when not known), order kept within each. */
export function changesByZone(ctx: DnsContext, changes: RecordChange[]): Map<string, RecordChange[]> {
  const byZone = new Map<string, RecordChange[]>();
  for (const c of changes) {
    const zone = ctx.zoneOf[c.name] ?? '';
    byZone.set(zone, [...(byZone.get(zone) ?? []), c]);
  }
  return byZone;
}

async function applyChanges(ctx: DnsContext, changes: RecordChange[]): Promise<void> {
  for (const [zone, list] of changesByZone(ctx, changes)) await ctx.backend.apply(list, { zone });
}

const changeOf = (s: Extract<Step, { kind: 'publish' | 'withdraw' }>, ttl: number): RecordChange =>
  s.kind === 'publish' ? { op: 'add', name: s.name, ttl: s.ttl, record: s.record } : { op: 'delete', name: s.name, ttl, record: s.record };

/** Runs the steps; returns the steps done and, if the rest was held (--connect), why. */
export async function execute(run: ApplyContext, steps: Step[]): Promise<{ done: Step[]; held?: string }> {
  const { file } = run;
  const save = async (beforeSend = false) => (run.save ? run.save(beforeSend) : saveService(run.stateDir, file));
  const send = (changes: RecordChange[]) => (run.send ? run.send(changes) : applyChanges(run.dns, changes));
  const apply = (list: Step[]) => {
    for (const s of list) {
      if (s.lineage === undefined) file.rollover = applyStep(file.rollover, s, run.now);
      else file.lineages = { ...file.lineages, [s.lineage]: applyStep(file.lineages?.[s.lineage] ?? emptyState(), s, run.now) };
    }
  };
  const done: Step[] = [];
  const heldWhy: string[] = [];
  // Lineages whose verify failed: their withdrawals wait, the other lineages' go ahead.
  const heldLineages = new Set<string | undefined>();
  // Lineages promoted in one run share one reload: it runs once, after the last promotion.
  let reloaded = false;
  for (let i = 0; i < steps.length; ) {
    const step = steps[i]!;
    const settings = (step.lineage !== undefined && run.views?.[step.lineage]) || run.settings;
    if (step.kind === 'withdraw' && heldLineages.has(step.lineage)) {
      i++;
      continue;
    }
    if (step.kind === 'publish' || step.kind === 'withdraw') {
      let j = i;
      while (j < steps.length && steps[j]!.kind === step.kind) j++;
      const batch = steps.slice(i, j).filter((s) => s.kind !== 'withdraw' || !heldLineages.has(s.lineage)) as Extract<Step, { kind: 'publish' | 'withdraw' }>[];
      const text = batch.map((c) => `${c.name} ${recordText(c.record).slice(0, 22)}`).join(', ');
      if (step.kind === 'publish') {
        apply(batch);
        await save(true);
        await send(batch.map((s) => changeOf(s, settings.ttl)));
      } else {
        await send(batch.map((s) => changeOf(s, settings.ttl)));
        // An emitted withdrawal that can be checked stays owned until it is seen gone.
        if (run.dns.backend.applies || !run.dns.verified) apply(batch);
      }
      file.history.push({ at: run.now, what: `${step.kind === 'publish' ? 'published' : 'withdrew'} ${text}` });
      await save();
      done.push(...batch);
      i = j;
      continue;
    }
    if (step.kind === 'promote' && settings.activateDir) {
      const chain = file.chains[step.chainId];
      if (!chain) throw new UserError(`state for ${settings.id} names chain ${step.chainId.slice(0, 12)} but has no files for it; redeploy`);
      try {
        await writeActivateDir(chain.dir, settings.activateDir, run.write);
      } catch (err) {
        if (err instanceof UserError) throw err;
        // The chain is not recorded as in service: the next run promotes it again.
        throw new UserError(`--activate-dir ${settings.activateDir} could not be written (${(err as Error).message}); the chain stays pending and the next run tries again`, { cause: err });
      }
    }
    if (step.kind === 'reload' && settings.reload && !reloaded) await reload(settings.reload);
    if (step.kind === 'reload') reloaded = true;
    if (step.kind === 'promote') reloaded = false;
    if (step.kind === 'verify') {
      const problem = await verifyPresented(settings, step.chainId);
      if (problem) {
        const shown = step.lineage === undefined ? problem : `${step.lineage}: ${problem}`;
        file.history.push({ at: run.now, what: `withdrawal held: ${shown}` });
        await save();
        heldWhy.push(shown);
        heldLineages.add(step.lineage);
        i++;
        continue;
      }
    }
    apply([step]);
    if (step.kind === 'promote') file.history.push({ at: run.now, what: `${step.retry ? 're-' : ''}promoted ${step.chainId.slice(0, 12)}${step.immediate ? ' (first deploy, no wait)' : ''}` });
    await save();
    done.push(step);
    i++;
  }
  return heldWhy.length > 0 ? { done, held: heldWhy.join('; ') } : { done };
}

/**
 * Undefined when the live endpoint presents the chain in service; else what is wrong. An endpoint
 * may serve one certificate per key type (RSA + ECDSA): the chain counts as presented when the
 * endpoint presents it to a client that asks for its key type.
 */
async function verifyPresented(settings: ServiceSettings, chainId: string): Promise<string | undefined> {
  const connect = settings.connect!;
  const probe = leafProbe(connect, settings.starttls);
  const seen = new Set<string>();
  // A lineage's key type is asked first: the endpoint then presents that lineage's chain.
  const own = settings.lineage === undefined ? [] : KEY_TYPES.filter((k) => matchesKeyType(settings.lineage!, k)).slice(0, 1);
  // Right after a reload the service may still be starting: a refused connection is tried again.
  for (const keyType of [...own, undefined, ...KEY_TYPES.filter((k) => !own.includes(k))]) {
    let leaf: string;
    try {
      leaf = await probe({ keyType, refusedRetryMs: keyType && !own.includes(keyType) ? 0 : 5000 });
    } catch (err) {
      if (keyType) continue; // no certificate of that type: the handshake fails, nothing to learn
      return `could not read the chain ${connect} presents (${(err as Error).message}); stale records stay until it can be checked`;
    }
    if (leaf === chainId) return undefined;
    seen.add(leaf);
  }
  return `${connect} still presents ${seen.size > 1 ? 'other certificates' : 'another certificate'} than the one in service (did the reload fail?); stale records stay`;
}
