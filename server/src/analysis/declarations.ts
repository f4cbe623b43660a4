// Collects what a file declares (structs and their fields, statics, functions, imports), so
// lock classes and calls can be resolved across the files of a crate.

import type { FieldDecl, FileDeclarations, FunctionDecl, StaticDecl, StructDecl } from './api';
import type { Position, Range } from './model';
import { codeOnly, trimSpan } from './lexical';
import { field, namedChildren, rangeOf, type Node } from './syntax';

const LOCK_TYPE_NAMES = ['Mutex', 'RwLock', 'Condvar', 'ReentrantMutex', 'FairMutex', 'DashMap', 'DashSet'];

/** `src/lib.rs` -> '', `src/db/mod.rs` -> 'db', `src/db/odb.rs` -> 'db::odb'. */
export function modulePathForFile(relPath: string): string {
  let p = relPath.replace(/\\/g, '/');
  const srcAt = p.lastIndexOf('src/');
  if (srcAt >= 0) p = p.slice(srcAt + 4);
  else {
    // tests/, examples/, benches/: each file is its own crate root.
    const slash = p.lastIndexOf('/');
    if (slash >= 0 && !p.endsWith('/mod.rs')) return '';
  }
  p = p.replace(/\.rs$/, '');
  if (p === 'lib' || p === 'main' || p.startsWith('bin/')) return '';
  p = p.replace(/\/mod$/, '');
  return p.split('/').join('::');
}

/**
 * Top-level items' declarations by the item's text, kept from one collection of a file to the
 * next: an item whose text is unchanged declares the same things, only lower or higher in the
 * file, so it is not walked again. Holds the current items only.
 */
export class ItemCache {
  entries = new Map<string, { at: Position; part: ItemDeclarations }>();
}

type ItemDeclarations = Pick<FileDeclarations, 'structs' | 'statics' | 'functions' | 'imports'>;

/**
 * `text` is the parsed source, when the caller has it: slicing it is cheaper than asking nodes
 * for text. With `cache` (and `text`), unchanged top-level items are taken from it.
 */
export function collectDeclarations(root: Node, file: string, text?: string, cache?: ItemCache): FileDeclarations {
  const modulePath = modulePathForFile(file);
  const decls: FileDeclarations = { file, structs: [], statics: [], functions: [], imports: {}, modulePath };
  if (!cache || text === undefined) {
    visitItems(root, modulePath, decls, undefined, text);
    settleGlobImports(decls.imports);
    return decls;
  }
  const next = new Map<string, { at: Position; part: ItemDeclarations }>();
  for (const item of itemsOf(root)) {
    const key = `${item.type}\u0000${text.slice(item.startIndex, item.endIndex)}`;
    const at = { line: item.startPosition.row, column: item.startPosition.column };
    const known = cache.entries.get(key) ?? next.get(key);
    let part: ItemDeclarations;
    if (known && known.at.column === at.column) {
      // Same text at the same column: every position inside moved by the same number of lines.
      part = known.at.line === at.line ? known.part : moveLines(known.part, at.line - known.at.line);
    } else {
      part = { structs: [], statics: [], functions: [], imports: {} };
      visitItem(item, modulePath, { ...part, file, modulePath } as FileDeclarations, undefined, text);
    }
    next.set(key, { at, part });
    decls.structs.push(...part.structs);
    decls.statics.push(...part.statics);
    decls.functions.push(...part.functions);
    mergeImports(decls.imports, part.imports);
  }
  settleGlobImports(decls.imports);
  cache.entries = next;
  return decls;
}

