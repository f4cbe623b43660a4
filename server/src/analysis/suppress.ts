// `// locklens: allow(rule-id, other-rule)` on the finding's line or the line above silences it.

import type { Finding } from './model';

const ALLOW_RE = /\/\/\s*locklens:\s*allow\(([^)]*)\)/;

export function allowedRules(lineText: string | undefined): string[] {
  if (!lineText) return [];
  const m = ALLOW_RE.exec(lineText);
  if (!m) return [];
  return m[1].split(',').map((s) => s.trim()).filter(Boolean);
}

/** `text` is the file's source; its lines are split only when it has an allow comment at all. */
export function applySuppressions(findings: Finding[], text: string): Finding[] {
  if (findings.length === 0 || !text.includes('locklens:')) return findings;
  const lines = text.split(/\r?\n/);
  return findings.filter((f) => {
    const line = f.range.start.line;
    const here = allowedRules(lines[line]);
    // A comment on the line above counts only when it stands alone there; a trailing
    // `// locklens: allow(..)` belongs to the code on its own line.
    const prev = lines[line - 1];
    const above = prev !== undefined && /^\s*\/\//.test(prev) ? allowedRules(prev) : [];
    return !(here.includes(f.rule) || above.includes(f.rule) || here.includes('all') || above.includes('all'));
  });
}
