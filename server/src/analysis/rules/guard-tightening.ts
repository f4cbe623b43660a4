// A named guard that stays alive well after its last use keeps other threads waiting for no
// reason. Suggest `drop(guard);` right after the statement with the last use.

import type { Finding } from '../model';
import { comparePos, startOf, walk, type Node } from '../syntax';
import type { LocalDecl, Scopes } from '../scopes';
import { at, finalRelease, indentOfLine, lockLabel, makeFinding, type Rule, type RuleContext } from './context';

/** Statements after the last use before we speak up. */
export const TIGHTENING_MIN_STATEMENTS = 2;

export const guardTightening: Rule = {
  id: 'guard-tightening',
  defaultSeverity: 'information',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    for (const a of ctx.fn.acquisitions) {
      if (a.holder.kind !== 'binding' || a.holder.inAggregate) continue;
      const release = finalRelease(a);
      if (!release || release.kind !== 'scope-end') continue;
      // Already released or moved on some path (`drop(g)`, `consume(g)`): another `drop(g)` would
      // be a use after move, and the guard does not really live to the end of the block.
      if (a.releases.some((r) => r.kind === 'explicit-drop' || r.kind === 'moved')) continue;
      const decl = ctx.fn.nodes.get(a.id)?.bindingDecl;
      if (!decl || decl.scope.type !== 'block') continue;
      const lastUse = lastUseOf(decl, ctx.fn.scopes);
      // The guard value moves on at its last use (`Holder { g }`, `let h = g;`, `v.push(g)`): it lives
      // as long as its new owner, and `drop(g)` after the move would not compile.
      if (lastUse && movesValue(lastUse)) continue;
      const anchor = lastUse ?? decl.declaredBy;
      // The statement of the guard's own block that contains the last use.
      let stmt: Node | null = anchor;
      while (stmt && stmt.parent && stmt.parent.id !== decl.scope.id) stmt = stmt.parent;
      if (!stmt || !stmt.parent) continue;
      const later = decl.scope.namedChildren.filter((c): c is Node => !!c && c.startIndex >= stmt!.endIndex && c.type !== 'line_comment' && c.type !== 'block_comment');
      if (later.length < TIGHTENING_MIN_STATEMENTS) continue;
      // A statement without `;` at the end is the block's value; dropping before it is fine,
      // but only if the guard is not part of that value.
      const lines = release.position.line - stmt.endPosition.row;
      if (lines < 2) continue;
      // `_guard` says "held on purpose for the scope" (a critical section, test serialisation).
      if (decl.name.startsWith('_')) continue;
      // Later statements that touch the same object (`self.len.store(..)`) may be what the lock
      // protects, and a later acquisition of the same lock means the hold is semantic.
      const base = /^[A-Za-z_]\w*/.exec(a.receiverText)?.[0];
      const rest = later.map((n) => n.text).join('\n');
      if (base && new RegExp(`\\b${base}\\s*\\.`).test(rest)) continue;
      if (ctx.fn.acquisitions.some((o) => o !== a && o.lock === a.lock && o.range.start.line > stmt!.endPosition.row && o.range.start.line <= release.position.line)) continue;
      const insertLine = stmt.endPosition.row;
      const indent = indentOfLine(ctx.text, stmt.startPosition.row);
      const f = makeFinding(
        'guard-tightening',
        'information',
        ctx.file,
        a.range,
        `${lockLabel(a)} guard \`${decl.name}\` is last used at ${at(lastUse ? startOf(lastUse) : { line: stmt.startPosition.row, column: stmt.startPosition.column })} but stays held for ${lines} more lines, until ${at(release.position)}. Release it after its last use with \`drop(${decl.name});\` so other threads are not kept waiting.`,
        { acquisitions: [a.id] },
      );
      f.fixes.push({
        title: `Release \`${decl.name}\` after its last use (\`drop(${decl.name});\`)`,
        isPreferred: true,
        edits: [
          {
            file: ctx.file,
            range: { start: { line: insertLine, column: stmt.endPosition.column }, end: { line: insertLine, column: stmt.endPosition.column } },
            newText: `${ctx.eol}${indent}drop(${decl.name});`,
          },
        ],
      });
      out.push(f);
    }
    return out;
  },
};

