// What every authoritative server serves for the TLSA names of one service, as check sees them:
// a CNAME'd name is followed at the servers too (RFC 7671 7), first at the name's own servers,
// then, when the target lies in another zone, at that zone's servers. Failures become findings.
import type { ServiceSettings } from '../config/types.js';
import { MAX_CNAME_LINKS } from '../dns/cname.js';
import { observeTlsa } from '../dns/observer.js';
import type { ServerAnswer } from '../dns/types.js';
import { dnsContext, type DnsContext } from '../engine/dns-context.js';
import type { Finding } from './evaluate.js';

export interface AuthView {
  answersOf(name: string): Promise<ServerAnswer[]>;
  zoneSigned?: boolean;
  findings: Finding[];
}

const ask = (name: string, ctx: DnsContext) => observeTlsa(name, ctx.serversOf[ctx.zoneOf[name] ?? ''] ?? ctx.authServers, { retries: 1, allowCname: true });

export async function authoritativeView(settings: ServiceSettings): Promise<AuthView> {
  let ctx: DnsContext;
  try {
    ctx = await dnsContext(settings);
  } catch (e) {
    const finding: Finding = { severity: 'WARNING', code: 'auth-error', message: `cannot ask the authoritative servers: ${(e as Error).message}` };
    return { answersOf: async () => [], findings: [finding] };
  }
  if (!ctx.verified) return { answersOf: async () => [], findings: [] };
  return { answersOf: (name) => following(name, ctx, settings), zoneSigned: ctx.signed, findings: [] };
}

/** The answers at the end of the name's CNAME chain, each still marked with the target. */
async function following(name: string, ctx: DnsContext, settings: ServiceSettings): Promise<ServerAnswer[]> {
  let answers = (await ask(name, ctx)).answers;
  const seen = new Set<string>([name]);
  for (let links = 0; links < MAX_CNAME_LINKS; links++) {
    const target = answers.find((a) => a.cname)?.cname;
    if (!target || seen.has(target)) break;
    seen.add(target);
    // The target is asked of the same servers first; not theirs: of its own zone's servers.
    const there = await observeTlsa(target, ctx.authServers, { retries: 1, allowCname: true });
    let next = there.answers;
    if (next.every((a) => a.status === 'error')) {
      try {
        next = (await ask(target, await dnsContext({ ...settings, tlsaNames: [target], dns: { ...settings.dns, zone: undefined } }))).answers;
      } catch (e) {
        return answers.map((a) => ({ ...a, status: 'error' as const, error: `CNAME target ${target}: ${(e as Error).message}` }));
      }
    }
    answers = next.map((a) => ({ ...a, cname: a.cname ?? target }));
    if (!next.some((a) => a.cname && a.cname !== target)) break;
  }
  return answers;
}
