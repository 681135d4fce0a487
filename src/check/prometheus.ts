// `check --format prometheus` / `--textfile`: the check's verdict and facts in the Prometheus text
// exposition format (version 0.0.4), for node_exporter's textfile collector or any scraper. Pure:
// the verdicts, the facts they came from and the rollover state in, text out.
import type { RolloverState } from '../rollover/types.js';
import { recordKey, recordText, type TlsaRecord } from '../tlsa/record.js';
import { EXIT_OF, rrset, type EndpointFacts, type ServiceVerdict } from './evaluate.js';

export interface PrometheusInput {
  verdict: ServiceVerdict;
  facts: EndpointFacts[];
  /** The service's rollover state, when it has a state file. */
  rollover?: RolloverState;
}

type Labels = Record<string, string | number>;

// Label values: backslash, double quote and line feed are the three characters to escape.
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (l: Labels) => (Object.keys(l).length === 0 ? '' : `{${Object.entries(l).map(([k, v]) => `${k}="${escape(String(v))}"`).join(',')}}`);
const recordLabels = (r: TlsaRecord): Labels => ({ usage: r.usage, selector: r.selector, matching: r.matching, data: r.data });

class Exposition {
  private readonly families = new Map<string, { help: string; type: string; samples: string[] }>();
  family(name: string, type: 'gauge', help: string): void {
    this.families.set(name, { help, type, samples: [] });
  }
  sample(name: string, labels: Labels, value: number): void {
    const f = this.families.get(name)!;
    const line = `${name}${labelText(labels)} ${Number.isFinite(value) ? value : 'NaN'}`;
    // One series per label set: a record served at a name twice is one fact.
    if (!f.samples.includes(line)) f.samples.push(line);
  }
  text(): string {
    return [...this.families].map(([name, f]) => `# HELP ${name} ${f.help}\n# TYPE ${name} ${f.type}\n${f.samples.map((s) => `${s}\n`).join('')}`).join('');
  }
}

/** Every metric family, each with its HELP and TYPE even when it has no sample. */
export function renderPrometheus(services: PrometheusInput[], now: number): string {
  const x = new Exposition();
  x.family('dane_hook_check_state', 'gauge', 'Check result per service: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN');
  x.family('dane_hook_tlsa_record_matches', 'gauge', 'Per TLSA record served at a name: 1 when it matches the chain the endpoint presents, else 0');
  x.family('dane_hook_certificate_expiry_timestamp_seconds', 'gauge', 'notAfter of the certificate the endpoint presents, Unix time');
  x.family('dane_hook_auth_servers_agree', 'gauge', 'Per TLSA name: 1 when every authoritative server answered with the same RRset, else 0');
  x.family('dane_hook_auth_servers', 'gauge', 'Authoritative servers asked per TLSA name');
  x.family('dane_hook_record_ready_timestamp_seconds', 'gauge', 'When a record of the pending chain or next key is (or was) ready: served everywhere for 2 x TTL, Unix time');
  x.family('dane_hook_check_timestamp_seconds', 'gauge', 'When this check ran, Unix time');
  for (const { verdict, facts, rollover } of services) {
    const service = verdict.service;
    x.sample('dane_hook_check_state', { service }, EXIT_OF[verdict.severity]);
    for (const f of facts) {
      const endpoint = verdict.endpoints.find((e) => e.name === f.name && e.connect === f.connect);
      const matched = new Set(endpoint?.matchedBy ?? []);
      for (const r of rrset(f)) x.sample('dane_hook_tlsa_record_matches', { service, name: f.name, ...recordLabels(r) }, matched.has(recordText(r)) ? 1 : 0);
      if (endpoint?.leaf) x.sample('dane_hook_certificate_expiry_timestamp_seconds', { service, name: f.name, connect: f.connect }, Date.parse(endpoint.leaf.notAfter) / 1000);
      if (f.auth.length > 0) {
        const disagree = endpoint?.findings.some((d) => d.code === 'auth-disagree' || d.code === 'auth-error') ?? true;
        x.sample('dane_hook_auth_servers_agree', { service, name: f.name }, disagree ? 0 : 1);
      }
      x.sample('dane_hook_auth_servers', { service, name: f.name }, f.auth.length);
    }
    for (const role of ['pending', 'next'] as const) {
      const chain = rollover?.[role];
      for (const r of chain?.records ?? []) {
        for (const [name, seen] of Object.entries(rollover!.seen)) {
          const entry = seen[recordKey(r)];
          if (entry) x.sample('dane_hook_record_ready_timestamp_seconds', { service, role, name, ...recordLabels(r) }, entry.readyAt / 1000);
        }
      }
    }
  }
  x.sample('dane_hook_check_timestamp_seconds', {}, now / 1000);
  return x.text();
}
