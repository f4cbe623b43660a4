// Per-function facts: acquisitions with their guard regions, awaits, and calls made under guards.
// Rules and the lock graph consume these; nothing here decides what is a bug.

import type { CallSite, FileDeclarations, FunctionDecl, FunctionSummary } from './api';
import { acquireMethod, lockTypeOf, UNTYPED_LOCK_METHODS, type AcquireMethod } from './locktypes';
import type { Acquisition, Edition, GuardMode, LockType, Range } from './model';
import { ENTRY_PASS_THROUGH, guardShape, isAlive, isDropCall, RegionBuilder } from './regions';
import { CrateView, FunctionResolver, peel, push } from './resolve';
import { Scopes } from './scopes';
import { textClosures, type ClosureSpan } from './closures';
import { textNestedFunctions, type NestedFunctionText } from './nested';
import { firstWhere } from './sorted';
import { CH, codeOnly, groupStart, skipSpace, skipSpaceBack, wordStart } from './lexical';
import { field, methodCall, pathCall, rangeOf, runsInPlace, startOf, type Node } from './syntax';

const ACQUIRE_NAMES = new Set([
  'lock', 'read', 'write', 'try_lock', 'try_read', 'try_write',
  'try_lock_for', 'try_lock_until', 'try_read_for', 'try_read_until', 'try_write_for', 'try_write_until',
  'blocking_lock', 'blocking_read', 'blocking_write', 'read_recursive', 'try_read_recursive',
  'try_read_recursive_for', 'try_read_recursive_until',
  'upgradable_read', 'try_upgradable_read', 'try_upgradable_read_for', 'try_upgradable_read_until',
  'lock_arc', 'read_arc', 'write_arc', 'upgradable_read_arc', 'lock_owned', 'read_owned', 'write_owned',
  'try_lock_owned', 'try_read_owned', 'try_write_owned', 'try_lock_arc', 'try_read_arc', 'try_write_arc',
  'get', 'get_mut', 'try_get', 'try_get_mut', 'entry', 'try_entry', 'iter', 'iter_mut',
]);

/** Methods whose calls are part of handling a guard, not calls made under it. */
const GUARD_PLUMBING = new Set(['unwrap', 'expect', 'unwrap_or_else', 'map_err', 'ok', 'clone', 'into_inner', 'deref', 'deref_mut', 'as_ref', 'as_mut', 'borrow', 'borrow_mut']);

const LOCKISH_NAME = /^(lock|read|write|try_(lock|read|write|upgradable_read|read_recursive)\w*|blocking_(lock|read|write)|upgradable_read|read_recursive|(lock|read|write|upgradable_read)_(arc|owned)|wait|wait_while|wait_timeout\w*)$/;
const DASHMAP_NAME = /^(get|get_mut|try_get\w*|entry|try_entry|iter|iter_mut)$/;

/** Macros whose arguments are ordinary expressions (so they can be parsed as call arguments). */
const EXPRESSION_MACROS = /^((std|core|alloc|log|tracing)::)?(println|print|eprintln|eprint|format|format_args|write|writeln|panic|assert|assert_eq|assert_ne|debug_assert|debug_assert_eq|debug_assert_ne|dbg|info|warn|error|debug|trace|event|todo|unimplemented|unreachable)$/;

/** The outermost expression-macro invocation whose tokens contain `offset`. */
function macroAround(body: Node, offset: number): Node | undefined {
  let found: Node | undefined;
  for (let n: Node | null = body.descendantForIndex(offset); n && n.id !== body.id; n = n.parent) {
    if (n.type === 'macro_invocation') found = n;
  }
  if (!found) return undefined;
  const name = field(found, 'macro')?.text.replace(/\s+/g, '') ?? '';
  return EXPRESSION_MACROS.test(name) ? found : undefined;
}

/**
 * Parses a macro's arguments as the arguments of a call, finds lock calls there and hands each
 * to `add` with ranges mapped back to the file. Returns the name offsets it handled.
 */
function macroAcquisitions(
  invocation: Node,
  file: FileText,
  resolver: FunctionResolver,
  view: CrateView,
  decls: FileDeclarations,
  add: (invocation: Node, acq: FoundAcquisition, ranges: { range: Range; callRange: Range; unwrap?: { method: 'unwrap' | 'expect'; range: Range } }) => void,
): number[] {
  const tokens = invocation.namedChildren.find((c) => c?.type === 'token_tree');
  if (!tokens || !file.parseFragment) return [];
  const innerStart = tokens.startIndex + 1;
  const inner = file.text.slice(innerStart, tokens.endIndex - 1);
  const prefix = 'fn __locklens_macro() { __locklens_args(';
  const fragment = file.parseFragment(`${prefix}${inner}); }`);
  const handled: number[] = [];
  try {
    const toFile = (offset: number) => innerStart + (offset - prefix.length);
    const mapRange = (n: Node): Range => ({ start: positionAt(file, toFile(n.startIndex)), end: positionAt(file, toFile(n.endIndex)) });
    resolver.translate = (n) => {
      const real = invocation.descendantForIndex(toFile(n.startIndex));
      return real && real.text === n.text ? real : undefined;
    };
    for (const call of fragment.tree.rootNode.descendantsOfType('call_expression')) {
      if (!call || call.startIndex < prefix.length) continue;
      const mc = methodCall(call);
      if (!mc || !LOCKISH_NAME.test(mc.name)) continue;
      const acq = acquisitionAt(call, resolver, view, decls);
      if (!acq) continue;
      const shape = guardShape(call, acq.method.wrapped, !!acq.method.awaits);
      add(invocation, acq, {
        range: mapRange(shape.wrapped ? call : shape.guardExpr),
        callRange: mapRange(call),
        unwrap: shape.unwrap ? { method: shape.unwrap.method, range: mapRange(shape.unwrap.node) } : undefined,
      });
      handled.push(toFile(mc.nameNode.startIndex));
    }
  } finally {
    resolver.translate = undefined;
    fragment.dispose();
  }
  return handled;
}

/** The call expression whose callee name starts at `offset` (a method name or a path's last segment). */
function callNodeAt(within: Node, offset: number): Node | undefined {
  const leaf = within.descendantForIndex(offset);
  for (let n: Node | null = leaf, i = 0; n && i < 6; n = n.parent, i++) {
    if (n.type === 'call_expression') {
      const name = calleeNameNode(n);
      return name && name.startIndex === offset ? n : undefined;
    }
  }
  return undefined;
}

function calleeNameNode(call: Node): Node | null {
  let fn = field(call, 'function');
  if (fn && fn.type === 'generic_function') fn = field(fn, 'function');
  if (!fn) return null;
  if (fn.type === 'field_expression') return field(fn, 'field');
  if (fn.type === 'scoped_identifier') return field(fn, 'name');
  return fn.type === 'identifier' ? fn : null;
}

/**
 * Cheap text test: can this function body acquire a lock at all? Most functions cannot. The
 * argument counts are acquireMethod's: none, except one for the timed `try_*_for`/`_until`
 * forms, so `stream.try_read(&mut buf)` (I/O) is not a candidate. A Condvar wait counts with any
 * arguments: a candidate's waits are taken out of its calls, so this keeps the calls as they were.
 */
