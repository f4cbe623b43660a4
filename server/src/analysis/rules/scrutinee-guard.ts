// A guard created in an `if let`/`while let`/`match`/`for`/let-else head is a temporary of the
// whole construct: it stays alive through every arm, including `else` before edition 2024.
// That is how Fly.io's catalog deadlocked: the `else` arm took the write lock.

import type { Acquisition, Finding, Fix } from '../model';
import { field, type Node } from '../syntax';
import { isAlive } from '../regions';
import { at, finalRelease, indentOfLine, lockLabel, makeFinding, rangeText, type Rule, type RuleContext } from './context';

const CONSTRUCT_WORDS: Record<string, string> = {
  'if-let': '`if let`',
  'while-let': '`while let`',
  match: '`match`',
  for: '`for` loop',
  'let-else': '`let ... else`',
};

export const scrutineeGuard: Rule = {
  id: 'scrutinee-guard',
  defaultSeverity: 'warning',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    for (const a of ctx.fn.acquisitions) {
      const s = a.scrutinee;
      if (!s || (a.holder.kind !== 'temporary' && a.holder.kind !== 'extended')) continue;
      // `match m.try_lock() { Ok(_) => .., Err(_) => .. }`: the lock outcome itself is matched,
      // so holding the guard through the arms is the visible intent, not a surprise.
      if (matchesGuardItself(ctx, a)) continue;
      // Holding the guard through arms that only copy data out is harmless; speak up when the
      // construct's body calls out, awaits, or takes another lock while the guard is alive.
      const work = workUnderGuard(ctx, a);
      if (!work) continue;
      const release = finalRelease(a);
      const construct = CONSTRUCT_WORDS[s.construct];
      let where: string;
      switch (s.construct) {
        case 'if-let':
          where = s.elseRange
            ? `through both arms, including the \`else\` arm at ${at(s.elseRange.start)}`
            : 'through the whole then-block';
          break;
        case 'while-let':
          where = 'through each iteration of the loop body';
          break;
        case 'match':
          where = 'through every arm of the `match`';
          break;
        case 'for':
          where = 'for the whole loop';
          break;
        default:
          where = s.elseRange ? `through the \`else\` block at ${at(s.elseRange.start)}` : 'through the statement';
      }
      let message = `${lockLabel(a)} guard created in this ${construct} head stays alive ${where}, and is released at ${at(release.position)} (${release.reason}).`;
      if (s.construct === 'if-let' && ctx.options.edition === '2024') message += ' (Edition 2024 rules apply: it is released at the end of the then-block, before any `else`.)';
      else if (s.edition2024Differs && s.elseRange) message += ' Edition 2024 drops it before the `else` arm.';
      message += ` Meanwhile it ${work}; anything in there that takes the same lock deadlocks. Bind the value you need first so the guard dies at the \`;\`.`;
      const f = makeFinding('scrutinee-guard', 'warning', ctx.file, a.range, message, {
        acquisitions: [a.id],
        related: s.elseRange ? [{ file: ctx.file, range: s.elseRange, message: `the guard on ${lockLabel(a)} is still held in this \`else\` arm` }] : [],
      });
      const hoist = hoistFix(ctx, a);
      if (hoist) f.fixes.push(hoist);
      out.push(f);
    }
    return out;
  },
};

/** Methods returning `Option<&T>` into the guarded data: hoist `.cloned()`, match on `.as_ref()`. */
const OPTION_REF = new Set(['get', 'first', 'last', 'find', 'peek', 'front', 'back']);
/** Methods whose result borrows from the guard in a way we cannot turn into an owned value. */
const BORROWS = new Set([
  'as_ref', 'as_deref', 'as_str', 'as_slice', 'as_bytes', 'as_path', 'iter', 'iter_mut', 'keys', 'values', 'values_mut', 'chars',
  'bytes', 'split', 'lines', 'windows', 'chunks', 'get_mut', 'first_mut', 'get_key_value', 'entry', 'borrow', 'borrow_mut', 'deref',
  'deref_mut', 'as_mut', 'as_deref_mut', 'peek_mut', 'drain', 'range', 'split_whitespace', 'trim', 'filter', 'map',
]);

