// `locklens report` (Markdown lock audit) and `locklens graph` (dot, mermaid, json).

import * as fs from 'fs';
import * as path from 'path';
import type { LockGraph } from '../analysis/graph';
import { oneOf, parseArgs, UsageError } from './args';
import { ANALYSIS_FLAGS, loadAndCheck, sortFindings } from './main';
import { VERSION } from './output';
import { unreadCallWarnings, workspaceFindings, workspaceGraph } from '../workspace/graph';
import { renderReport } from '../workspace/report';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

export async function reportCommand(argv: string[], out: Out): Promise<number> {
  const args = parseArgs(argv, { ...ANALYSIS_FLAGS, out: true });
  if (args.positionals.length !== 1) throw new UsageError('report takes exactly one PATH');
  const { models, results, ioError } = await loadAndCheck(args, out);
  if (ioError) return 2;
  const result = results[0];
  const graph = workspaceGraph(result);
  const findings = [...result.findings, ...workspaceFindings(result, graph)];
  for (const m of unreadCallWarnings(result)) out.stderr(`${m}\n`);
  sortFindings(findings);
  const title = result.crates.length === 1 ? result.crates[0].crate.name : path.basename(models[0].base);
  const md = renderReport(result, graph, findings, { title, version: VERSION, date: new Date().toISOString().slice(0, 10) });
  const target = args.flags.get('out');
  if (typeof target === 'string') {
    try {
      fs.writeFileSync(target, md);
    } catch (e) {
      out.stderr(`locklens: cannot write ${target}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      return 2;
    }
    out.stderr(`locklens: wrote ${target}\n`);
  } else out.stdout(md);
  return 0;
}

export async function graphCommand(argv: string[], out: Out): Promise<number> {
  const args = parseArgs(argv, { ...ANALYSIS_FLAGS, format: true });
  if (args.positionals.length !== 1) throw new UsageError('graph takes exactly one PATH');
  const format = oneOf(args, 'format', ['dot', 'mermaid', 'json'] as const, 'dot');
  const { results, ioError } = await loadAndCheck(args, out);
  if (ioError) return 2;
  const graph = workspaceGraph(results[0]);
  for (const m of unreadCallWarnings(results[0])) out.stderr(`${m}\n`);
  out.stdout(format === 'json' ? graphJson(graph) + '\n' : format === 'mermaid' ? graphMermaid(graph) : graphDot(graph));
  return 0;
}

export function graphJson(g: LockGraph): string {
  return JSON.stringify(
    {
      version: 1,
      nodes: g.nodes.map((n) => ({ id: n.id, modes: n.modes, sites: n.acquisitions.length, inCycle: g.cycles.some((c) => c.locks.includes(n.id)) })),
      edges: g.edges.map((e) => ({
        from: e.from,
        to: e.to,
        inCycle: e.inCycle,
        evidence: e.evidence.map((ev) => ({
          outer: { file: ev.outer.file, line: ev.outer.range.start.line + 1, column: ev.outer.range.start.column + 1, mode: ev.outer.mode, function: ev.outer.functionName },
          calls: ev.calls.map((c) => ({ file: c.file, line: c.range.start.line + 1, column: c.range.start.column + 1, caller: c.caller, callee: c.callee, may: c.may })),
          inner: { file: ev.inner.file, line: ev.inner.range.start.line + 1, column: ev.inner.range.start.column + 1, mode: ev.inner.mode, function: ev.inner.functionName },
        })),
      })),
      cycles: g.cycles.map((c) => ({ locks: c.locks, blocking: c.blocking })),
    },
    null,
    2,
  );
}

function dotId(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function graphDot(g: LockGraph): string {
  const lines = ['digraph locklens {', '  rankdir=LR;', '  node [shape=box, fontname="monospace"];'];
  const cyc = new Set(g.cycles.flatMap((c) => c.locks));
  for (const n of g.nodes) lines.push(`  ${dotId(n.id)} [label=${dotId(`${n.id}\n${n.modes.join(', ')} · ${n.acquisitions.length} sites`)}${cyc.has(n.id) ? ', color=red, penwidth=2' : ''}];`);
  for (const e of g.edges) {
    const ev = e.evidence[0];
    const label = ev.calls.length ? `${ev.outer.functionName} → ${ev.calls.map((c) => c.callee).join(' → ')}` : ev.outer.functionName;
    lines.push(`  ${dotId(e.from)} -> ${dotId(e.to)} [label=${dotId(label)}${e.inCycle ? ', color=red, penwidth=2' : ''}];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function graphMermaid(g: LockGraph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, `L${i}`]));
  const q = (s: string) => s.replace(/"/g, '#quot;');
  const lines = ['flowchart LR'];
  for (const n of g.nodes) lines.push(`  ${ids.get(n.id)}["${q(n.id)}<br/>${n.modes.join(', ')}"]`);
  const red: number[] = [];
  g.edges.forEach((e, i) => {
    const ev = e.evidence[0];
    const label = ev.calls.length ? ev.calls.map((c) => c.callee).join(' → ') : ev.outer.functionName;
    lines.push(`  ${ids.get(e.from) ?? q(e.from)} -->|"${q(label)}"| ${ids.get(e.to) ?? q(e.to)}`);
    if (e.inCycle) red.push(i);
  });
  if (red.length) lines.push(`  linkStyle ${red.join(',')} stroke:#d00,stroke-width:2px`);
  const cyc = g.nodes.filter((n) => g.cycles.some((c) => c.locks.includes(n.id))).map((n) => ids.get(n.id));
  if (cyc.length) lines.push(`  classDef cycle stroke:#d00,stroke-width:2px`, `  class ${cyc.join(',')} cycle`);
  return lines.join('\n') + '\n';
}
