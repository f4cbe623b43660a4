// Renders findings and regions for people (rustc-style text), for tools (JSON) and for code
// scanning (SARIF 2.1.0). Lines and columns are 1-based in every format.

import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { Acquisition, Finding, Range, Severity } from '../analysis/model';
import { RULES } from '../analysis/rules/catalog';
import { lastRelease } from '../analysis/regions';

export const VERSION: string = (() => {
  // out/server/src/cli/ in a checkout, dist/ in the packaged extension: look upwards.
  for (let dir = __dirname, i = 0; i < 6; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'locklens') return String(pkg.version);
    } catch {
      // keep looking
    }
  }
  return 'unknown';
})();

const REPO_DOCS = 'https://github.com/locklens/locklens/blob/main/docs/rules';

export function pos1(r: Range): { line: number; column: number; endLine: number; endColumn: number } {
  return { line: r.start.line + 1, column: r.start.column + 1, endLine: r.end.line + 1, endColumn: r.end.column + 1 };
}

export function findingsJson(findings: Finding[]): string {
  return JSON.stringify(
    {
      version: 1,
      findings: findings.map((f) => ({
        file: f.file,
        ...pos1(f.range),
        rule: f.rule,
        severity: f.severity,
        message: f.message,
        related: f.related.map((r) => ({ file: r.file, line: r.range.start.line + 1, column: r.range.start.column + 1, message: r.message })),
        fixes: f.fixes.map((x) => ({
          title: x.title,
          preferred: x.isPreferred,
          edits: x.edits.map((e) => ({ file: e.file, ...pos1(e.range), newText: e.newText })),
        })),
      })),
    },
    null,
    2,
  );
}

export function regionsJson(acqs: Acquisition[]): string {
  return JSON.stringify(
    {
      version: 1,
      guards: acqs.map((a) => ({
        file: a.file,
        lock: a.lock,
        mode: a.mode,
        function: a.functionName,
        certainty: a.certainty,
        holder: a.holder.kind,
        ...(a.holder.kind === 'binding' ? { binding: { name: a.holder.name, line: a.holder.range.start.line + 1, column: a.holder.range.start.column + 1 } } : {}),
        acquire: pos1(a.range),
        releases: a.releases.map((r) => ({ line: r.position.line + 1, column: r.position.column + 1, kind: r.kind, reason: r.reason })),
        ...(a.scrutinee ? { scrutinee: a.scrutinee.construct } : {}),
      })),
    },
    null,
    2,
  );
}

// ---- text ----

const SEVERITY_WORD: Record<Severity, string> = { error: 'error', warning: 'warning', information: 'info', hint: 'hint' };

export interface TextSource {
  lines(file: string): string[] | undefined;
}

export function findingsText(findings: Finding[], src: TextSource, acqsById: Map<string, Acquisition>): string {
  const out: string[] = [];
  for (const f of findings) {
    out.push(`${SEVERITY_WORD[f.severity]}[${f.rule}]: ${f.message}`);
    out.push(`  --> ${f.file}:${f.range.start.line + 1}:${f.range.start.column + 1}`);
    const lines = src.lines(f.file);
    const acq = f.acquisitions.map((id) => acqsById.get(id)).find((a) => a && a.file === f.file);
    if (lines) out.push(...snippet(lines, f.range, acq));
    for (const r of f.related) out.push(`   = note: ${r.file}:${r.range.start.line + 1}:${r.range.start.column + 1}: ${r.message}`);
    if (f.fixes.length > 0) out.push(`   = help: ${f.fixes[0].title}`);
    out.push('');
  }
  return out.join('\n');
}

