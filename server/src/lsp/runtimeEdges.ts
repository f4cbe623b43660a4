// Runtime evidence for the lock-order rule: lock-order edges a traced program showed
// (`locklens/runtimeEdges`, sent by the client) checked against each other and against the static
// lock graph. Pure: the server passes in the static graph and a lookup of static acquisitions.
//
// Mapping runtime lock classes to static ones (docs/protocol.md, `locklens/runtimeEdges`):
//   1. the runtime name (`Mutex::named("Midas.odb", ..)`) equals a static class id, or
//   2. it equals the last segment of exactly one static class id, ignoring case (`"ODB"` →
//      `Midas.odb`), or
//   3. the acquisition site: the static acquisition at the same file and line as the runtime
//      site where that class was taken (`fromSite` for `from`, `toSite` for `to`).
// Classes that map to nothing keep a runtime identity (name, else kind@creation site).

import { Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Range } from 'vscode-languageserver';
import type { LockGraphResult, RuntimeEdge, RuntimeLockClass, RuntimeSite } from '../../../common/protocol';
import type { SeveritySetting } from '../../../common/settings';

export interface StaticAcquisition {
  lock: string;
  range: Range;
}

export interface RuntimeEvidence {
  label: string;
  edges: RuntimeEdge[];
}

/** Static acquisitions at a 1-based line of a file (by uri). */
export type StaticLookup = (uri: string, line: number) => StaticAcquisition[];

export const MAX_RUNTIME_EDGES = 2000;

function runtimeKey(c: RuntimeLockClass): string {
  return c.name !== null ? `rt:${c.name}` : `rt:${c.kind}@${c.created.file}:${c.created.line}`;
}

export function runtimeLabel(c: RuntimeLockClass): string {
  return c.name !== null ? c.name : `${c.kind} created at ${c.created.file}:${c.created.line}`;
}

/** Maps a runtime class to a static class id (or undefined). */
export function staticClassFor(c: RuntimeLockClass, site: RuntimeSite, staticIds: string[], lookup: StaticLookup): string | undefined {
  if (c.name !== null) {
    if (staticIds.includes(c.name)) return c.name;
    const lower = c.name.toLowerCase();
    const bySegment = staticIds.filter((id) => {
      const seg = id.split(/::|\./).pop() ?? id;
      return seg.toLowerCase() === lower || id.toLowerCase() === lower;
    });
    if (bySegment.length === 1) return bySegment[0];
  }
  if (site.uri) {
    const at = lookup(site.uri, site.line);
    const locks = [...new Set(at.map((a) => a.lock))];
    if (locks.length === 1) return locks[0];
  }
  return undefined;
}

function siteRange(site: RuntimeSite, lookup: StaticLookup, lock?: string): Range {
  const at = site.uri ? lookup(site.uri, site.line) : [];
  const match = at.find((a) => a.lock === lock) ?? at[0];
  if (match) return match.range;
  const line = Math.max(0, site.line - 1);
  const ch = Math.max(0, site.col - 1);
  return { start: { line, character: ch }, end: { line, character: ch + 1 } };
}

const where = (s: RuntimeSite) => `${s.file}:${s.line}`;

/** Reachability in a directed graph given as adjacency sets. */
function path(adj: Map<string, Set<string>>, from: string, to: string): boolean {
  const seen = new Set<string>([from]);
  const todo = [from];
  while (todo.length) {
    const n = todo.pop()!;
    if (n === to) return true;
    for (const m of adj.get(n) ?? []) if (!seen.has(m)) (seen.add(m), todo.push(m));
  }
  return false;
}

/**
 * The user's severity for `lock-order-inversion` in a file (`locklens.severity` over the crate's
 * `[package.metadata.locklens]` severities), as for static findings.
 */
export type RuntimeSeverityOf = (uri: string) => SeveritySetting;

const SEVERITY: Record<Exclude<SeveritySetting, 'default' | 'off'>, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/**
 * Diagnostics by uri for all runtime evidence. `severityOf` applies the user's setting for
 * `lock-order-inversion` the way static findings get it: `off` drops the runtime diagnostics too,
 * an explicit severity replaces the default Error of confirmed inversions. An order that was only
 * observed (no inversion, no contradiction with the code) is a Hint whatever the setting, except
 * `off`: it is context, not a finding.
 */
