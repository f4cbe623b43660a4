// `// locklens: allow(rule-id, other-rule)` on the finding's line or the line above silences it.

import type { Finding } from './model';

const ALLOW_RE = /\/\/\s*locklens:\s*allow\(([^)]*)\)/;

export function allowedRules(lineText: string | undefined): string[] {
  if (!lineText) return [];
  const m = ALLOW_RE.exec(lineText);
  if (!m) return [];
  return m[1].split(',').map((s) => s.trim()).filter(Boolean);
}

/** Whether an allow comment on the finding's line, or alone on the line above, silences it. */
export function isSuppressed(finding: Pick<Finding, 'rule' | 'range'>, lines: readonly string[]): boolean {
  const line = finding.range.start.line;
  const here = allowedRules(lines[line]);
  // A comment on the line above counts only when it stands alone there; a trailing
  // `// locklens: allow(..)` belongs to the code on its own line.
  const prev = lines[line - 1];
  const above = prev !== undefined && /^\s*\/\//.test(prev) ? allowedRules(prev) : [];
  return here.includes(finding.rule) || above.includes(finding.rule) || here.includes('all') || above.includes('all');
}

/** `text` is the file's source; its lines are split only when it has an allow comment at all. */
export function applySuppressions<F extends Pick<Finding, 'rule' | 'range'>>(findings: F[], text: string): F[] {
  if (findings.length === 0 || !text.includes('locklens:')) return findings;
  const lines = text.split(/\r?\n/);
  return findings.filter((f) => !isSuppressed(f, lines));
}
