// Pieces every kind of run shares (one source, or several lineages): a new state file, the
// validity older state files lack, the report's readiness booleans, unanswered servers.
import type { ServiceSettings } from '../config/types.js';
import type { NameObservation } from '../dns/types.js';
import { emptyState } from '../rollover/decide.js';
import type { ChainReadiness, ChainRef, Decision, RolloverState } from '../rollover/types.js';
import { savedText, type ServiceFile } from '../state/store.js';
import { storedValidity } from './chain.js';
import { Exit, worst } from '../errors.js';
import type { RunReport, Trigger } from './types.js';

export function newFile(settings: ServiceSettings, now: number): ServiceFile {
  return { version: 1, id: settings.id, settings, rollover: emptyState(), chains: {}, history: [], updatedAt: now };
}

/**
 * State written before chains carried their validity: take it from the stored copy of the
 * certificate (notBefore too: the pre-renew gate needs the lifetime), else notAfter from the info.
 */
export function withValidity(state: RolloverState, file: ServiceFile): RolloverState {
  const fill = <T extends ChainRef | undefined>(c: T): T => {
    const info = c && file.chains[c.id];
    if (!c || !info || (c.notAfter !== undefined && c.notBefore !== undefined)) return c;
    const validity = storedValidity(info.dir);
    return { ...c, notAfter: c.notAfter ?? validity?.notAfter ?? Date.parse(info.notAfter), notBefore: c.notBefore ?? validity?.notBefore };
  };
  return { ...state, inService: fill(state.inService), pending: fill(state.pending), waiting: (state.waiting ?? []).map(fill), retiring: fill(state.retiring) };
}

/** The booleans of report version 1, from the per-combination readiness. */
export function roleReadiness(r: ChainReadiness[]): RunReport['readiness'] {
  const of = (role: ChainReadiness['role']) => r.find((x) => x.role === role)?.ready;
  return { inService: of('in service'), pending: of('pending'), next: of('next key') };
}

/** One warning per server that did not answer, so a failed observation is never silent. */
export function observationErrors(observations: NameObservation[]): string[] {
  const failed = new Map<string, string>();
  for (const o of observations) for (const a of o.answers) if (a.status === 'error') failed.set(a.server, a.error ?? 'no answer');
  return [...failed].map(([server, error]) => `authoritative server ${server} did not answer (${error}); records are not counted as served there`);
}

/** What the report says of a decision (one source, or several lineages) before its plan runs. */
export function decisionReport(service: string, trigger: Trigger['kind'], d: Pick<Decision, 'plan' | 'unsafe' | 'nextAt' | 'readiness' | 'held' | 'outcome'>, warnings: string[], applied: boolean): RunReport {
  return { service, trigger, steps: d.plan, applied, warnings, unsafe: d.unsafe, nextAt: d.nextAt, readiness: roleReadiness(d.readiness), combos: d.readiness, held: d.held, exitCode: d.outcome };
}

/** Withdrawals held by --connect did not happen: the report must not list them as done. */
export function reportHeld(report: RunReport, held: string | undefined): void {
  if (!held) return;
  report.held.push(held);
  report.warnings.push(held);
  report.exitCode = worst([report.exitCode, Exit.NOT_VERIFIED]);
}

/**
 * Whether the run changed the state, i.e. it must be written: the file as it would be written now
 * (with the time of the last write) is not the text read. The core writes maps in a fixed order,
 * so an unchanged state is the same text; a file written otherwise (by an older version) is
 * written once more.
 */
export function stateChanged(p: { file: ServiceFile; loadedText: string; loadedAt: number; unlocked?: boolean }): boolean {
  const changed = savedText({ ...p.file, updatedAt: p.loadedAt, history: p.file.history.slice(-50) }) !== p.loadedText;
  if (changed && p.unlocked) throw new Error(`internal: ${p.file.id} was prepared without its lock as idle, but its state changed`);
  return changed;
}