export function runtimeDiagnostics(evidence: RuntimeEvidence[], graph: LockGraphResult, lookup: StaticLookup, severityOf: RuntimeSeverityOf = () => 'default'): Map<string, Diagnostic[]> {
  const staticIds = graph.nodes.map((n) => n.id);
  const staticAdj = new Map<string, Set<string>>();
  const staticEdge = new Map<string, LockGraphResult['edges'][number]>();
  for (const e of graph.edges) {
    (staticAdj.get(e.from) ?? staticAdj.set(e.from, new Set()).get(e.from)!).add(e.to);
    staticEdge.set(`${e.from}\u0000${e.to}`, e);
  }
  interface Mapped {
    edge: RuntimeEdge;
    label: string;
    a: string;
    b: string;
    aStatic?: string;
    bStatic?: string;
  }
  const mapped: Mapped[] = [];
  for (const ev of evidence) {
    for (const edge of ev.edges) {
      if (mapped.length >= MAX_RUNTIME_EDGES) break;
      const aStatic = staticClassFor(edge.from, edge.fromSite, staticIds, lookup);
      const bStatic = staticClassFor(edge.to, edge.toSite, staticIds, lookup);
      const a = aStatic ?? runtimeKey(edge.from);
      const b = bStatic ?? runtimeKey(edge.to);
      if (a === b) continue; // two instances of one class: not an order between classes
      mapped.push({ edge, label: ev.label, a, b, aStatic, bStatic });
    }
  }
  const rtAdj = new Map<string, Set<string>>();
  for (const m of mapped) (rtAdj.get(m.a) ?? rtAdj.set(m.a, new Set()).get(m.a)!).add(m.b);

  const out = new Map<string, Diagnostic[]>();
  const seen = new Set<string>();
  const add = (uri: string, d: Diagnostic) => {
    const setting = severityOf(uri);
    if (setting === 'off') return;
    if (setting !== 'default' && d.severity === DiagnosticSeverity.Error) d.severity = SEVERITY[setting];
    const key = `${uri}\u0000${d.range.start.line}\u0000${d.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    (out.get(uri) ?? out.set(uri, []).get(uri)!).push(d);
  };
  const loc = (s: RuntimeSite, lock?: string) => (s.uri ? { uri: s.uri, range: siteRange(s, lookup, lock) } : undefined);

  for (const m of mapped) {
    const { edge } = m;
    const uri = edge.toSite.uri;
    if (!uri) continue;
    const A = m.aStatic ?? runtimeLabel(edge.from);
    const B = m.bStatic ?? runtimeLabel(edge.to);
    const range = siteRange(edge.toSite, lookup, m.bStatic);
    const related: DiagnosticRelatedInformation[] = [];
    const fromLoc = loc(edge.fromSite, m.aStatic);
    if (fromLoc) related.push({ location: fromLoc, message: `runtime: ${edge.thread} acquired ${A} here first` });
    const runtimeCycle = path(rtAdj, m.b, m.a);
    const staticCycle = m.aStatic !== undefined && m.bStatic !== undefined && path(staticAdj, m.bStatic, m.aStatic);
    if (runtimeCycle) {
      // The reverse order as observed (a direct B→A edge if there is one).
      const reverse = mapped.find((o) => o.a === m.b && o.b === m.a) ?? mapped.find((o) => o.a === m.b && path(rtAdj, o.b, m.a));
      if (reverse) {
        const r = loc(reverse.edge.toSite, reverse.bStatic);
        if (r) related.push({ location: r, message: `runtime: ${reverse.edge.thread} holds ${reverse.aStatic ?? runtimeLabel(reverse.edge.from)} while acquiring ${reverse.bStatic ?? runtimeLabel(reverse.edge.to)} here` });
      }
      add(uri, {
        range,
        severity: DiagnosticSeverity.Error,
        code: 'lock-order-inversion',
        source: 'locklens (runtime)',
        message:
          `Runtime-confirmed lock-order inversion: ${edge.thread} held ${A} (taken at ${where(edge.fromSite)}) while acquiring ${B} here, ` +
          (reverse ? `and ${reverse.edge.thread} took ${reverse.aStatic ?? runtimeLabel(reverse.edge.from)} before ${reverse.bStatic ?? runtimeLabel(reverse.edge.to)} at ${where(reverse.edge.toSite)}` : `and the opposite order was also observed`) +
          ` (${m.label}). These paths deadlock when they run at the same time.`,
        relatedInformation: related,
      });
    } else if (staticCycle) {
      const back = staticEdge.get(`${m.bStatic}\u0000${m.aStatic}`) ?? graph.edges.find((e) => e.from === m.bStatic && path(staticAdj, e.to, m.aStatic!));
      for (const s of back?.sites.slice(0, 3) ?? []) related.push({ location: { uri: s.uri, range: s.range }, message: `static: ${back!.from} is held while ${back!.to} is acquired here (in ${s.functionName})` });
      add(uri, {
        range,
        severity: DiagnosticSeverity.Error,
        code: 'lock-order-inversion',
        source: 'locklens (runtime)',
        message: `Lock-order inversion confirmed at runtime: ${edge.thread} held ${A} (taken at ${where(edge.fromSite)}) while acquiring ${B} here (${m.label}); the code also takes ${B} before ${A}${back?.sites[0] ? ` (${back.sites[0].functionName})` : ''}.`,
        relatedInformation: related,
      });
    } else if (!(m.aStatic && m.bStatic && staticEdge.has(`${m.aStatic}\u0000${m.bStatic}`))) {
      add(uri, {
        range,
        severity: DiagnosticSeverity.Hint,
        code: 'lock-order-inversion',
        source: 'locklens (runtime)',
        message: `Observed at runtime: ${edge.thread} held ${A} (taken at ${where(edge.fromSite)}) while acquiring ${B} here (${m.label}). The static lock graph does not have this order${m.aStatic && m.bStatic ? '' : ` (${[m.aStatic ? '' : A, m.bStatic ? '' : B].filter(Boolean).join(' and ')} not found statically)`}: it goes through code LockLens cannot follow (a closure, trait object or FFI).`,
        relatedInformation: related,
      });
    }
  }
  return out;
}