const MAY_ACQUIRE = /\.\s*(?:(?:lock|read|write|blocking_(?:lock|read|write)|upgradable_read|read_recursive|(?:lock|read|write|upgradable_read)_(?:arc|owned)|try_(?:lock|read|write|upgradable_read|read_recursive)(?:_(?:arc|owned))?)\s*\(\s*\)|(?:try_(?:lock|read|write|upgradable_read|read_recursive)_(?:for|until)|wait|wait_while|wait_timeout\w*)\s*\()/;
const MAY_ACQUIRE_DASHMAP = /\.\s*(get|get_mut|try_get\w*|entry|try_entry|iter|iter_mut)\s*\(/;

function mayAcquire(text: string, view: CrateView): boolean {
  return MAY_ACQUIRE.test(text) || (view.usesDashMap && MAY_ACQUIRE_DASHMAP.test(text));
}

const KEYWORDS = new Set(['if', 'while', 'match', 'for', 'return', 'fn', 'loop', 'move', 'async', 'await', 'let', 'in', 'as', 'else', 'unsafe', 'where', 'impl', 'dyn', 'ref', 'mut', 'break', 'continue', 'yield', 'box', 'use', 'mod', 'pub', 'crate', 'super', 'self', 'Self', 'struct', 'enum', 'type', 'const', 'static', 'trait']);


/** The guards alive at a call made under none: one shared array, never mutated (most calls are such). */
const NO_GUARDS: string[] = Object.freeze([]) as unknown as string[];

const METHOD_NAME_RE = /\.\s*([a-z_]\w*)\s*(?:::\s*<[^<>()]*>\s*)?\(/g;
const PATH_CALL_RE = /(?<![\w.:!])((?:[A-Za-z_]\w*\s*(?:<[^<>()]*>)?\s*::\s*)*)([a-z_]\w*)\s*(?:::\s*<[^<>()]*>\s*)?\(/g;
const isWordChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Start of a simple receiver chain (`self.a.b`) that ends right before `dot`, or -1 when the
 * receiver is an arbitrary expression (`f(x)`, `v[0]`, `x?`).
 */
function receiverChainStart(code: string, dot: number): number {
  let i = dot - 1;
  let start = -1;
  for (;;) {
    while (i >= 0 && (code[i] === ' ' || code[i] === '\n' || code[i] === '\t' || code[i] === '\r')) i--;
    const end = i;
    while (i >= 0 && isWordChar(code.charCodeAt(i))) i--;
    if (i === end) return -1; // no identifier: `)`, `]`, `?` ... before the dot
    start = i + 1;
    let j = i;
    while (j >= 0 && (code[j] === ' ' || code[j] === '\n' || code[j] === '\t' || code[j] === '\r')) j--;
    if (j >= 0 && code[j] === '.' && !(j > 0 && code[j - 1] === '.')) {
      i = j - 1;
      continue;
    }
    // `::path.method(` or `&x.m(` etc.: the chain starts here unless a path or call precedes it.
    if (j >= 0 && (code[j] === ':' || code[j] === ')' || code[j] === ']' || code[j] === '?')) return -1;
    return start;
  }
}

/**
 * Calls found lexically in a body (comments and strings already blanked): every method and path
 * call with its name offset, so callers can fetch the tree node only for the calls that matter.
 */
function scanCalls(code: string, base: number, file: FileText, resolver: FunctionResolver, decl: FunctionDecl | undefined): CallFact[] {
  const out: CallFact[] = [];
  const range = (from: number, to: number) => ({ start: positionAt(file, base + from), end: positionAt(file, base + to) });
  // A body calls methods on the same few receivers (`self.inner`) again and again.
  const receiverTypes = new Map<string, string | undefined>();
  const typeOfReceiver = (receiver: string) => {
    if (receiverTypes.has(receiver)) return receiverTypes.get(receiver);
    const t = resolver.typeOfPath(receiver, decl);
    receiverTypes.set(receiver, t);
    return t;
  };
  METHOD_NAME_RE.lastIndex = 0;
  for (let m = METHOD_NAME_RE.exec(code); m; m = METHOD_NAME_RE.exec(code)) {
    const name = m[1];
    const nameAt = m.index + m[0].indexOf(name, 1);
    if (GUARD_PLUMBING.has(name)) continue;
    // `a.b.c.name(` has a simple receiver; `f(x).name(` or `v[0].name(` does not.
    const chainStart = receiverChainStart(code, m.index);
    const receiver = chainStart >= 0 ? code.slice(chainStart, m.index).replace(/\s+/g, '') : undefined;
    if (receiver && isDigit(receiver.charCodeAt(0))) continue;
    const start = chainStart >= 0 ? chainStart : m.index;
    out.push({
      calleeText: `${receiver ?? '(..)'}.${name}`,
      name,
      receiverText: receiver ?? '(..)',
      receiverType: receiver ? typeOfReceiver(receiver) : undefined,
      range: range(start, m.index + m[0].length),
      heldGuards: NO_GUARDS,
      nameOffset: base + nameAt,
    });
  }
  PATH_CALL_RE.lastIndex = 0;
  for (let m = PATH_CALL_RE.exec(code); m; m = PATH_CALL_RE.exec(code)) {
    const name = m[2];
    if (KEYWORDS.has(name)) continue;
    const qual = m[1] === '' ? '' : m[1].replace(/\s+/g, '').replace(/<[^<>()]*>/g, '').replace(/::$/, '');
    if (name === 'drop' && (!qual || /(^|::)mem$/.test(qual))) continue;
    // `fn name(` inside the body declares a nested function, not a call.
    if (/\bfn\s*$/.test(code.slice(Math.max(0, m.index - 4), m.index))) continue;
    out.push({
      calleeText: qual ? `${qual}::${name}` : name,
      name,
      pathQualifier: qual === 'Self' ? resolver.selfType : qual || undefined,
      range: range(m.index, m.index + m[0].length),
      heldGuards: NO_GUARDS,
      nameOffset: base + m.index + m[0].lastIndexOf(name, m[0].indexOf('(')),
    });
  }
  return out.sort((a, b) => a.nameOffset - b.nameOffset);
}

const GUARD_RETURN_RE = /\b(MutexGuard|RwLockReadGuard|RwLockWriteGuard|RwLockUpgradableReadGuard|ReentrantMutexGuard|MappedMutexGuard|MappedRwLockReadGuard|MappedRwLockWriteGuard|OwnedMutexGuard|ArcMutexGuard|SpinMutexGuard)\b/;

export interface AwaitPoint {
  node: Node;
  range: Range;
}

export interface CallFact extends CallSite {
  /** The call's tree node; set for calls made under a guard (the ones rules look at). */
  node?: Node;
  /** Offset of the callee's name in the file: identifies the call without its node. */
  nameOffset: number;
  /** Lock class of the receiver when the call is a method on a lock (`map.insert(..)` on a DashMap). */
  receiverLock?: string;
}

export interface FunctionFacts {
  decl?: FunctionDecl;
  /** For a nested function read from the text: its item as the tree would give it. */
  nestedText?: NestedFunctionInfo;
  qualifiedName: string;
  node: Node;
  isAsync: boolean;
  acquisitions: Acquisition[];
  /** Internal nodes of each acquisition, by id. */
  nodes: Map<string, { call: Node; guardExpr: Node; receiver: Node; bindingDecl?: import('./scopes').LocalDecl; closure?: Node }>;
  awaits: AwaitPoint[];
  calls: CallFact[];
  /**
   * The calls are not found yet: reading `calls` finds them. Only for a function that takes no
   * lock and calls none of its parameters, whose calls only the lock graph may read.
   */
  readonly callsPending?: boolean;
  scopes: Scopes;
  /** Acquisitions inside closures that run later (spawned), not when this function runs. */
  deferred: Set<string>;
  /** `fn` items declared inside this body, analysed on their own: nodes, or read from the text. */
  nested: Array<Node | NestedFunctionText>;
}


export function acquisitionId(file: string, r: Range): string {
  return `${file}:${r.start.line + 1}:${r.start.column + 1}`;
}

/** Parses a piece of Rust source on the side (for macro arguments); the caller disposes the result. */
export type FragmentParser = (source: string) => { tree: { rootNode: Node }; dispose(): void };

/** Shared per-file state for analysing functions one item at a time (see analyzeFunctionItem). */
export function fileText(text: string, parseFragment?: FragmentParser): FileText {
  return { text, lineStarts: undefined, parseFragment };
}

/**
 * Where a function is: its declaration (when the declarations pass found it), its body's offsets
 * in the file, and its tree node, looked up only when the analysis needs the tree. Most
 * functions never lock anything, and for those the text and the declaration are enough.
 */
export interface FunctionSite {
  decl?: FunctionDecl;
  bodyStart: number;
  bodyEnd: number;
  node(): Node;
  /**
   * The root of a tree holding this function (the file's, or for a scanned file a tree of some
   * of its functions): leaves are found from offsets without the function's node.
   */
  root: Node;
  /** For a function nested in a body and read from the text: what the tree would say of its item. */
  nestedText?: NestedFunctionInfo;
}

/** A nested function read from the text, and the name of the function whose body declares it. */
export interface NestedFunctionInfo extends NestedFunctionText {
  /** `outer::name`, as nestedName gives it from the tree. */
  qualifiedName: string;
  isAsync: boolean;
  range: Range;
  nameRange: Range;
  /** For a method of an impl block in the body: the impl's type, as implSelfType gives it. */
  selfType: string | undefined;
}

/** A site for a function node already in hand (nested functions). */
function siteOfNode(node: Node, root: Node): FunctionSite {
  const body = field(node, 'body')!;
  return { bodyStart: body.startIndex, bodyEnd: body.endIndex, node: () => node, root };
}

function isNode(n: Node | NestedFunctionText): n is Node {
  return 'type' in n;
}

/**
 * A site for a nested function read from the text: the tree (the outer function's) is looked up
 * only if its analysis needs it, and its node is the item around its `fn` keyword there.
 */
function siteOfText(nested: NestedFunctionText, outer: FunctionSite, outerFacts: FunctionFacts, file: FileText): FunctionSite {
  const outerName = outerFacts.decl?.name ?? outer.nestedText?.name ?? field(outerFacts.node, 'name')?.text;
  const info: NestedFunctionInfo = {
    ...nested,
    qualifiedName: outerName ? `${outerName}::${nested.name}` : nested.name,
    // As isAsyncItem reads the item's own text, comments included.
    isAsync: /\basync\b/.test(file.text.slice(nested.startIndex, nested.nameStart)),
    range: { start: positionAt(file, nested.startIndex), end: positionAt(file, nested.endIndex) },
    nameRange: { start: positionAt(file, nested.nameStart), end: positionAt(file, nested.nameEnd) },
    selfType: nested.selfTypeSpan ? implTypeName(file.text.slice(nested.selfTypeSpan[0], nested.selfTypeSpan[1])) : undefined,
  };
  return {
    bodyStart: nested.bodyStart,
    bodyEnd: nested.bodyEnd,
    node: () => outer.root.descendantForIndex(nested.fnAt)!.parent!,
    get root(): Node {
      return outer.root;
    },
    nestedText: info,
  };
}

/** One `fn` item of the declarations pass and the functions nested in its body. */
export function analyzeFunctionItem(site: FunctionSite, decls: FileDeclarations, view: CrateView, edition: Edition, file: FileText): FunctionFacts[] {
  const out: FunctionFacts[] = [];
  const pending: FunctionSite[] = [site];
  for (let i = 0; i < pending.length; i++) {
    const facts = analyzeFunction(pending[i], decls, view, edition, file);
    out.push(facts);
    const outer = pending[i];
    for (const nested of facts.nested) pending.push(isNode(nested) ? siteOfNode(nested, site.root) : siteOfText(nested, outer, facts, file));
  }
  return out;
}

/** Offset of a position in the file text. */
export function offsetAt(file: FileText, line: number, column: number): number {
  positionAt(file, 0);
  const starts = file.lineStarts!;
  return (starts[line] ?? file.text.length) + column;
}

export interface FileText {
  text: string;
  lineStarts: number[] | undefined;
  /**
   * The results are read once (a one-shot check, not an editor): the calls of a function that
   * takes no lock are found only if something reads them (see `FunctionFacts.callsPending`).
   */
  lazyCalls?: boolean;
  parseFragment?: FragmentParser;
  /** `codeOnly(text)` when the caller has it for the whole file; else each body is blanked alone. */
  code?: string;
  /**
   * `codeMarkingLiterals(text)`, when the file was scanned rather than parsed: functions that
   * take no lock then get their closures from the text (closures.ts), not the tree.
   */
  markedCode?: string;
  /** Bodies already read (readBody), by body start: the parse-ahead pass reads each body once. */
  bodies?: Map<number, BodyText>;
}

export function positionAt(file: FileText, offset: number): { line: number; column: number } {
  if (!file.lineStarts) {
    const starts = [0];
    for (let i = file.text.indexOf('\n'); i >= 0; i = file.text.indexOf('\n', i + 1)) starts.push(i + 1);
    file.lineStarts = starts;
  }
  const ls = file.lineStarts;
  // The last line that starts at or before `offset` (the first line starts at 0).
  const line = firstWhere(ls, (start) => start > offset) - 1;
  return { line, column: offset - ls[line] };
}

function enclosingFunctionName(n: Node): string | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'function_item') return field(p, 'name')?.text;
  }
  return undefined;
}

/** The innermost node of one of `types` around the leaf at `offset`, at most `depth` levels up. */
function enclosingOfType(root: Node, offset: number, types: ReadonlySet<string>, depth: number): Node | undefined {
  for (let n: Node | null = root.descendantForIndex(offset), i = 0; n && i <= depth; n = n.parent, i++) {
    if (types.has(n.type)) return n;
  }
  return undefined;
}

const CLOSURE_TYPES = new Set(['closure_expression', 'async_block']);
const AWAIT_TYPES = new Set(['await_expression']);

const NESTED_FN_RE = /\bfn\s+[A-Za-z_]/g;
const CLOSURE_TOKEN_RE = /\|\|?|\basync\b/g;

/** What the text of a body says before any tree is looked at (see `readBody`). */
export interface BodyText {
  /** It may take a lock or call a guard-returning function. */
  candidate: boolean;
  /** It declares functions of its own. */
  nested: boolean;
  /** Those functions, when read from the text (a scanned file, a body that takes no lock, and the text is clear). */
  nestedFns?: NestedFunctionText[];
  /** Its closures and async blocks, when read from the text (a scanned file, and the text is clear). */
  closures: ClosureSpan[] | undefined;
  /** It has closure tokens (`|`, `async`) at all. */
  closureTokens: boolean;
}

/**
 * Reads a body's text (`code` blanked by `codeOnly`; `markedCode` as codeMarkingLiterals leaves
 * it, for a scanned file). `needsTree` on the result tells whether the analysis will look at
 * the function's syntax tree: to parse ahead only what is needed.
 */
export function readBody(code: string, view: CrateView, decl: FunctionDecl | undefined, markedCode?: string, base = 0): BodyText {
  const candidate = mayAcquire(code, view) || mayCallGuardFunction(code, view, decl);
  const nested = NESTED_FN_TEST.test(code);
  const closureTokens = CLOSURE_TOKEN_TEST.test(code);
  // A function that takes no lock needs its closures only to place its calls: the text will do.
  const nestedFns = !candidate && nested && markedCode !== undefined ? textNestedFunctions(markedCode, base) : undefined;
  // The closures of nested functions are theirs, not this body's.
  const closures = !candidate && (!nested || nestedFns) && closureTokens && markedCode !== undefined ? outside(textClosures(markedCode, base), nestedFns) : undefined;
  return { candidate, nested, nestedFns, closures, closureTokens };
}

export function needsTree(b: BodyText): boolean {
  return b.candidate || (b.nested && !b.nestedFns) || (b.closureTokens && b.closures === undefined);
}

function outside(closures: ClosureSpan[] | undefined, nested: NestedFunctionText[] | undefined): ClosureSpan[] | undefined {
  if (!closures || !nested || nested.length === 0) return closures;
  return closures.filter((c) => !nested.some((n) => n.startIndex <= c.startIndex && c.startIndex < n.endIndex));
}

// Not global: `test` on a global regex would leave a lastIndex that `matchAll` starts from.
const NESTED_FN_TEST = new RegExp(NESTED_FN_RE.source);
const CLOSURE_TOKEN_TEST = new RegExp(CLOSURE_TOKEN_RE.source);

/**
 * Nested `fn` items, closures and async blocks of a body: found from their tokens in the text
 * (`fn name`, `|`, `async`) and confirmed on the tree, so the cost follows the number of such
 * tokens rather than the size of the body. Tokens inside macro arguments find no node, as in the
 * tree itself.
 */
function bodyStructure(site: FunctionSite, code: string): { nested: Node[]; closures: ClosureSpan[] } {
  const nested: Node[] = [];
  const closures: Node[] = [];
  const base = site.bodyStart;
  for (const m of code.matchAll(NESTED_FN_RE)) {
    const leaf = site.root.descendantForIndex(base + m.index!);
    const item = leaf?.parent;
    if (item && item.type === 'function_item' && item.startIndex > base && !nested.some((n) => n.startIndex <= item.startIndex && item.endIndex <= n.endIndex)) nested.push(item);
  }
  const inNested = (offset: number) => nested.some((n) => n.startIndex <= offset && offset < n.endIndex);
  let skipUntil = -1;
  for (const m of code.matchAll(CLOSURE_TOKEN_RE)) {
    const offset = base + m.index!;
    if (offset < skipUntil || inNested(offset)) continue;
    const leaf = site.root.descendantForIndex(offset);
    let closure: Node | null | undefined;
    if (m[0] === 'async') closure = leaf?.parent?.type === 'async_block' ? leaf.parent : undefined;
    else if (leaf?.parent?.type === 'closure_parameters') {
      closure = leaf.parent.parent;
      skipUntil = leaf.parent.endIndex;
    }
    if (closure && CLOSURE_TYPES.has(closure.type)) closures.push(closure);
  }
  closures.sort((a, b) => a.startIndex - b.startIndex);
  return { nested, closures: closures.map(closureSpanOf) };
}

/** A closure node as a span: whether it runs in place, and which call argument it is. */
export function closureSpanOf(node: Node): ClosureSpan & { node: Node } {
  const span: ClosureSpan & { node: Node } = { startIndex: node.startIndex, endIndex: node.endIndex, inPlace: runsInPlace(node), node };
  const args = node.parent;
  if (args && args.type === 'arguments' && args.parent) {
    const nameNode = calleeNameNode(args.parent);
    const index = args.namedChildren.filter((x): x is Node => !!x && x.type !== 'line_comment' && x.type !== 'block_comment').findIndex((x) => x.id === node.id);
    if (nameNode) span.argOf = { nameOffset: nameNode.startIndex, index };
  }
  return span;
}

/** Shared by functions with no deferred acquisition (most): replaced by a set of their own on the first. */
const NO_DEFERRED: ReadonlySet<string> = new Set();

/**
 * A function's facts, its tree node fetched only when asked for. A class rather than an object
 * literal with a getter: thousands are made per check, and V8 builds such literals slowly.
 */
class LazyFacts implements FunctionFacts {
  acquisitions: Acquisition[] = [];
  nodes: FunctionFacts['nodes'] = new Map();
  awaits: AwaitPoint[] = [];
  private callList: CallFact[] = [];
  private findCalls: (() => void) | undefined = undefined;
  deferred = NO_DEFERRED as Set<string>;
  nestedText: NestedFunctionInfo | undefined;
  nested: Array<Node | NestedFunctionText> = [];

  constructor(
    readonly decl: FunctionDecl | undefined,
    readonly qualifiedName: string,
    private readonly fnNode: () => Node,
    readonly isAsync: boolean,
    readonly scopes: Scopes,
  ) {}

  get node(): Node {
    return this.fnNode();
  }

  get calls(): CallFact[] {
    const find = this.findCalls;
    this.findCalls = undefined;
    find?.();
    return this.callList;
  }

  set calls(calls: CallFact[]) {
    this.findCalls = undefined;
    this.callList = calls;
  }

  get callsPending(): boolean {
    return this.findCalls !== undefined;
  }

  /** `find` sets `calls` when they are first read. */
  callsLater(find: () => void): void {
    this.findCalls = find;
  }
}

function analyzeFunction(site: FunctionSite, decls: FileDeclarations, view: CrateView, edition: Edition, file: FileText): FunctionFacts {
  const decl = site.decl;
  let fnNodeCache: Node | undefined;
  const fnNode = () => (fnNodeCache ??= site.node());
  const text = site.nestedText;
  const qualifiedName = decl?.qualifiedName ?? text?.qualifiedName ?? nestedName(fnNode());
  const scopes = new Scopes(fnNode);
  const resolver = new FunctionResolver(view, decls, scopes, qualifiedName, decl ? decl.selfType : text ? text.selfType : implSelfType(fnNode()));
  const facts = new LazyFacts(decl, qualifiedName, fnNode, decl?.isAsync ?? text?.isAsync ?? isAsyncItem(fnNode()), scopes);
  facts.nestedText = text;
  const waits: Node[] = [];
  const bodyStart = site.bodyStart;
  // A body starts and ends outside comments and literals, so it can be blanked on its own: an
  // edit re-analyses one function without blanking the whole file again.
  const code = file.code !== undefined ? file.code.slice(bodyStart, site.bodyEnd) : codeOnly(file.text.slice(bodyStart, site.bodyEnd));
  const read = file.bodies?.get(bodyStart) ?? readBody(code, view, decl, file.markedCode?.slice(bodyStart, site.bodyEnd), bodyStart);
  const anyCandidate = read.candidate;
  const structure: { nested: Array<Node | NestedFunctionText>; closures: ClosureSpan[] } = read.nestedFns && (read.closures || !read.closureTokens)
    ? { nested: read.nestedFns, closures: read.closures ?? [] }
    : read.closures
      ? { nested: [], closures: read.closures }
      : !read.closureTokens && !read.nested
        ? { nested: [], closures: [] }
        : bodyStructure(site, code);
  const { nested, closures } = structure;
  facts.nested = nested;
  // Offsets, not nodes: calls found later must not read a tree that may be freed by then.
  const nestedSpans = nested.map((n) => ({ startIndex: n.startIndex, endIndex: n.endIndex }));
  const inNested = (offset: number) => nestedSpans.some((n) => n.startIndex <= offset && offset < n.endIndex);
  const params = decl?.params.filter((p) => p.name !== 'self') ?? [];
  // Without a lock, the calls hold no guard and, unless a parameter is called, need no tree: what
  // is left (the closures around them) is the text's, so they can wait until someone asks.
  if (file.lazyCalls && !anyCandidate && !callsAParameter(code, params)) {
    facts.callsLater(textCalls(facts, code, bodyStart, file, resolver, decl, nestedSpans, closures, params));
    return facts;
  }
  const scanned = outsideNested(scanCalls(code, bodyStart, file, resolver, decl), nestedSpans);
  let bodyCache: Node | undefined;
  const body = () => (bodyCache ??= field(fnNode(), 'body')!);
  let regionsCache: RegionBuilder | undefined;
  const regions = () => (regionsCache ??= new RegionBuilder(edition, scopes, fnNode()));
  // Made here, not hoisted: a function whose calls wait never needs them.
  const labelAt = (n: Node): { closure: Node | undefined; fnLabel: string } => {
    const closure = closures.filter((c) => c.startIndex <= n.startIndex && n.endIndex <= c.endIndex).pop();
    return { closure: closure && (closure as { node?: Node }).node, fnLabel: closure ? `${qualifiedName}::{closure#${closures.indexOf(closure)}}` : qualifiedName };
  };

  const record = (
    acq: FoundAcquisition,
    at: { range: Range; callRange: Range; unwrap?: Acquisition['unwrap']; fnLabel: string },
    region: ReturnType<RegionBuilder['build']>,
  ): Acquisition => {
    const a: Acquisition = {
      id: acquisitionId(decls.file, at.range),
      file: decls.file,
      lock: acq.ref.cls,
      lockType: acq.type,
      mode: acq.method.mode,
      method: acq.methodName,
      isTry: acq.method.isTry,
      certainty: acq.ref.certainty,
      range: at.range,
      callRange: at.callRange,
      receiverText: acq.receiver.text.replace(/\s+/g, ' '),
      instanceText: acq.ref.instance,
      functionName: at.fnLabel,
      holder: region.holder,
      releases: region.releases,
      held: region.held,
      scrutinee: region.scrutinee,
      unwrap: at.unwrap,
      declaration: acq.ref.declaredIn,
    };
    if (acq.method.recursive) (a as Acquisition & { recursive?: boolean }).recursive = true;
    facts.acquisitions.push(a);
    return a;
  };

  const addMacroAcquisition = (invocation: Node, acq: FoundAcquisition, ranges: { range: Range; callRange: Range; unwrap?: Acquisition['unwrap'] }): void => {
    const { closure, fnLabel } = labelAt(invocation);
    const a = record(acq, { ...ranges, fnLabel }, regions().macroRegion(invocation));
    facts.nodes.set(a.id, { call: invocation, guardExpr: invocation, receiver: invocation, closure });
  };

  const addAcquisition = (n: Node, acq: FoundAcquisition): void => {
    const { closure, fnLabel } = labelAt(n);
    const shape = guardShape(n, acq.method.wrapped, !!acq.method.awaits, acq.type.kind === 'dashmap' && /entry$/.test(acq.methodName) ? ENTRY_PASS_THROUGH : undefined);
    const region = regions().build(shape);
    const range = rangeOf(shape.guardExpr.type === 'try_expression' || !shape.wrapped ? shape.guardExpr : n);
    const unwrap = shape.unwrap ? { method: shape.unwrap.method, range: rangeOf(shape.unwrap.node) } : undefined;
    const a = record(acq, { range, callRange: rangeOf(n), unwrap, fnLabel }, region);
    facts.nodes.set(a.id, { call: n, guardExpr: shape.guardExpr, receiver: acq.receiver, bindingDecl: region.bindingDecl, closure });
  };
  // Lock calls: candidates from the text, confirmed on the tree.
  const acquisitionCalls = new Set<number>();
  for (const c of anyCandidate ? scanned : []) {
    const lockish = LOCKISH_NAME.test(c.name) || (view.usesDashMap && DASHMAP_NAME.test(c.name)) || view.guardFunctionNames.has(c.name);
    if (!lockish) continue;
    const n = callNodeAt(body(), c.nameOffset);
    if (!n) continue;
    const mcw = methodCall(n);
    if (mcw && /^wait(_while|_timeout|_timeout_while)?$/.test(mcw.name) && mcw.args.length >= 1) {
      waits.push(n);
      acquisitionCalls.add(c.nameOffset);
      continue;
    }
    const acq = acquisitionAt(n, resolver, view, decls);
    if (acq) {
      addAcquisition(n, acq);
      acquisitionCalls.add(c.nameOffset);
    }
  }
  // Lock calls inside macro arguments (`println!("{}", m.lock().unwrap())`): the tree has only
  // tokens there, so the arguments are parsed on the side and mapped back.
  const macros = new Map<number, Node>();
  for (const c of anyCandidate ? scanned : []) {
    if (acquisitionCalls.has(c.nameOffset) || !LOCKISH_NAME.test(c.name)) continue;
    const m = macroAround(body(), c.nameOffset);
    if (m) macros.set(m.startIndex, m);
  }
  for (const m of macros.values()) {
    for (const offset of macroAcquisitions(m, file, resolver, view, decls, addMacroAcquisition)) acquisitionCalls.add(offset);
  }
  facts.calls = acquisitionCalls.size > 0 ? scanned.filter((c) => !acquisitionCalls.has(c.nameOffset)) : scanned;
  // `cv.wait(guard)` gives the lock back and re-acquires it: a new guard of the same lock.
  for (const w of waits) {
    const arg = methodCall(w)!.args[0];
    if (arg.type === 'reference_expression') continue; // parking_lot: waits on `&mut guard` in place
    const argDecl = arg.type === 'identifier' ? scopes.resolve(arg.text, arg) : undefined;
    const init = argDecl?.init;
    const source =
      facts.acquisitions.find((a) => {
        const nodes = facts.nodes.get(a.id);
        if (!nodes) return false;
        if (nodes.guardExpr.id === arg.id) return true;
        return !!argDecl && nodes.bindingDecl === argDecl;
      }) ??
      // `let g = match m.lock() { Ok(g) => g, Err(e) => e.into_inner() };`, `let g = cv.wait(g).unwrap();`:
      // the binding holds the guard its initializer acquires.
      (init ? facts.acquisitions.find((a) => {
        const call = facts.nodes.get(a.id)?.call;
        return !!call && init.startIndex <= call.startIndex && call.endIndex <= init.endIndex;
      }) : undefined);
    if (!source) continue;
    const waitName = methodCall(w)!.name;
    addAcquisition(w, {
      ref: { cls: source.lock, certainty: source.certainty, declaredIn: source.declaration },
      type: source.lockType,
      method: { mode: source.mode, isTry: false, wrapped: source.lockType.poisons || source.lockType.flavor === 'unknown' },
      methodName: waitName,
      receiver: methodCall(w)!.receiver,
    });
    // `wait_timeout` hands back `(guard, WaitTimeoutResult)`: the binding holds a tuple.
    const added = facts.acquisitions[facts.acquisitions.length - 1];
    if (/^wait_timeout/.test(waitName) && added.holder.kind === 'binding' && !/^\(/.test(added.holder.name)) added.holder.inAggregate = true;
  }
  facts.acquisitions.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.column - b.range.start.column);
  // Awaits matter only to guards (held across them, or ending a scrutinee's construct).
  if (facts.acquisitions.length > 0) {
    for (const m of code.matchAll(/\.\s*await\b/g)) {
      const offset = bodyStart + m.index!;
      if (inNested(offset)) continue;
      const n = enclosingOfType(site.root, offset, AWAIT_TYPES, 1);
      if (n) facts.awaits.push({ node: n, range: rangeOf(n) });
    }
  }
  placeCalls(facts, closures, params, body, resolver);
  return facts;
}

/** Calls not made inside the nested functions at `nested` (offsets; those are analysed on their own). */
function outsideNested(calls: CallFact[], nested: Array<{ startIndex: number; endIndex: number }>): CallFact[] {
  return nested.length > 0 ? calls.filter((c) => !nested.some((n) => n.startIndex <= c.nameOffset && c.nameOffset < n.endIndex)) : calls;
}

/**
 * Finds the calls of a function that takes no lock when they are first read (LazyFacts): from the
 * text and the closures already read, never a tree. Built here, not inside analyzeFunction, so
 * that a waiting function keeps only what this needs.
 */
function textCalls(
  facts: LazyFacts,
  code: string,
  bodyStart: number,
  file: FileText,
  resolver: FunctionResolver,
  decl: FunctionDecl | undefined,
  nested: Array<{ startIndex: number; endIndex: number }>,
  closures: ClosureSpan[],
  params: FunctionDecl['params'],
): () => void {
  return () => {
    facts.calls = outsideNested(scanCalls(code, bodyStart, file, resolver, decl), nested);
    placeCalls(facts, closures, params, NO_TREE, resolver);
  };
}

/**
 * Whether the body may call one of its parameters (`f(x)`, `f::<T>(x)`): such a call is placed
 * from the tree (`paramIndex`). Parameters bound by a pattern have no name to call.
 */
function callsAParameter(code: string, params: FunctionDecl['params']): boolean {
  for (const p of params) {
    if (!IDENTIFIER.test(p.name)) continue;
    for (let at = code.indexOf(p.name); at >= 0; at = code.indexOf(p.name, at + 1)) {
      const next = skipSpace(code, at + p.name.length);
      if ((code[next] === '(' || code.startsWith('::', next)) && wordStart(code, at) === at) return true;
    }
  }
  return false;
}

const IDENTIFIER = /^(r#)?[A-Za-z_]\w*$/;

/** For calls found without a tree: there is none to read (see the conditions of `callsLater`). */
const NO_TREE = (): Node => {
  throw new Error('internal: a call found from the text asked for its syntax tree');
};

/**
 * Completes `facts.calls`: the guards alive at each, the tree's details for those made under a
 * guard, whether a closure runs it (in place or later), callbacks run through a parameter, and
 * the calls inside each closure argument.
 */
function placeCalls(facts: FunctionFacts, closures: ClosureSpan[], params: FunctionDecl['params'], body: () => Node, resolver: FunctionResolver): void {
  // Closures that run later (spawned threads and tasks, stored callbacks) do not run under the
  // guards around them, and what they lock is not locked by this function's caller.
  const deferred = closures.filter((c) => !c.inPlace);
  const deferredAroundOffset = (offset: number) => {
    let found: ClosureSpan | undefined;
    for (const c of deferred) if (c.startIndex <= offset && offset < c.endIndex) found = c;
    return found;
  };
  const deferredAround = (n: Node) => deferredAroundOffset(n.startIndex);
  const acqDeferred = new Map<string, ClosureSpan | undefined>();
  for (const a of facts.acquisitions) {
    const around = deferredAround(facts.nodes.get(a.id)!.call);
    acqDeferred.set(a.id, around);
    if (around) (facts.deferred === NO_DEFERRED ? (facts.deferred = new Set()) : facts.deferred).add(a.id);
  }
  // Calls are sorted by offset: each closure covers a run of them, found by binary search, so
  // bodies with many closures and calls cost their sum, not their product.
  const firstCallAt = (offset: number) => firstWhere(facts.calls, (c) => c.nameOffset >= offset);
  const callsIn = (c: ClosureSpan): [number, number] => [firstCallAt(c.startIndex), firstCallAt(c.endIndex)];
  const inClosure = new Uint8Array(facts.calls.length);
  const laterIn: Array<ClosureSpan | undefined> = new Array(facts.calls.length);
  for (const cl of closures) {
    const [from, to] = callsIn(cl);
    for (let i = from; i < to; i++) {
      inClosure[i] = 1;
      if (!cl.inPlace) laterIn[i] = cl; // the innermost deferred closure wins, as in deferredAroundOffset
    }
  }
  const heldAt = (at: Range['start'], runsLater: ClosureSpan | undefined): string[] => {
    // A guard handed to the call itself (`consume(guard)`) belongs to the callee from then on.
    const handedOver = (a: Acquisition) => a.releases.some((r) => (r.kind === 'moved' || r.kind === 'explicit-drop') && r.position.line === at.line && r.position.column === at.column);
    return facts.acquisitions.filter((a) => acqDeferred.get(a.id) === runsLater && isAlive(a, at) && !handedOver(a)).map((a) => a.id);
  };
  for (let i = 0; i < facts.calls.length; i++) {
    let c = facts.calls[i];
    const at = c.range.start;
    const offset = c.nameOffset;
    const runsLater = laterIn[i];
    const held = facts.acquisitions.length === 0 ? NO_GUARDS : heldAt(at, runsLater);
    if (held.length > 0) {
      // Under a guard the details matter (receiver type, arguments): take them from the tree.
      const n = callNodeAt(body(), offset);
      const precise = n ? callFact(n, resolver) : undefined;
      if (precise) {
        precise.nameOffset = offset;
        c = facts.calls[i] = precise;
      } else if (n) c.node = n;
    }
    c.heldGuards = held;
    if (closures.length > 0) c.inClosure = inClosure[i] === 1;
    if (runsLater) c.deferred = true;
    // `f(..)` where `f` is one of this function's parameters: a callback run under these guards.
    if (params.length > 0 && !c.receiverText && !c.pathQualifier && params.some((p) => p.name === c.name)) {
      const n = c.node ?? callNodeAt(body(), offset);
      const fnExpr = n ? field(n, 'function') : null;
      const d = fnExpr && fnExpr.type === 'identifier' ? resolver.scopes.resolve(fnExpr.text, fnExpr) : undefined;
      if (d && d.kind === 'param') c.paramIndex = params.findIndex((p) => p.name === d.name);
    }
  }
  // Closures passed as arguments: what they lock, so a callee that runs them under its own
  // guards (`with_state(|s| ..)`) gets the order edges.
  if (closures.length > 0) {
    const callByName = new Map(facts.calls.map((c, i) => [c.nameOffset, i]));
    for (const closure of closures) {
      if (!closure.argOf) continue;
      const ci = callByName.get(closure.argOf.nameOffset);
      if (ci === undefined) continue;
      const c = facts.calls[ci];
      const index = closure.argOf.index;
      const inside = (offset: number) => closure.startIndex <= offset && offset < closure.endIndex;
      const acquisitions = facts.acquisitions.filter((a) => inside(facts.nodes.get(a.id)!.call.startIndex)).map((a) => a.id);
      const [from, to] = callsIn(closure);
      const calls: number[] = [];
      for (let i = from; i < to; i++) if (i !== ci) calls.push(i);
      if (acquisitions.length > 0 || calls.length > 0) (c.closureArgs ??= []).push({ index, acquisitions, calls });
    }
  }
}

/** `outer::inner` for a function nested in another function's body. */
function nestedName(fnNode: Node): string {
  const name = field(fnNode, 'name')?.text ?? '?';
  const outer = enclosingFunctionName(fnNode);
  return outer ? `${outer}::${name}` : name;
}

/** Modifiers (`pub async unsafe`) come before the name. */
function isAsyncItem(fnNode: Node): boolean {
  return /\basync\b/.test(fnNode.text.slice(0, (field(fnNode, 'name')?.startIndex ?? fnNode.startIndex) - fnNode.startIndex));
}

/** `Foo` for an impl of `crate::m::Foo<T>`. */
function implTypeName(typeText: string): string {
  return typeText.replace(/<[\s\S]*$/, '').replace(/^.*::/, '');
}

function implSelfType(fnNode: Node): string | undefined {
  for (let p = fnNode.parent; p; p = p.parent) {
    if (p.type === 'impl_item') {
      const t = field(p, 'type')?.text;
      return t ? implTypeName(t) : undefined;
    }
    if (p.type === 'trait_item') return field(p, 'name')?.text;
    if (p.type === 'function_item') return undefined;
  }
  return undefined;
}

interface FoundAcquisition {
  ref: { cls: string; certainty: Acquisition['certainty']; declaredIn?: { file: string; range: Range }; instance?: string };
  type: LockType;
  method: AcquireMethod;
  methodName: string;
  receiver: Node;
}

function acquisitionAt(call: Node, resolver: FunctionResolver, view: CrateView, decls: FileDeclarations): FoundAcquisition | undefined {
  const mc = methodCall(call);
  if (!mc) return guardReturningCall(call, resolver, view);
  if (!ACQUIRE_NAMES.has(mc.name)) return guardReturningCall(call, resolver, view);
  const ref = resolver.lockOf(mc.receiver);
  if (ref && ref.type) {
    const m = acquireMethod(ref.type, mc.name, mc.args.length);
    if (!m) return undefined;
    // A lock type we could not place (a project's own `Mutex`) that is awaited is an async lock.
    if (ref.type.flavor === 'unknown' && followedBy(call) === 'await') {
      return { ref, type: { ...ref.type, async: true, poisons: false }, method: { ...m, wrapped: false, awaits: true }, methodName: mc.name, receiver: mc.receiver };
    }
    return { ref, type: ref.type, method: m, methodName: mc.name, receiver: mc.receiver };
  }
  // Unknown receiver type: accept the lock method shapes that almost always mean a lock.
  const mode: GuardMode | undefined = UNTYPED_LOCK_METHODS[mc.name];
  if (!mode || mc.args.length !== 0) return undefined;
  if (ref === undefined && resolverKnowsNonLock(mc.receiver, resolver, view)) return undefined;
  // `x.lock()` with no arguments is a lock almost everywhere; `read()`/`write()` also name I/O
  // and cell methods, so they need their result to be used like a lock result.
  const evidence = followedBy(call);
  if (mc.name !== 'lock' && evidence === 'none') return undefined;
  const kind = mode === 'mutex' ? 'mutex' : 'rwlock';
  const flavor = evidence === 'await' ? 'tokio' : evidence === 'result' ? 'std' : 'unknown';
  const type = lockTypeOf(flavor, kind);
  const method: AcquireMethod = {
    mode,
    isTry: mc.name.startsWith('try_'),
    wrapped: evidence === 'result',
    awaits: evidence === 'await',
  };
  const cls = ref?.cls ?? `${resolver.fnName}::${peel(mc.receiver).text.replace(/\s+/g, '')}`;
  void decls;
  return { ref: { cls, certainty: 'likely' }, type, method, methodName: mc.name, receiver: mc.receiver };
}

/** Whether the receiver has a known type that is not a lock (a crate struct, a std I/O handle). */
function resolverKnowsNonLock(receiver: Node, resolver: FunctionResolver, view: CrateView): boolean {
  const t = resolver.typeOf(receiver);
  if (!t) return false;
  return !!view.struct(t);
}

/** What the lock call's result is used for: evidence of its type when the type is unknown. */
function followedBy(call: Node): 'result' | 'await' | 'deref' | 'none' {
  const p = call.parent;
  if (!p) return 'none';
  if (p.type === 'await_expression') return 'await';
  if (p.type === 'try_expression') return 'result';
  if (p.type === 'field_expression') {
    const name = field(p, 'field')?.text ?? '';
    if (/^(unwrap|expect|unwrap_or_else|map_err|is_ok|is_err|ok)$/.test(name)) return 'result';
    return 'deref';
  }
  if (p.type === 'unary_expression' || p.type === 'let_declaration' || p.type === 'arguments') return 'deref';
  return 'none';
}

/**
 * What the text prefilter needs to know of a crate's guard-returning functions: the ones
 * guardReturningCall accepts (a lock guard in the return type), by name, and the names a
 * receiver's type can get from a declaration rather than from the body's own text.
 */
interface GuardCallIndex {
  /** Matches a call (`name(`, `name::<T>(`) of one of them, the name in group 1. Global. */
  re: RegExp | null;
  byName: Map<string, FunctionDecl[]>;
  /**
   * Every identifier in a field's or a static's type, and the type name the resolver reads from
   * it: FunctionResolver.typeOf reaches such a type through field chains and locals, from any body.
   */
  declaredTypeNames: Set<string>;
  /** `use path::Name as Alias`: the aliases under which a type's name may appear in a body. */
  aliases: Map<string, string[]>;
  /** A type's name, or one of its aliases, as a whole word: by type name, built when first asked. */
  mentions: Map<string, RegExp>;
}

const guardCallIndexes = new WeakMap<CrateView, GuardCallIndex>();

function guardCallIndex(view: CrateView): GuardCallIndex {
  let idx = guardCallIndexes.get(view);
  if (idx) return idx;
  const byName = new Map<string, FunctionDecl[]>();
  for (const name of view.guardFunctionNames) {
    const targets = view.functionsByName.get(name)?.filter((f) => f.returnType && GUARD_RETURN_RE.test(f.returnType));
    if (targets && targets.length > 0) byName.set(name, targets);
  }
  const declaredTypeNames = new Set<string>();
  const addType = (typeText: string, file: string) => {
    for (const m of typeText.matchAll(/[A-Za-z_]\w*/g)) declaredTypeNames.add(m[0]);
    declaredTypeNames.add(view.resolveTypeIn(typeText, file).name);
  };
  const aliases = new Map<string, string[]>();
  for (const f of view.index.files) {
    for (const st of f.structs) for (const fd of st.fields) addType(fd.typeText, st.file);
    for (const st of f.statics) addType(st.typeText, st.file);
    for (const [alias, path] of Object.entries(f.imports)) {
      const real = path.slice(path.lastIndexOf(':') + 1);
      if (real !== alias) push(aliases, real, alias);
    }
  }
  const names = [...byName.keys()].map((n) => n.replace(/[^\w]/g, '\\$&'));
  const re = names.length === 0 ? null : new RegExp(`\\b(${names.join('|')})\\s*(?:::\\s*<[^<>()]*>\\s*)?\\(`, 'g');
  idx = { re, byName, declaredTypeNames, aliases, mentions: new Map() };
  guardCallIndexes.set(view, idx);
  return idx;
}

/**
 * Whether a body (blanked) may call a guard-returning function of the crate: a superset of the
 * calls guardReturningCall accepts, decided from the text so that other bodies are not parsed.
 * - `.name(..)`: never for the lock method names (acquisitionAt takes those as lock calls); else
 *   the receiver must be one the resolver can type (not `x?`, `v[i]`, `m!(..)`, `x.await`, ..) and
 *   to an impl's Self type, which it gets only from the function's own Self type, a type written
 *   in the body or a parameter, or a field's or static's type.
 * - `Q::name(..)`: Q names that impl's type or a module ending in Q, as guardReturningCall asks.
 * - `name(..)`: a free function of that name returns a guard.
 * `decl` is the function's declaration; without it (a nested function) every call may be one.
 */
function mayCallGuardFunction(text: string, view: CrateView, decl: FunctionDecl | undefined): boolean {
  const idx = guardCallIndex(view);
  if (!idx.re) return false;
  for (const m of text.matchAll(idx.re)) {
    const name = m[1];
    const targets = idx.byName.get(name)!;
    const before = skipSpaceBack(text, m.index! - 1);
    const c = text.charCodeAt(before);
    if (c === CH.DOT && text.charCodeAt(before - 1) !== CH.DOT) {
      if (ACQUIRE_NAMES.has(name) || !receiverMayHaveType(text, skipSpaceBack(text, before - 1))) continue;
      if (!decl || targets.some((f) => f.selfType && typeMayBeReached(f.selfType, text, decl, idx))) return true;
      continue;
    }
    if (c === CH.COLON && text.charCodeAt(before - 1) === CH.COLON) {
      const written = qualifierBefore(text, before - 1);
      if (written === undefined || (written === 'Self' && !decl)) return true;
      const qual = written === 'Self' ? (decl!.selfType ?? 'Self') : written;
      const typeName = qual.replace(/^.*::/, '');
      const modulePath = qual.replace(/^(crate|self|super)::/, '');
      if (targets.some((f) => f.selfType === typeName || f.modulePath.endsWith(modulePath))) return true;
      continue;
    }
    if (targets.some((f) => !f.selfType)) return true;
  }
  return false;
}

/**
 * The path before the `::` at `colon` (its first character), as the tree's path call has it
 * (whitespace removed), or undefined when it is not a plain path (`<T as Tr>::`, `x::<T>::`, `::a`).
 */
function qualifierBefore(text: string, colon: number): string | undefined {
  const segments: string[] = [];
  let at = colon;
  for (;;) {
    const end = skipSpaceBack(text, at - 1);
    const start = wordStart(text, end + 1);
    if (start > end) return undefined;
    if (start > 0 && text.charCodeAt(start - 1) === CH.HASH) return undefined; // raw identifier
    segments.unshift(text.slice(start, end + 1));
    const prev = skipSpaceBack(text, start - 1);
    if (prev < 1 || text.charCodeAt(prev) !== CH.COLON || text.charCodeAt(prev - 1) !== CH.COLON) return segments.join('::');
    at = prev - 1;
  }
}

/** Whether FunctionResolver.typeOf may give some receiver in this function the type `name`. */
function typeMayBeReached(name: string, text: string, decl: FunctionDecl, idx: GuardCallIndex): boolean {
  if (name === decl.selfType || idx.declaredTypeNames.has(name)) return true;
  let word = idx.mentions.get(name);
  if (!word) {
    const written = [name, ...(idx.aliases.get(name) ?? [])].map((w) => w.replace(/[^\w]/g, '\\$&'));
    word = new RegExp(`\\b(?:${written.join('|')})\\b`);
    idx.mentions.set(name, word);
  }
  return word.test(text) || decl.params.some((p) => word.test(p.typeText));
}

/** Methods the resolver types its receiver through (FunctionResolver.typeOf). */
const TYPED_THROUGH = new Set(['clone', 'as_ref', 'borrow', 'unwrap', 'expect']);

/** Whether the receiver ending at `end` (inclusive) may get a type from the resolver. */
function receiverMayHaveType(text: string, end: number): boolean {
  const c = text.charCodeAt(end);
  if (c === CH.QUESTION || c === CH.RBRACKET) return false; // `x?`, `v[i]`
  if (/\.\s*await$/.test(text.slice(Math.max(0, end - 12), end + 1))) return false;
  if (c !== CH.CLOSE) return true; // a path, a field, `self`: may be typed
  // `..)`: find the call's `(` and what comes before it.
  const open = groupStart(text, end);
  const before = skipSpaceBack(text, open - 1);
  if (before < 0) return true;
  if (text.charCodeAt(before) === CH.BANG) return false; // `m!(..)`
  let w = before;
  while (w >= 0 && /\w/.test(text[w])) w--;
  if (w === before) return true; // `(x)`, `f()(..)`, turbofish: keep
  const dot = skipSpaceBack(text, w);
  if (text.charCodeAt(dot) !== CH.DOT || text.charCodeAt(dot - 1) === CH.DOT) return true; // a path call: may be typed
  return TYPED_THROUGH.has(text.slice(w + 1, before + 1));
}

/** A call to a crate function declared to return a guard is an acquisition at the call site. */
function guardReturningCall(call: Node, resolver: FunctionResolver, view: CrateView): FoundAcquisition | undefined {
  const mc = methodCall(call);
  const pc = mc ? undefined : pathCall(call);
  const name = mc?.name ?? pc?.name;
  if (!name) return undefined;
  if (!view.guardFunctionNames.has(name)) return undefined;
  const target = resolver.crateCallee(call, 0, (f) => !!f.returnType && GUARD_RETURN_RE.test(f.returnType));
  if (!target || !target.returnType) return undefined;
  const guardName = GUARD_RETURN_RE.exec(target.returnType)![1];
  const mode: GuardMode = /Read/.test(guardName) ? (/Upgradable/.test(guardName) ? 'upgradable' : 'read') : /Write/.test(guardName) ? 'write' : /Reentrant/.test(guardName) ? 'reentrant' : 'mutex';
  const returnsResult = /^\s*(LockResult|Result|Option|TryLockResult)\b/.test(target.returnType);
  const flavor = /parking_lot|lock_api/.test(target.returnType) ? 'parking_lot' : /tokio/.test(target.returnType) ? 'tokio' : 'std';
  const type = lockTypeOf(flavor, mode === 'read' || mode === 'write' || mode === 'upgradable' ? 'rwlock' : 'mutex');
  // A helper that only locks a field or a static (`self.state.lock().unwrap()`) locks that lock.
  const named = resolver.lockNamedBy(target, call);
  return {
    ref: named ? { cls: named.cls, certainty: 'certain', declaredIn: named.declaredIn, instance: named.instance } : { cls: `${target.qualifiedName}()`, certainty: 'likely' },
    type,
    method: { mode, isTry: target.name.startsWith('try_'), wrapped: returnsResult, awaits: target.isAsync },
    methodName: target.name,
    receiver: mc ? mc.receiver : call,
  };
}

function callFact(call: Node, resolver: FunctionResolver): CallFact | undefined {
  if (isDropCall(call)) return undefined;
  const mc = methodCall(call);
  if (mc) {
    if (GUARD_PLUMBING.has(mc.name)) return undefined;
    const recvType = resolver.typeOf(mc.receiver);
    const lock = resolver.lockOf(mc.receiver);
    return {
      node: call,
      nameOffset: mc.nameNode.startIndex,
      receiverLock: lock?.type ? lock.cls : undefined,
      calleeText: `${mc.receiver.text.replace(/\s+/g, '')}.${mc.name}`,
      name: mc.name,
      receiverText: mc.receiver.text.replace(/\s+/g, ''),
      receiverType: recvType,
      range: rangeOf(call),
      heldGuards: NO_GUARDS,
    };
  }
  const pc = pathCall(call);
  if (pc) {
    const qual = pc.path.includes('::') ? pc.path.slice(0, pc.path.lastIndexOf('::')) : undefined;
    return {
      node: call,
      nameOffset: calleeNameNode(call)?.startIndex ?? call.startIndex,
      calleeText: pc.path,
      name: pc.name,
      pathQualifier: qual === 'Self' ? resolver.selfType : qual,
      range: rangeOf(call),
      heldGuards: NO_GUARDS,
    };
  }
  return undefined;
}

/** A placeholder, replaced before the summary is handed out. */
const NO_CALLS: CallSite[] = [];

function callSites(calls: CallFact[]): CallSite[] {
  return calls.map(({ node: _n, receiverLock: _l, nameOffset: _o, ...rest }) => rest);
}

/**
 * Sets `summary.calls` to be found when first read: an own enumerable property all the same, so
 * that copies (`JSON.stringify`, `structuredClone`, a worker's message) and comparisons see the
 * calls as if they had been found at once.
 */
function callsWhenRead(summary: FunctionSummary, f: FunctionFacts): void {
  const settle = (calls: CallSite[]) => Object.defineProperty(summary, 'calls', { value: calls, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(summary, 'calls', {
    get: () => {
      let calls: CallSite[];
      try {
        calls = callSites(f.calls);
      } catch (e) {
        // Read while a graph is built, long after the file's own errors were caught: one
        // function's calls are lost, not the whole check. The caller reports `callsError`.
        calls = [];
        summary.callsError = e instanceof Error ? e.message : String(e);
      }
      settle(calls);
      return calls;
    },
    set: settle,
    enumerable: true,
    configurable: true,
  });
}

export function summarize(f: FunctionFacts, file: string): FunctionSummary {
  const decl = f.decl;
  const text = f.nestedText;
  const nameRange = () => rangeOf(field(f.node, 'name') ?? f.node);
  const returned = f.acquisitions.find((a) => a.holder.kind === 'returned' && a.releases.some((r) => r.reason.startsWith('returned')));
  const summary: FunctionSummary = {
    qualifiedName: f.qualifiedName,
    file,
    range: decl ? decl.range : text ? text.range : rangeOf(f.node),
    nameRange: decl ? decl.nameRange : text ? text.nameRange : nameRange(),
    acquisitions: f.acquisitions.filter((a) => !f.deferred.has(a.id)).map((a) => a.id),
    deferredAcquisitions: f.acquisitions.filter((a) => f.deferred.has(a.id)).map((a) => a.id),
    calls: f.callsPending ? NO_CALLS : callSites(f.calls),
    returnsGuard: returned ? { lock: returned.lock, mode: returned.mode } : undefined,
    name: decl ? decl.name : text ? text.name : field(f.node, 'name')?.text ?? '?',
    selfType: decl ? decl.selfType : text ? text.selfType : implSelfType(f.node),
    traitName: f.decl?.traitName,
    modulePath: f.decl?.modulePath ?? '',
    isAsync: f.isAsync,
  };
  if (f.callsPending) callsWhenRead(summary, f);
  return summary;
}
