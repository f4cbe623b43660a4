// Small helpers over tree-sitter nodes, so the analyses read as Rust semantics, not cursor juggling.

import type { Node } from 'web-tree-sitter';
import type { Position, Range } from './model';

export type { Node };

export function rangeOf(node: Node): Range {
  return {
    start: { line: node.startPosition.row, column: node.startPosition.column },
    end: { line: node.endPosition.row, column: node.endPosition.column },
  };
}

export function startOf(node: Node): Position {
  return { line: node.startPosition.row, column: node.startPosition.column };
}

/** Position of the last character of `node` (where rustc puts a drop at the end of a construct). */
export function lastCharOf(node: Node): Position {
  const end = node.endPosition;
  if (end.column > 0) return { line: end.row, column: end.column - 1 };
  // A node ending at column 0 ends with a newline; fall back to the start of that line.
  return { line: end.row, column: 0 };
}

export function comparePos(a: Position, b: Position): number {
  return a.line !== b.line ? a.line - b.line : a.column - b.column;
}

export function posInRange(p: Position, r: Range): boolean {
  return comparePos(p, r.start) >= 0 && comparePos(p, r.end) < 0;
}

export function contains(outer: Node, inner: Node): boolean {
  return outer.startIndex <= inner.startIndex && inner.endIndex <= outer.endIndex;
}

export function sameNode(a: Node | null | undefined, b: Node | null | undefined): boolean {
  return !!a && !!b && a.id === b.id;
}

/** Named children, skipping comments. */
export function namedChildren(node: Node): Node[] {
  const out: Node[] = [];
  for (const c of node.namedChildren) if (c && c.type !== 'line_comment' && c.type !== 'block_comment') out.push(c);
  return out;
}

export function field(node: Node, name: string): Node | null {
  return node.childForFieldName(name);
}

/** The tail expression of a block: its last expression not followed by `;`. */
export function blockTail(block: Node): Node | null {
  const kids = namedChildren(block);
  const last = kids[kids.length - 1];
  if (!last) return null;
  if (last.type === 'expression_statement') {
    // `if`/`match`/`loop` blocks at the end of a block are parsed as statements but are the
    // block's value for rustc unless a `;` follows them.
    const lastToken = last.child(last.childCount - 1);
    if (lastToken && lastToken.type === ';') return null;
    return last.namedChild(0);
  }
  if (last.type.endsWith('_declaration') || last.type.endsWith('_item') || last.type === 'empty_statement') return null;
  if (last.type === 'attribute_item' || last.type === 'inner_attribute_item') return null;
  return last;
}

export function isTailOf(block: Node, expr: Node): boolean {
  const tail = blockTail(block);
  return !!tail && tail.id === expr.id;
}

export function unparen(node: Node): Node {
  let n = node;
  while (n.type === 'parenthesized_expression' && n.namedChild(0)) n = n.namedChild(0)!;
  return n;
}

/** For `recv.method(args)`: the method name, receiver and argument list. */
export function methodCall(node: Node): { receiver: Node; name: string; nameNode: Node; args: Node[]; argsNode: Node } | null {
  if (node.type !== 'call_expression') return null;
  let fn = field(node, 'function');
  if (fn && fn.type === 'generic_function') fn = field(fn, 'function');
  if (!fn || fn.type !== 'field_expression') return null;
  const receiver = field(fn, 'value');
  const nameNode = field(fn, 'field');
  const argsNode = field(node, 'arguments');
  if (!receiver || !nameNode || !argsNode) return null;
  return { receiver, name: nameNode.text, nameNode, args: namedChildren(argsNode), argsNode };
}

/** For `path::to::func(args)` / `func(args)`: the callee path text and arguments. */
export function pathCall(node: Node): { path: string; name: string; args: Node[]; fnNode: Node } | null {
  if (node.type !== 'call_expression') return null;
  let fn = field(node, 'function');
  if (fn && fn.type === 'generic_function') fn = field(fn, 'function');
  if (!fn || (fn.type !== 'identifier' && fn.type !== 'scoped_identifier')) return null;
  const argsNode = field(node, 'arguments');
  if (!argsNode) return null;
  const path = fn.text.replace(/\s+/g, '');
  const name = path.slice(path.lastIndexOf(':') + 1);
  return { path, name, args: namedChildren(argsNode), fnNode: fn };
}