/**
 * The last place the guard's data can be reached: uses of the binding itself, and uses of
 * bindings initialised from it (`let v = &g.items;`, `let it = g.iter();`), which borrow from it.
 */
/** Methods whose result borrows from the receiver (so the guard must outlive the result). */
const BORROWING_METHODS = /\.(iter|iter_mut|get|get_mut|first|last|first_mut|last_mut|as_ref|as_mut|as_slice|as_mut_slice|as_str|as_bytes|keys|values|values_mut|deref|deref_mut|borrow|borrow_mut|entry|split|chars|lines|windows|chunks|drain|range|peek|front|back)\s*\([^()]*\)\s*$/;

/** A bare use of a binding in a position that moves it (not `g.x`, `*g`, `&g`, `g.method()`). */
function movesValue(use: Node): boolean {
  const p = use.parent;
  if (!p) return false;
  switch (p.type) {
    case 'shorthand_field_initializer':
    case 'array_expression':
    case 'tuple_expression':
    case 'return_expression':
    case 'arguments':
      return true;
    case 'field_initializer':
      return p.childForFieldName('value')?.id === use.id;
    case 'let_declaration':
      return p.childForFieldName('value')?.id === use.id;
    case 'assignment_expression':
      return p.childForFieldName('right')?.id === use.id;
    default:
      return false;
  }
}

/** Whether a `let` initializer can hold a borrow of the guard (`&g.x`, `g.iter()`, `g.get(k)`). */
function borrowsFrom(init: Node, name: string): boolean {
  const text = init.text.trim();
  if (text.startsWith('&')) return true;
  // `let f = || g.len();`: the closure captures the guard (by reference or by move) as long as it lives.
  if (init.type === 'closure_expression' && new RegExp(`\\b${name}\\b`).test(text)) return true;
  // `match dir { A => &mut g.reader, .. }`, `Some(&g[0])`: a reference into the guard anywhere.
  if (new RegExp(`&\\s*(mut\\s+)?\\*?\\s*${name}\\b`).test(text)) return true;
  if (BORROWING_METHODS.test(text)) return true;
  // An iterator chain that is not consumed still borrows; a consumed one (count, sum, collect...) does not.
  if (/\.(iter|iter_mut|keys|values)\s*\(\)/.test(text) && !/\.(count|sum|collect|max|min|any|all|fold|last|nth|position|find_map|for_each|len|is_empty|cloned\(\)\.collect|copied\(\)\.collect)\s*(::<[^>]*>)?\s*\([^()]*\)\s*$/.test(text)) return true;
  return false;
}

export function lastUseOf(decl: LocalDecl, scopes: Scopes): Node | undefined {
  let last: Node | undefined;
  const pending: LocalDecl[] = [decl];
  const seen = new Set<LocalDecl>();
  while (pending.length > 0) {
    const d = pending.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    for (const u of scopes.usesOf(d, d.scope)) {
      if (!last || comparePos(startOf(u), startOf(last)) > 0) last = u;
      // A `let` whose initializer borrows from the guard keeps the guard needed.
      for (let p = u.parent; p; p = p.parent) {
        if (p.type === 'let_declaration') {
          const init = p.childForFieldName('value');
          if (!init || !borrowsFrom(init, d.name)) break;
          walk(p.childForFieldName('pattern') ?? p, (n) => {
            if (n.type === 'identifier') {
              const derived = scopes.resolve(n.text, n);
              if (derived) pending.push(derived);
            }
          });
          break;
        }
        if (p.type === 'block' || p.type === 'expression_statement') break;
      }
    }
  }
  return last;
}