function moveLines(part: ItemDeclarations, delta: number): ItemDeclarations {
  const p = (x: Position): Position => ({ line: x.line + delta, column: x.column });
  const r = (x: Range): Range => ({ start: p(x.start), end: p(x.end) });
  return {
    structs: part.structs.map((s) => ({ ...s, range: r(s.range), fields: s.fields.map((f) => ({ ...f, range: r(f.range) })) })),
    statics: part.statics.map((s) => ({ ...s, range: r(s.range) })),
    functions: part.functions.map((f) => ({ ...f, range: r(f.range), nameRange: r(f.nameRange), bodyRange: f.bodyRange && r(f.bodyRange) })),
    imports: part.imports,
  };
}

const ITEM_TYPES = new Set(['use_declaration', 'struct_item', 'static_item', 'const_item', 'macro_invocation', 'function_item', 'impl_item', 'trait_item', 'mod_item']);

/** Children of `container` that are items this pass reads; a cursor avoids materialising the others. */
function itemsOf(container: Node): Node[] {
  const out: Node[] = [];
  const cursor = container.walk();
  try {
    if (cursor.gotoFirstChild()) {
      do {
        if (ITEM_TYPES.has(cursor.nodeType)) out.push(cursor.currentNode);
      } while (cursor.gotoNextSibling());
    }
  } finally {
    cursor.delete();
  }
  return out;
}

function join(mod: string, name: string): string {
  return mod ? `${mod}::${name}` : name;
}

function visitItems(container: Node, mod: string, decls: FileDeclarations, impl: { selfType: string; traitName?: string } | undefined, text: string | undefined): void {
  for (const item of itemsOf(container)) visitItem(item, mod, decls, impl, text);
}

function visitItem(item: Node, mod: string, decls: FileDeclarations, impl: { selfType: string; traitName?: string } | undefined, text: string | undefined): void {
  switch (item.type) {
    case 'use_declaration': {
      const arg = field(item, 'argument');
      if (arg) collectUse(arg, '', decls.imports);
      break;
    }
    case 'struct_item':
      decls.structs.push(structDecl(item, decls.file));
      break;
    case 'static_item':
    case 'const_item': {
      const name = field(item, 'name');
      const type = field(item, 'type');
      if (name && type) {
        decls.statics.push({
          name: name.text,
          typeText: type.text,
          initText: field(item, 'value')?.text ?? '',
          file: decls.file,
          range: rangeOf(item),
          modulePath: mod,
        });
      }
      break;
    }
    case 'macro_invocation':
      collectLazyStatics(item, mod, decls);
      break;
    case 'function_item':
    case 'function_signature_item':
      if (item.type === 'function_item') decls.functions.push(functionDecl(item, decls.file, mod, impl, text));
      break;
    case 'impl_item': {
      const type = field(item, 'type');
      const trait = field(item, 'trait');
      const body = field(item, 'body');
      if (type && body) visitItems(body, mod, decls, { selfType: baseTypeName(type.text), traitName: trait ? baseTypeName(trait.text) : undefined }, text);
      break;
    }
    case 'trait_item': {
      const name = field(item, 'name');
      const body = field(item, 'body');
      if (name && body) visitItems(body, mod, decls, { selfType: name.text, traitName: name.text }, text);
      break;
    }
    case 'mod_item': {
      const name = field(item, 'name');
      const body = field(item, 'body');
      if (name && body) visitItems(body, join(mod, name.text), decls, undefined, text);
      break;
    }
    default:
      break;
  }
}

/** `Catalog<'a, T>` -> `Catalog`; `crate::db::Odb` -> `Odb`. */
export function baseTypeName(text: string): string {
  const noGenerics = text.replace(/<[\s\S]*$/, '').trim();
  return noGenerics.slice(noGenerics.lastIndexOf(':') + 1).replace(/^&\s*(mut\s+)?/, '');
}