/** Calls that cannot take a lock or block: copying values out of the guarded data. */
const PURE_CALLS = new Set(['clone', 'cloned', 'copied', 'to_string', 'to_owned', 'to_vec', 'into', 'len', 'is_empty', 'is_some', 'is_none', 'is_ok', 'is_err', 'as_ref', 'as_str', 'as_slice', 'as_deref', 'unwrap', 'unwrap_or', 'unwrap_or_default', 'expect', 'get', 'contains', 'contains_key', 'starts_with', 'ends_with', 'first', 'last', 'min', 'max', 'abs', 'eq', 'ne', 'cmp', 'partial_cmp', 'hash', 'from', 'new', 'default', 'Some', 'Ok', 'Err', 'Box::new', 'push', 'push_str', 'insert', 'extend', 'iter', 'next', 'count', 'sum', 'collect', 'map', 'filter']);

/** What the construct does while the guard is alive, in words, or undefined when nothing risky. */
function workUnderGuard(ctx: RuleContext, a: Acquisition): string | undefined {
  const nodes = ctx.fn.nodes.get(a.id);
  if (!nodes) return 'runs its body';
  let construct: Node | undefined;
  let head: Node | undefined;
  let child = nodes.guardExpr;
  for (let p = nodes.guardExpr.parent; p; child = p, p = p.parent) {
    if (p.type === 'match_expression' || p.type === 'for_expression' || p.type === 'let_declaration') {
      if (field(p, 'value')?.id === child.id) {
        construct = p;
        head = child;
        break;
      }
    }
    if ((p.type === 'if_expression' || p.type === 'while_expression') && field(p, 'condition')?.id === child.id) {
      construct = p;
      head = child;
      break;
    }
  }
  if (!construct || !head) return 'runs its body';
  const headEnd = head.endIndex;
  const end = construct.endIndex;
  // Inside the construct after its head, and while the guard is still alive (2024 drops an
  // `if let` guard before the `else`).
  const inBody = (n: Node) => n.startIndex >= headEnd && n.endIndex <= end && isAlive(a, { line: n.startPosition.row, column: n.startPosition.column });
  for (const other of ctx.fn.acquisitions) {
    const on = ctx.fn.nodes.get(other.id);
    if (other !== a && on && inBody(on.call)) return `acquires ${lockLabel(other)} at ${at(other.range.start)}`;
  }
  for (const aw of ctx.fn.awaits) if (inBody(aw.node)) return `awaits at ${at(aw.range.start)}`;
  for (const c of ctx.fn.calls) {
    if (!c.node || !inBody(c.node) || PURE_CALLS.has(c.name) || PURE_CALLS.has(c.calleeText)) continue;
    return `calls \`${c.calleeText}\` at ${at(c.range.start)}`;
  }
  // Macros such as `println!` do I/O; their arguments are not parsed as calls.
  const macro = /\b(println|eprintln|print|eprint|write|writeln|info|warn|error|debug|trace|panic)!/.exec(ctx.text.slice(headEnd, end));
  if (macro) return `runs \`${macro[1]}!\``;
  return undefined;
}

/** Read-only steps a `for` loop may take over the guarded collection (iterating a copy is the same). */
const READ_ONLY_CHAIN = new Set(['iter', 'keys', 'values', 'cloned', 'copied', 'enumerate', 'rev', 'skip', 'take', 'step_by', 'chunks', 'windows', 'zip', 'chain', 'filter', 'map', 'filter_map', 'skip_while', 'take_while', 'peekable', 'lines', 'chars', 'bytes', 'split_whitespace']);

/**
 * `for x in m.lock().unwrap().iter() { .. }` keeps the guard for the whole loop: iterate over a
 * copy instead (`let items = m.lock().unwrap().clone(); for x in items.iter()`), when the loop
 * only reads through the guard (no `iter_mut`, `drain`, ...).
 */