export function ancestors(node: Node): Node[] {
  const out: Node[] = [];
  for (let p = node.parent; p; p = p.parent) out.push(p);
  return out;
}

export function isFunctionLike(node: Node): boolean {
  return node.type === 'function_item' || node.type === 'closure_expression' || node.type === 'async_block';
}

/** Depth-first walk over named descendants; return false from `visit` to skip a subtree. */
export function walk(node: Node, visit: (n: Node) => boolean | void): void {
  const stack: Node[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (visit(n) === false) continue;
    const kids = n.namedChildren;
    for (let i = kids.length - 1; i >= 0; i--) {
      const k = kids[i];
      if (k) stack.push(k);
    }
  }
}

/**
 * Visits `root` and its descendants whose type is in `types`, in document order. The search runs
 * inside tree-sitter (`descendantsOfType`), so nodes of other types are never materialised in JS:
 * that allocation dominates on large crates. Return false from `visit` to skip the node's
 * subtree. Nodes that end at or before `minEnd` are skipped.
 */
export function visitTypes(root: Node, types: ReadonlySet<string>, visit: (n: Node) => boolean | void, minEnd = -1): void {
  let skipUntil = -1;
  if (types.has(root.type) && visit(root) === false) return;
  const list = typeLists.get(types) ?? [...types];
  typeLists.set(types, list);
  for (const n of root.descendantsOfType(list)) {
    if (!n || n.id === root.id) continue;
    if (n.startIndex < skipUntil || n.endIndex <= minEnd) continue;
    if (visit(n) === false) skipUntil = n.endIndex;
  }
}

const typeLists = new WeakMap<ReadonlySet<string>, string[]>();

/** Callees known to run a closure argument before they return (iterator adaptors, combinators). */
const IN_PLACE = /^(map|map_err|map_or|map_or_else|and_then|or_else|unwrap_or_else|ok_or_else|get_or_insert_with|or_insert_with|or_insert_with_key|is_some_and|is_ok_and|then|then_some|filter|filter_map|flat_map|for_each|try_for_each|fold|try_fold|reduce|any|all|find|find_map|position|rposition|take_while|skip_while|map_while|inspect|retain|retain_mut|sort_by|sort_by_key|sort_unstable_by|sort_unstable_by_key|binary_search_by|binary_search_by_key|min_by|max_by|min_by_key|max_by_key|partition|scan|zip_with|with|with_borrow|with_borrow_mut|with_lock|with_read|with_write|catch_unwind|call_once|get_or_init|get_or_try_init|update|fetch_update|modify|alter|and_modify|entry|compute|replace_with)$/;

/**
 * Whether a closure (or async block) runs before the call it is passed to returns: iterator
 * adaptors, Option/Result combinators, `with_*` helpers. Anything else (spawn, executors,
 * callbacks, unknown functions) may run it later or elsewhere, so it is not assumed to run
 * under the caller's guards.
 */
export function runsInPlace(closure: Node): boolean {
  const args = closure.parent;
  const call = args?.parent;
  if (!args || args.type !== 'arguments' || !call || call.type !== 'call_expression') {
    // An async block that is awaited right away runs here.
    return closure.type === 'async_block' && closure.parent?.type === 'await_expression';
  }
  const fn = call.childForFieldName('function');
  const name = fn?.type === 'field_expression' ? fn.childForFieldName('field')?.text : fn?.text.replace(/^.*::/, '');
  return !!name && runsInPlaceName(name);
}

/** Whether a callee of this name runs its closure arguments before it returns. */
export function runsInPlaceName(name: string): boolean {
  return IN_PLACE.test(name) || /^with_\w+$/.test(name);
}
