// The Markdown report of `LockLens: Generate Report`: findings by rule and file, and the
// lock-order cycles of the lock graph. Pure: the extension gathers the data.

import type { LockGraphResult } from '../protocol';
import { RULE_TITLES, isRuleName } from '../rules';
// The order `locklens report` uses, not the locale's: one crate reads the same from the CLI and the editor.
import { compareText } from '../../server/src/analysis/sorted';

export type ReportSeverity = 'error' | 'warning' | 'information' | 'hint';

export interface ReportFinding {
  /** Label of the file (workspace-relative path). */
  file: string;
  /** 0-based. */
  line: number;
  character: number;
  rule: string;
  severity: ReportSeverity;
  message: string;
  /** Link to the rule's documentation, when known. */
  docs?: string;
}

export interface ReportInput {
  title: string;
  generatedAt: string;
  findings: ReportFinding[];
  graph?: LockGraphResult;
  label?: (uri: string) => string;
}

const ORDER: ReportSeverity[] = ['error', 'warning', 'information', 'hint'];

/** One line of Markdown text: newlines folded, table and HTML metacharacters neutralised. */
function inline(text: string): string {
  return text.replace(/\r?\n\s*/g, ' ').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderReport(input: ReportInput): string {
  const label = input.label ?? ((uri: string) => uri);
  const out: string[] = [];
  out.push(`# ${inline(input.title)}`, '', `Generated ${inline(input.generatedAt)}.`, '');
  const findings = [...input.findings].sort(
    (a, b) => compareText(a.file, b.file) || a.line - b.line || a.character - b.character || compareText(a.rule, b.rule),
  );
  const bySeverity = ORDER.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
  out.push(
    `**${findings.length} finding(s)**` + (bySeverity.length > 0 ? `: ${bySeverity.map(([s, n]) => `${n} ${s}`).join(', ')}` : '') + '.',
    '',
  );
  if (findings.length > 0) {
    const rules = new Map<string, number>();
    for (const f of findings) rules.set(f.rule, (rules.get(f.rule) ?? 0) + 1);
    out.push('## By rule', '', '| Rule | Findings | What it means |', '| --- | ---: | --- |');
    for (const [rule, n] of [...rules].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]))) {
      const docs = findings.find((f) => f.rule === rule && f.docs)?.docs;
      const name = docs ? `[\`${rule}\`](${docs})` : `\`${rule}\``;
      out.push(`| ${name} | ${n} | ${inline(isRuleName(rule) ? RULE_TITLES[rule] : '')} |`);
    }
    out.push('', '## Findings', '');
    let file = '';
    for (const f of findings) {
      if (f.file !== file) {
        file = f.file;
        out.push('', `### ${inline(file)}`, '');
      }
      out.push(`- **${f.severity}** \`${f.rule}\` at line ${f.line + 1}, column ${f.character + 1}: ${inline(f.message)}`);
    }
    out.push('');
  }
  if (input.graph) {
    const g = input.graph;
    out.push('## Lock graph', '', `${g.nodes.length} lock class(es), ${g.edges.length} ordering edge(s).`, '');
    if (g.cycles.length === 0) out.push('No lock-order cycles.', '');
    else {
      out.push(`**${g.cycles.length} lock-order cycle(s)** (potential deadlocks):`, '');
      for (const cycle of g.cycles) {
        out.push(`- ${[...cycle, cycle[0]].map((c) => `\`${c}\``).join(' → ')}`);
        for (let i = 0; i < cycle.length; i++) {
          const edge = g.edges.find((e) => e.from === cycle[i] && e.to === cycle[(i + 1) % cycle.length]);
          for (const s of edge?.sites ?? []) {
            const via = s.via.length > 0 ? ` via ${s.via.map((v) => `\`${v}\``).join(' → ')}` : '';
            out.push(`  - \`${edge!.to}\` while holding \`${edge!.from}\`: ${inline(label(s.uri))}:${s.range.start.line + 1} in \`${s.functionName}\`${via}`);
          }
        }
      }
      out.push('');
    }
  }
  return out.join('\n');
}