function structDecl(item: Node, file: string): StructDecl {
  const name = field(item, 'name')?.text ?? '?';
  const fields: FieldDecl[] = [];
  const body = field(item, 'body');
  if (body && body.type === 'field_declaration_list') {
    for (const f of namedChildren(body)) {
      if (f.type !== 'field_declaration') continue;
      const fname = field(f, 'name');
      const ftype = field(f, 'type');
      if (fname && ftype) fields.push({ name: fname.text, typeText: ftype.text, range: rangeOf(f) });
    }
  } else if (body && body.type === 'ordered_field_declaration_list') {
    let i = 0;
    for (const f of namedChildren(body)) {
      if (f.type === 'attribute_item' || f.type === 'visibility_modifier') continue;
      fields.push({ name: String(i++), typeText: f.text, range: rangeOf(f) });
    }
  }
  return { name, file, range: rangeOf(item), fields };
}

function functionDecl(item: Node, file: string, mod: string, impl: { selfType: string; traitName?: string } | undefined, text: string | undefined): FunctionDecl {
  const nameNode = field(item, 'name')!;
  const name = nameNode.text;
  const params: Array<{ name: string; typeText: string }> = [];
  const ps = field(item, 'parameters');
  if (ps) {
    for (const p of namedChildren(ps)) {
      if (p.type === 'self_parameter') params.push({ name: 'self', typeText: impl?.selfType ?? 'Self' });
      else if (p.type === 'parameter') {
        const pat = field(p, 'pattern');
        const type = field(p, 'type');
        if (pat && type) params.push({ name: pat.text.replace(/^mut\s+/, ''), typeText: type.text });
      }
    }
  }
  // Modifiers (`pub async unsafe`) come before the name: a text test avoids walking children.
  const isAsync = /\basync\b/.test(text !== undefined ? text.slice(item.startIndex, nameNode.startIndex) : item.text.slice(0, nameNode.startIndex - item.startIndex));
  const body = field(item, 'body');
  const returnType = field(item, 'return_type')?.text;
  return {
    qualifiedName: impl ? `${impl.selfType}::${name}` : join(mod, name),
    name,
    selfType: impl?.selfType,
    traitName: impl?.traitName,
    params,
    returnType,
    isAsync,
    file,
    range: rangeOf(item),
    nameRange: rangeOf(nameNode),
    bodyRange: body ? rangeOf(body) : undefined,
    modulePath: mod,
    lockPath: body ? lockAccessorPath(returnType, () => codeOnly(body.text)) : undefined,
  };
}

