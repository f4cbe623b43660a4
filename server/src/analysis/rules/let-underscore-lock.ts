// `let _ = m.lock()` binds nothing: the guard is dropped at the end of the statement, so the
// code after it runs unprotected although it reads as if the lock were held.

import type { Finding } from '../model';
import { lockLabel, makeFinding, rangeText, type Rule, type RuleContext } from './context';

export const letUnderscoreLock: Rule = {
  id: 'let-underscore-lock',
  defaultSeverity: 'error',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    for (const a of ctx.fn.acquisitions) {
      if (a.holder.kind !== 'underscore') continue;
      const underscore = a.holder.range;
      const exprText = rangeText(ctx.text, a.range);
      const guardExpr = ctx.fn.nodes.get(a.id)?.guardExpr;
      // `_ = m.lock();` (an assignment) as well as `let _ = m.lock();`
      const assign = guardExpr?.parent?.type === 'assignment_expression' ? guardExpr.parent : undefined;
      const form = assign ? '`_ = ...`' : '`let _ = ...`';
      const finding = makeFinding(
        'let-underscore-lock',
        'error',
        ctx.file,
        a.range,
        `${lockLabel(a)} is released immediately: ${form} does not bind the guard, so it is dropped at the end of this statement and the code after it runs without the lock. Bind it to a name (\`let _guard\`) to hold the lock until the end of the block, or call \`drop(..)\` to make the immediate release explicit.`,
        { acquisitions: [a.id] },
      );
      finding.fixes.push({
        title: 'Hold the lock until the end of the block (`let _guard = ...`)',
        isPreferred: true,
        // An assignment has no `let`: declare the binding (`_guard = ..` alone would not compile).
        edits: [{ file: ctx.file, range: underscore, newText: assign ? 'let _guard' : '_guard' }],
      });
      const stmt = assign ? (assign.parent?.type === 'expression_statement' ? assign.parent : undefined) : guardExpr?.parent;
      if (stmt && (stmt.type === 'let_declaration' || (stmt.type === 'expression_statement' && stmt.text.trimEnd().endsWith(';')))) {
        finding.fixes.push({
          title: 'Release the lock now, explicitly (`drop(...)`)',
          isPreferred: false,
          edits: [
            {
              file: ctx.file,
              range: {
                start: { line: stmt.startPosition.row, column: stmt.startPosition.column },
                end: { line: stmt.endPosition.row, column: stmt.endPosition.column },
              },
              newText: `drop(${exprText});`,
            },
          ],
        });
      }
      out.push(finding);
    }
    return out;
  },
};