function forLoopFix(ctx: RuleContext, a: Acquisition, guardExpr: Node): Fix | undefined {
  let child = guardExpr;
  let loop: Node | undefined;
  for (let p = guardExpr.parent; p; child = p, p = p.parent) {
    if (p.type === 'for_expression') {
      if (field(p, 'value')?.id === child.id) loop = p;
      break;
    }
    if (p.type !== 'call_expression' && p.type !== 'field_expression' && p.type !== 'arguments' && p.type !== 'reference_expression' && p.type !== 'unary_expression' && p.type !== 'parenthesized_expression') return undefined;
  }
  if (!loop) return undefined;
  const iterable = child;
  const stmt = enclosingStatement(loop);
  if (!stmt) return undefined;
  const g = { start: { line: guardExpr.startPosition.row, column: guardExpr.startPosition.column }, end: { line: guardExpr.endPosition.row, column: guardExpr.endPosition.column } };
  const guardText = rangeText(ctx.text, g);
  const rest = iterable.text.slice(guardExpr.endIndex - iterable.startIndex);
  if (/\n/.test(guardText) || /\n/.test(iterable.text)) return undefined;
  // Everything the loop head does after the guard must be a read-only step.
  const steps = [...rest.matchAll(/\.\s*([A-Za-z_]\w*)\s*(::\s*<[^>]*>\s*)?\(/g)].map((m) => m[1]);
  if (steps.length === 0 || steps.some((m) => !READ_ONLY_CHAIN.has(m))) return undefined;
  const prefix = iterable.text.slice(0, guardExpr.startIndex - iterable.startIndex);
  if (prefix !== '') return undefined;
  const name = freshName(ctx.fn.node.text, 'items');
  const indent = indentOfLine(ctx.text, stmt.startPosition.row);
  return {
    title: `Iterate over a copy so the ${a.lock} guard is released before the loop (clones the collection)`,
    isPreferred: true,
    edits: [
      {
        file: ctx.file,
        range: { start: { line: stmt.startPosition.row, column: stmt.startPosition.column }, end: { line: stmt.startPosition.row, column: stmt.startPosition.column } },
        newText: `let ${name} = ${guardText}.clone();${ctx.eol}${indent}`,
      },
      { file: ctx.file, range: g, newText: name },
    ],
  };
}

function hoistFix(ctx: RuleContext, a: Acquisition): Fix | undefined {
  const nodes = ctx.fn.nodes.get(a.id);
  if (!nodes) return undefined;
  if (a.scrutinee?.construct === 'for') return forLoopFix(ctx, a, nodes.guardExpr);
  const head = scrutineeExpr(nodes.guardExpr);
  if (!head) return undefined;
  const stmt = enclosingStatement(head.construct);
  if (!stmt) return undefined;
  const exprText = rangeText(ctx.text, {
    start: { line: head.expr.startPosition.row, column: head.expr.startPosition.column },
    end: { line: head.expr.endPosition.row, column: head.expr.endPosition.column },
  });
  if (/\n/.test(exprText)) return undefined;
  const name = freshName(ctx.fn.node.text, 'value');
  const shape = ownedShape(head.expr, exprText, name);
  if (!shape) return undefined;
  const [init, use] = shape;
  const indent = indentOfLine(ctx.text, stmt.startPosition.row);
  const edits = [
    {
      file: ctx.file,
      range: { start: { line: stmt.startPosition.row, column: stmt.startPosition.column }, end: { line: stmt.startPosition.row, column: stmt.startPosition.column } },
      newText: `let ${name} = ${init};${ctx.eol}${indent}`,
    },
    {
      file: ctx.file,
      range: { start: { line: head.expr.startPosition.row, column: head.expr.startPosition.column }, end: { line: head.expr.endPosition.row, column: head.expr.endPosition.column } },
      newText: use,
    },
  ];
  return {
    title: `Bind the value first so the ${a.lock} guard is released at the \`;\``,
    isPreferred: true,
    edits,
  };
}

/**
 * How to bind an owned copy of the scrutinee, and what to match on instead: `[init, use]`.
 * Undefined when the value borrows from the guard in a way a copy cannot replace.
 */
function ownedShape(expr: Node, text: string, name: string): [string, string] | undefined {
  let e = expr;
  while (e.type === 'parenthesized_expression' && e.namedChildCount === 1) e = e.namedChild(0)!;
  // `&*guard`, `&guard.field`: clone the place, match on a reference to the copy.
  if (e.type === 'reference_expression') {
    const inner = e.namedChildren.filter((c): c is Node => !!c && c.type !== 'mutable_specifier').pop();
    if (!inner || /^&\s*mut\b/.test(e.text)) return undefined;
    return [`(${inner.text}).clone()`, `&${name}`];
  }
  // `*guard`, `guard.field`, `guard[i]`: a place; moving out of the guard does not compile for
  // non-Copy values, `.clone()` works for both.
  if (e.type === 'unary_expression' || e.type === 'field_expression' || e.type === 'index_expression') {
    if (!e.text.startsWith('*') && e.type === 'unary_expression') return [text, name]; // `!x`, `-x`: owned
    return [`(${text}).clone()`, name];
  }
  if (e.type === 'call_expression') {
    const fn = field(e, 'function');
    const method = fn?.type === 'field_expression' ? field(fn, 'field')?.text : undefined;
    // `str::find` returns `Option<usize>`; only an iterator's `find` yields a reference.
    if (method && OPTION_REF.has(method) && (method !== 'find' || /\.iter\(\)\s*\.\s*find\s*\(/.test(text))) {
      // `get(k)` returns `Option<&V>`: clone the value out so the guard can go at the `;`, and match
      // on `value.as_ref()` so the patterns and the bindings keep their types (`&V`).
      return [`${text}.cloned()`, `${name}.as_ref()`];
    }
    if (method && BORROWS.has(method)) return undefined;
    return [text, name];
  }
  return undefined;
}

/** A name not used as an identifier anywhere in `text`: `value`, `value_1`, ... */
function freshName(text: string, base: string): string {
  for (let i = 0; ; i++) {
    const n = i === 0 ? base : `${base}_${i}`;
    if (!new RegExp(`\\b${n}\\b`).test(text)) return n;
  }
}

/** The scrutinee expression (if-let / while-let / match / for / let-else) that owns the guard. */
function scrutineeValue(guardExpr: Node): Node | undefined {
  let child = guardExpr;
  for (let p = guardExpr.parent; p; child = p, p = p.parent) {
    if (p.type === 'let_condition' || p.type === 'match_expression' || p.type === 'let_declaration') return field(p, 'value')?.id === child.id ? child : undefined;
    if (p.type === 'for_expression') return field(p, 'value')?.id === child.id ? child : undefined;
    if (p.type === 'block' || p.type === 'expression_statement' || p.type === 'closure_expression') return undefined;
  }
  return undefined;
}

function matchesGuardItself(ctx: RuleContext, a: Acquisition): boolean {
  const nodes = ctx.fn.nodes.get(a.id);
  if (!nodes) return false;
  let v = scrutineeValue(nodes.guardExpr);
  while (v && v.type === 'parenthesized_expression' && v.namedChildCount === 1) v = v.namedChild(0)!;
  if (!v) return false;
  const same = (r: Acquisition['range']) =>
    r.start.line === v!.startPosition.row && r.start.column === v!.startPosition.column && r.end.line === v!.endPosition.row && r.end.column === v!.endPosition.column;
  return same(a.range) || same(a.callRange);
}

function scrutineeExpr(guardExpr: Node): { expr: Node; construct: Node; pattern?: Node } | undefined {
  let child = guardExpr;
  for (let p = guardExpr.parent; p; child = p, p = p.parent) {
    if (p.type === 'let_condition' && field(p, 'value')?.id === child.id) {
      const owner = p.parent;
      if (owner && (owner.type === 'if_expression' || owner.type === 'while_expression')) {
        if (owner.type === 'while_expression') return undefined; // hoisting out of a loop changes behaviour
        return { expr: child, construct: owner, pattern: field(p, 'pattern') ?? undefined };
      }
      return undefined;
    }
    if (p.type === 'match_expression' && field(p, 'value')?.id === child.id) return { expr: child, construct: p };
    if (p.type === 'for_expression' || p.type === 'block' || p.type === 'expression_statement' || p.type === 'let_declaration') return undefined;
  }
  return undefined;
}

/**
 * The statement to put the binding in front of: the construct itself must be a statement (or the
 * tail, or a `let` initializer) of a block, so hoisting does not move evaluation out of a closure,
 * a match arm or an `else if`.
 */
function enclosingStatement(construct: Node): Node | undefined {
  const p = construct.parent;
  if (!p) return undefined;
  if (p.type === 'block') return construct;
  if ((p.type === 'expression_statement' || p.type === 'let_declaration') && p.parent?.type === 'block') {
    if (p.type === 'let_declaration' && field(p, 'value')?.id !== construct.id) return undefined;
    return p;
  }
  return undefined;
}