/** A lock type written as a whole return type, not a guard of one. */
const RETURNS_LOCK_RE = /^(?:&\s*(?:'\w+\s+)?|(?:std::sync::)?Arc\s*<\s*)(?:[\w:]*::)?(?:Mutex|RwLock|ReentrantMutex|FairMutex)\s*</;
const PATH = String.raw`((?:self|[A-Za-z_]\w*(?:\s*::\s*[A-Za-z_]\w*)*)(?:\s*\.\s*[A-Za-z_]\w*)*)`;
/** `{ &self.a.b }`, `{ &REGISTRY }`, `{ self.a }`, `{ self.a.clone() }`, `{ Arc::clone(&self.a) }`. */
const ACCESSOR_BODY_RES = [
  new RegExp(String.raw`^\{\s*&?\s*${PATH}\s*\}$`),
  new RegExp(String.raw`^\{\s*${PATH}\s*\.\s*clone\s*\(\s*\)\s*\}$`),
  new RegExp(String.raw`^\{\s*(?:std\s*::\s*sync\s*::\s*)?Arc\s*::\s*clone\s*\(\s*&\s*${PATH}\s*\)\s*\}$`),
];

/** A guard type written anywhere in a return type (`MutexGuard<'_, T>`, `LockResult<RwLockReadGuard<..>>`). */
const RETURNS_GUARD_RE = /Guard\s*</;
/**
 * `{ self.a.lock().unwrap() }`, `{ self.a.read() }`, `{ STATE.write().expect("..") }`,
 * `{ self.a.lock().unwrap_or_else(|e| e.into_inner()) }`: a guard-returning helper that only
 * locks. Literals are blank or filled, so `expect(..)` holds no parentheses.
 */
const GUARD_BODY_RE = new RegExp(
  String.raw`^\{\s*${PATH}\s*\.\s*(?:lock|read|write|try_lock|try_read|try_write|upgradable_read|read_recursive)\s*\(\s*\)` +
    String.raw`\s*(?:\.\s*(?:unwrap\s*\(\s*\)|expect\s*\([^()]*\)|unwrap_or_else\s*\(\s*\|\s*(\w+)\s*\|\s*\2\s*\.\s*into_inner\s*\(\s*\)\s*\)))?\s*\}$`,
);

/**
 * FunctionDecl.lockPath: the path to the lock that a function returning a lock hands out, or
 * that a function returning a guard locks. `bodyCode` gives the body with comments and literals
 * blanked, from `{` to `}`; it is asked for only when the return type is one of those.
 */
export function lockAccessorPath(returnType: string | undefined, bodyCode: () => string): string | undefined {
  if (!returnType) return undefined;
  const res = RETURNS_LOCK_RE.test(returnType) ? ACCESSOR_BODY_RES : RETURNS_GUARD_RE.test(returnType) ? [GUARD_BODY_RE] : undefined;
  if (!res) return undefined;
  const code = bodyCode();
  for (const re of res) {
    const m = re.exec(code);
    if (m) return m[1].replace(/\s+/g, '');
  }
  return undefined;
}

function collectUse(node: Node, prefix: string, imports: Record<string, string>): void {
  const pre = (p: string) => (prefix ? `${prefix}::${p}` : p);
  switch (node.type) {
    case 'identifier':
    case 'scoped_identifier':
    case 'crate':
    case 'self':
    case 'super':
      importPath(pre(node.text.replace(/\s+/g, '')), imports);
      break;
    case 'use_as_clause': {
      const path = field(node, 'path');
      const alias = field(node, 'alias');
      if (path && alias) imports[alias.text] = pre(path.text.replace(/\s+/g, ''));
      break;
    }
    case 'scoped_use_list': {
      const path = field(node, 'path');
      const list = field(node, 'list');
      const p = path ? pre(path.text.replace(/\s+/g, '')) : prefix;
      if (list) for (const c of namedChildren(list)) collectUse(c, p, imports);
      break;
    }
    case 'use_list':
      for (const c of namedChildren(node)) collectUse(c, prefix, imports);
      break;
    case 'use_wildcard': {
      const path = node.namedChild(0);
      importGlob(path ? pre(path.text.replace(/\s+/g, '')) : prefix, imports);
      break;
    }
    default:
      break;
  }
}

/** `lazy_static! { static ref NAME: Type = init; }` declares statics inside a macro. */
function collectLazyStatics(item: Node, mod: string, decls: FileDeclarations): void {
  const macro = field(item, 'macro')?.text ?? '';
  if (!/(^|::)lazy_static$/.test(macro)) return;
  for (const m of item.text.matchAll(LAZY_STATIC_RE)) {
    decls.statics.push({ name: m[1], typeText: m[2], initText: m[3], file: decls.file, range: rangeOf(item), modulePath: mod });
  }
}

/** `static ref NAME: Type = init;` inside `lazy_static! { .. }`. */
export const LAZY_STATIC_RE = /static\s+ref\s+([A-Za-z_]\w*)\s*:\s*([^=]+?)\s*=\s*([^;]+);/g;

/** `a::b::c` imports `c`; `a::b::self` (in a list) imports `b`. */
function importPath(full: string, imports: Record<string, string>): void {
  const last = full.slice(full.lastIndexOf(':') + 1);
  if (last !== 'self') imports[last] = full;
  else {
    const parent = full.slice(0, full.lastIndexOf('::'));
    imports[parent.slice(parent.lastIndexOf(':') + 1)] = parent;
  }
}

/**
 * A glob import of a lock module brings its lock types into scope, unless a name is imported
 * explicitly, wherever in the file (Rust's rule). Until `settleGlobImports`, glob names are kept
 * under a `*` key so that items collected one at a time merge right.
 */
function importGlob(path: string, imports: Record<string, string>): void {
  if (/^(std::sync|parking_lot|tokio::sync|spin|futures::lock|dashmap|async_std::sync)$/.test(path)) {
    for (const n of LOCK_TYPE_NAMES) imports[`*${n}`] ??= `${path}::${n}`;
  }
}

/** Adds `part`'s imports; the first glob to bring a name keeps it. */
function mergeImports(imports: Record<string, string>, part: Record<string, string>): void {
  for (const [k, v] of Object.entries(part)) {
    if (k.startsWith('*')) imports[k] ??= v;
    else imports[k] = v;
  }
}

/** Glob-imported names, where no explicit import has the name. */
export function settleGlobImports(imports: Record<string, string>): void {
  for (const k of Object.keys(imports)) {
    if (!k.startsWith('*')) continue;
    imports[k.slice(1)] ??= imports[k];
    delete imports[k];
  }
}

/**
 * The imports of a use tree read from text, as `collectUse` reads them from its node: `from`
 * to `to` spans the tree after `use` (`a::{b, c as d}`), in `text` with `code` its blanked twin.
 */
export function collectUseText(text: string, code: string, from: number, to: number, imports: Record<string, string>, prefix = ''): void {
  [from, to] = trimSpan(code, from, to);
  if (from === to) return;
  const pre = (p: string) => (prefix ? `${prefix}::${p}` : p);
  const slice = (a: number, b: number) => text.slice(a, b).replace(/\s+/g, '');
  if (code[to - 1] === '}') {
    const open = code.indexOf('{', from);
    const path = slice(from, open).replace(/::$/, '');
    const p = path ? pre(path) : prefix;
    let depth = 0;
    let itemFrom = open + 1;
    for (let i = open + 1; i < to - 1; i++) {
      const ch = code[i];
      if (ch === '{') depth++;
      else if (ch === '}') depth--;
      else if (ch === ',' && depth === 0) {
        collectUseText(text, code, itemFrom, i, imports, p);
        itemFrom = i + 1;
      }
    }
    collectUseText(text, code, itemFrom, to - 1, imports, p);
    return;
  }
  if (code[to - 1] === '*') {
    const path = slice(from, to - 1).replace(/::$/, '');
    importGlob(path ? pre(path) : prefix, imports);
    return;
  }
  const as = /\s+as\s+(\S+)$/.exec(code.slice(from, to));
  if (as) {
    imports[slice(to - as[1].length, to)] = pre(slice(from, to - as[0].length));
    return;
  }
  importPath(pre(slice(from, to)), imports);
}

/** An edit in tree-sitter's terms (the parser's TreeEdit, without depending on it). */
export interface DeclarationEdit {
  startPosition: { row: number; column: number };
  oldEndPosition: { row: number; column: number };
  newEndPosition: { row: number; column: number };
}

const before = (a: Position, b: { row: number; column: number }) => a.line < b.row || (a.line === b.row && a.column < b.column);

/**
 * Where a position of the old text is after a tree-sitter edit; one inside the replaced text goes
 * to the edit's start. A position that does not move is returned as is (the same object), so
 * unchanged declarations and findings compare by identity.
 */
export function positionAfterEdit(p: Position, e: DeclarationEdit): Position {
  if (before(p, e.startPosition)) return p;
  if (before(p, e.oldEndPosition)) return p.line === e.startPosition.row && p.column === e.startPosition.column ? p : { line: e.startPosition.row, column: e.startPosition.column };
  if (p.line === e.oldEndPosition.row) return { line: e.newEndPosition.row, column: e.newEndPosition.column + (p.column - e.oldEndPosition.column) };
  const delta = e.newEndPosition.row - e.oldEndPosition.row;
  return delta === 0 ? p : { line: p.line + delta, column: p.column };
}

function shiftRange(r: Range, e: DeclarationEdit): Range {
  const start = positionAfterEdit(r.start, e);
  const end = positionAfterEdit(r.end, e);
  // Unmoved ranges stay the same objects, so unchanged declarations compare by identity.
  return start === r.start && end === r.end ? r : { start, end };
}

/** `list` with `f` applied; the same array when `f` changed nothing. */
function mapSame<T>(list: T[], f: (x: T) => T): T[] {
  let out: T[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const y = f(list[i]);
    if (y !== list[i]) (out ??= list.slice())[i] = y;
  }
  return out ?? list;
}

function shiftStruct(s: StructDecl, e: DeclarationEdit): StructDecl {
  const range = shiftRange(s.range, e);
  const fields = mapSame(s.fields, (f) => {
    const r = shiftRange(f.range, e);
    return r === f.range ? f : { ...f, range: r };
  });
  return range === s.range && fields === s.fields ? s : { ...s, range, fields };
}

function shiftFunction(f: FunctionDecl, e: DeclarationEdit): FunctionDecl {
  const range = shiftRange(f.range, e);
  const nameRange = shiftRange(f.nameRange, e);
  const bodyRange = f.bodyRange && shiftRange(f.bodyRange, e);
  return range === f.range && nameRange === f.nameRange && bodyRange === f.bodyRange ? f : { ...f, range, nameRange, bodyRange };
}

/**
 * The declarations of the edited text from those of the text before `edits`, when every edit
 * falls strictly inside one function body: no item starts, ends or is named there (items nested
 * in bodies are not declarations), so only positions move. The new tree must agree that the
 * body is still that function's whole block (typing a `}` ends it early). Undefined otherwise:
 * collect afresh.
 */
export function shiftDeclarations(previous: FileDeclarations, edits: readonly DeclarationEdit[], root: Node): FileDeclarations | undefined {
  let decls = previous;
  const touched = new Set<number>();
  for (const e of edits) {
    const at = decls.functions.findIndex(
      (f) => !!f.bodyRange && before(f.bodyRange.start, e.startPosition) && !before(lastColumn(f.bodyRange.end), e.oldEndPosition),
    );
    if (at < 0) return undefined;
    touched.add(at);
    const structs = mapSame(decls.structs, (x) => shiftStruct(x, e));
    const statics = mapSame(decls.statics, (x) => {
      const r = shiftRange(x.range, e);
      return r === x.range ? x : { ...x, range: r };
    });
    const functions = mapSame(decls.functions, (x) => shiftFunction(x, e));
    if (structs !== decls.structs || statics !== decls.statics || functions !== decls.functions) decls = { ...decls, structs, statics, functions };
  }
  for (const i of touched) {
    const f = decls.functions[i];
    const body = root.descendantForPosition({ row: f.bodyRange!.start.line, column: f.bodyRange!.start.column }, { row: f.bodyRange!.end.line, column: f.bodyRange!.end.column });
    if (!body || body.type !== 'block' || !sameRange(rangeOf(body), f.bodyRange!)) return undefined;
    const item = body.parent;
    if (!item || item.type !== 'function_item' || !sameRange(rangeOf(item), f.range)) return undefined;
    // The body is what an accessor hands out: read it again.
    const lockPath = lockAccessorPath(f.returnType, () => codeOnly(body.text));
    if (lockPath !== f.lockPath) {
      const functions = decls.functions.slice();
      functions[i] = { ...f, lockPath };
      decls = { ...decls, functions };
    }
  }
  return decls;
}

/** The position of a range end's last character (a body's closing `}`). */
function lastColumn(end: Position): Position {
  return { line: end.line, column: Math.max(0, end.column - 1) };
}

export function sameRange(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.column === b.start.column && a.end.line === b.end.line && a.end.column === b.end.column;
}
