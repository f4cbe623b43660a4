// A std/parking_lot/spin guard alive at an `.await`: the task may be suspended while holding a
// blocking lock, so every other thread that wants it blocks its executor thread, and the future
// is not `Send`. Guards dropped or moved before the await are fine (clippy's
// await_holding_lock gets those wrong, rust-clippy#6446). tokio/futures guards are made for this.

import type { Finding, Fix } from '../model';
import { comparePos, field, lastCharOf, startOf, type Node } from '../syntax';
import { isAlive } from '../regions';
import { lastUseOf } from './guard-tightening';
import { at, describeRelease, indentOfLine, lockLabel, makeFinding, type Rule, type RuleContext } from './context';

export const guardAcrossAwait: Rule = {
  id: 'guard-across-await',
  defaultSeverity: 'warning',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    for (const a of ctx.fn.acquisitions) {
      if (a.lockType.async) continue;
      const nodes = ctx.fn.nodes.get(a.id);
      for (const aw of ctx.fn.awaits) {
        const pos = lastCharOf(aw.node);
        if (!isAlive(a, pos)) continue;
        // The await must run in the same body (not in a closure or async block defined under the guard).
        if (bodyOf(aw.node)?.id !== bodyOf(nodes?.call ?? aw.node)?.id) continue;
        const f = makeFinding(
          'guard-across-await',
          'warning',
          ctx.file,
          a.range,
          `${lockLabel(a)} guard is held across the \`.await\` at ${at(aw.range.start)} (${describeRelease(a)}). While the task is suspended the lock stays taken, so other threads block on it and can stall the executor; the future is also not \`Send\`. Release the guard before awaiting, or use an async lock (\`tokio::sync::Mutex\`).`,
          {
            acquisitions: [a.id],
            related: [{ file: ctx.file, range: aw.range, message: `task suspends here with ${lockLabel(a)} held` }],
          },
        );
        const fix = dropBeforeAwaitFix(ctx, a.id, aw.node);
        if (fix) f.fixes.push(fix);
        out.push(f);
        break; // one finding per guard, at its first await
      }
    }
    return out;
  },
};

function bodyOf(n: Node): Node | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'closure_expression' || p.type === 'async_block' || p.type === 'function_item') return p;
  }
  return undefined;
}

/** `drop(guard);` before the statement with the await, when the guard is not used after it. */
function dropBeforeAwaitFix(ctx: RuleContext, acqId: string, awaitNode: Node): Fix | undefined {
  const nodes = ctx.fn.nodes.get(acqId);
  const decl = nodes?.bindingDecl;
  if (!decl) return undefined;
  // Moved or dropped somewhere already: a second `drop` would not compile.
  const acq = ctx.fn.acquisitions.find((a) => a.id === acqId);
  if (acq?.releases.some((r) => r.kind === 'explicit-drop' || r.kind === 'moved')) return undefined;
  // Insert before the statement of the guard's block that contains the await.
  let stmt: Node | null = awaitNode;
  while (stmt && stmt.parent && stmt.parent.id !== decl.scope.id) stmt = stmt.parent;
  if (!stmt || !stmt.parent || stmt.parent.id !== decl.scope.id) return undefined;
  // The guard (or a borrow of it) must not be used in or after that statement: `if c { g.push(1);
  // x.await }` and `let r = &g[0]; x.await; r` would not compile with the drop in front.
  const last = lastUseOf(decl, ctx.fn.scopes);
  if (last && comparePos(startOf(last), startOf(stmt)) >= 0) return undefined;
  if (!field(decl.declaredBy, 'pattern')) return undefined;
  const line = stmt.startPosition.row;
  const indent = indentOfLine(ctx.text, line);
  return {
    title: `Release \`${decl.name}\` before the await (\`drop(${decl.name});\`)`,
    isPreferred: true,
    edits: [{ file: ctx.file, range: { start: { line, column: stmt.startPosition.column }, end: { line, column: stmt.startPosition.column } }, newText: `drop(${decl.name});${ctx.eol}${indent}` }],
  };
}