/** Source lines around a finding, with the held region of its guard marked in the margin. */
function snippet(lines: string[], r: Range, acq: Acquisition | undefined): string[] {
  let first = r.start.line;
  let last = r.end.line;
  const held = new Set<number>();
  let releaseLine = -1;
  if (acq) {
    const rel = lastRelease(acq.releases);
    if (rel) {
      releaseLine = rel.position.line;
      for (let l = acq.range.start.line; l <= rel.position.line; l++) held.add(l);
      first = Math.min(first, acq.range.start.line);
      last = Math.max(last, rel.position.line);
    }
  }
  const width = String(last + 1).length;
  const pad = ' '.repeat(width);
  const out = [`${pad} |`];
  const show = (l: number) => {
    const mark = held.has(l) ? '|' : ' ';
    out.push(`${String(l + 1).padStart(width)} | ${mark} ${lines[l] ?? ''}`);
    if (l === r.start.line) {
      const startCol = r.start.column;
      const endCol = r.end.line === l ? Math.max(r.end.column, startCol + 1) : (lines[l] ?? '').length;
      out.push(`${pad} | ${mark} ${' '.repeat(startCol)}${'^'.repeat(Math.max(1, endCol - startCol))}`);
    }
    if (l === releaseLine && acq) {
      const rel = lastRelease(acq.releases)!;
      out.push(`${pad} | ${mark} ${' '.repeat(rel.position.column)}^ \`${acq.lock}\` released here`);
    }
  };
  const total = last - first + 1;
  if (total <= 12) for (let l = first; l <= last; l++) show(l);
  else {
    for (let l = first; l < first + 5; l++) show(l);
    out.push(`${pad} | ${held.size > 0 ? '|' : ' '} ...`);
    for (let l = last - 4; l <= last; l++) show(l);
  }
  out.push(`${pad} |`);
  return out;
}

export function regionsText(acqs: Acquisition[]): string {
  const out: string[] = [];
  for (const a of acqs) {
    out.push(`${a.file}:${a.range.start.line + 1}:${a.range.start.column + 1}: ${a.lock} (${a.mode}) in ${a.functionName}, ${a.holder.kind === 'binding' ? `held by \`${a.holder.name}\`` : a.holder.kind}`);
    for (const r of a.releases) out.push(`    released at ${r.position.line + 1}:${r.position.column + 1} [${r.kind}] ${r.reason}`);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

export function summaryLine(findings: Finding[]): string {
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  const parts = [`${count('error')} error${count('error') === 1 ? '' : 's'}`, `${count('warning')} warning${count('warning') === 1 ? '' : 's'}`];
  const info = count('information') + count('hint');
  if (info) parts.push(`${info} note${info === 1 ? '' : 's'}`);
  return `locklens: ${parts.join(', ')}`;
}

// ---- SARIF ----

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', information: 'note', hint: 'note' };

export function findingsSarif(findings: Finding[], base?: string): string {
  const rules = RULES.filter((r) => r.id !== 'parse-error');
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const loc = (file: string, r: Range) => ({
    physicalLocation: {
      artifactLocation: { uri: encodeURI(file), uriBaseId: '%SRCROOT%' },
      region: { startLine: r.start.line + 1, startColumn: r.start.column + 1, endLine: r.end.line + 1, endColumn: r.end.column + 1 },
    },
  });
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'LockLens',
            version: VERSION,
            semanticVersion: VERSION,
            informationUri: 'https://github.com/locklens/locklens',
            rules: rules.map((r) => ({
              id: r.id,
              name: r.id.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase()),
              shortDescription: { text: r.summary },
              fullDescription: { text: r.summary },
              helpUri: `${REPO_DOCS}/${r.id}.md`,
              help: { text: `${r.summary} See ${REPO_DOCS}/${r.id}.md`, markdown: `${r.summary}\n\n[Rule documentation](${REPO_DOCS}/${r.id}.md)` },
              defaultConfiguration: { level: SARIF_LEVEL[r.defaultSeverity] },
              properties: { tags: ['concurrency', 'locks'], precision: 'high' },
            })),
          },
        },
        columnKind: 'utf16CodeUnits',
        ...(base ? { originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(base).href.replace(/\/?$/, '/') } } } : {}),
        results: findings
          .filter((f) => index.has(f.rule))
          .map((f) => ({
            ruleId: f.rule,
            ruleIndex: index.get(f.rule),
            level: SARIF_LEVEL[f.severity],
            message: { text: f.message },
            locations: [loc(f.file, f.range)],
            relatedLocations: f.related.map((r, i) => ({ id: i + 1, ...loc(r.file, r.range), message: { text: r.message } })),
            partialFingerprints: { 'locklens/v1': `${f.rule}:${f.file}:${f.message.length}:${f.range.start.line}` },
          })),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2);
}
