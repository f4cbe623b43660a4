// A file's declarations read from its text, without a syntax tree.
//
// A one-shot check needs the tree of a function only when that function may touch a lock;
// everything else it needs from a file is item structure: structs and their field types,
// statics, `use` imports, and each function's name, signature and body span. Reading that much
// is a bracket-matching walk over the text with comments and literals blanked, many times
// cheaper than a parse. The result is the same data `collectDeclarations` builds from a tree
// (a test holds the two equal over every crate in Debian's registry); whenever the text shows
// something this walk does not expect, it gives up and the caller parses the file.

import type { FieldDecl, FileDeclarations, FunctionDecl, StaticDecl, StructDecl } from './api';
import { baseTypeName, collectUseText, LAZY_STATIC_RE, lockAccessorPath, modulePathForFile, settleGlobImports } from './declarations';
import { CH, isClosing, isIdentChar, isIdentStart, isOpening, skipSpace, trimSpan } from './lexical';
import { fileText, positionAt, type FileText } from './functions';
import type { Range } from './model';

/** Thrown inside the walk when the text is not what a valid item list looks like. */
class Unexpected extends Error {}

type ImplContext = { selfType: string; traitName?: string };

const BRACKET_RE = /[()[\]{}]/g;

/**
 * The declarations of `text`, or undefined when the text is not a plain list of items: the
 * caller then parses it. `code` is `codeMarkingLiterals(text)`: comments blanked, literals
 * filled, offsets kept.
 */
export function scanDeclarations(text: string, file: string, code: string): FileDeclarations | undefined {
  const modulePath = modulePathForFile(file);
  const decls: FileDeclarations = { file, structs: [], statics: [], functions: [], imports: {}, modulePath };
  try {
    new ItemScanner(text, code, decls).items(0, code.length, modulePath, undefined);
    settleGlobImports(decls.imports);
  } catch (e) {
    if (e instanceof Unexpected) return undefined;
    throw e;
  }
  return decls;
}

class ItemScanner {
  private readonly file: FileText;

  constructor(
    private readonly text: string,
    private readonly code: string,
    private readonly decls: FileDeclarations,
  ) {
    this.file = fileText(text);
  }

  // ---- positions -------------------------------------------------------------------------

  private range(from: number, to: number): Range {
    return { start: positionAt(this.file, from), end: positionAt(this.file, to) };
  }

  // ---- tokens ----------------------------------------------------------------------------

  /** End of the identifier (or raw identifier `r#x`) at `i`, or `i` when there is none. */
  private identEnd(i: number, end: number): number {
    const c = this.code;
    if (i >= end || !isIdentStart(c.charCodeAt(i))) return i;
    let j = i + 1;
    if (c.charCodeAt(i) === 114 && c.charCodeAt(j) === CH.HASH && j + 1 < end && isIdentStart(c.charCodeAt(j + 1))) j += 2;
    while (j < end && isIdentChar(c.charCodeAt(j))) j++;
    return j;
  }

  private word(i: number, end: number): string {
    return this.code.slice(i, this.identEnd(i, end));
  }

  private expectIdent(i: number, end: number): number {
    const j = this.identEnd(i, end);
    if (j === i) throw new Unexpected();
    return j;
  }

  /** Index after the bracket that closes the one at `i` (`(`, `[` or `{`). */
  private skipBalanced(i: number, end: number): number {
    const c = this.code;
    const stack: number[] = [];
    // Function bodies are most of a file: jump from bracket to bracket.
    // `test` rather than `exec`: no match object per bracket.
    const re = BRACKET_RE;
    re.lastIndex = i;
    while (re.test(c) && re.lastIndex <= end) {
      const ch = c.charCodeAt(re.lastIndex - 1);
      if (isOpening(ch)) stack.push(ch === CH.OPEN ? CH.CLOSE : ch === CH.LBRACKET ? CH.RBRACKET : CH.RBRACE);
      else {
        if (stack.pop() !== ch) throw new Unexpected();
        if (stack.length === 0) return re.lastIndex;
      }
    }
    throw new Unexpected();
  }

  /**
   * First index at or after `i` where one of `stops` holds at nesting depth zero; brackets are
   * skipped whole, and with `angles` so are `<...>` (not the `>` of `->`).
   */
  private scanTo(i: number, end: number, stops: (j: number, ch: number) => boolean, angles: boolean): number {
    const c = this.code;
    let angle = 0;
    let j = i;
    while (j < end) {
      const ch = c.charCodeAt(j);
      if (angle === 0 && stops(j, ch)) return j;
      if (isOpening(ch)) {
        j = this.skipBalanced(j, end);
        continue;
      }
      if (isClosing(ch)) throw new Unexpected();
      if (angles) {
        if (ch === CH.LT) angle++;
        else if (ch === CH.GT && c.charCodeAt(j - 1) !== CH.MINUS && angle > 0) angle--;
      }
      j++;
    }
    throw new Unexpected();
  }

  private isKeywordAt(i: number, end: number, kw: string): boolean {
    return this.code.startsWith(kw, i) && this.identEnd(i, end) === i + kw.length;
  }

  /** After `<...>` starting at `i` (which must be `<`). */
  private skipGenerics(i: number, end: number): number {
    const c = this.code;
    const j = this.scanTo(i + 1, end, (k, ch) => ch === CH.GT && c.charCodeAt(k - 1) !== CH.MINUS, true);
    return j + 1;
  }

  // ---- items -----------------------------------------------------------------------------

  /** The items between `from` and `end` (a file, or the inside of a `mod`, `impl` or `trait` block). */
  items(from: number, end: number, mod: string, impl: ImplContext | undefined): void {
    let i = from;
    for (;;) {
      i = skipSpace(this.code, i, end);
      if (i >= end) return;
      i = this.item(i, end, mod, impl);
    }
  }

  private item(i: number, end: number, mod: string, impl: ImplContext | undefined): number {
    const c = this.code;
    const ch = c.charCodeAt(i);
    if (ch === CH.HASH) {
      // `#[attr]` or `#![attr]`: attributes are their own nodes, outside the item they annotate.
      let j = skipSpace(this.code, i + 1, end);
      if (c.charCodeAt(j) === CH.BANG) j = skipSpace(this.code, j + 1, end);
      if (c.charCodeAt(j) !== CH.LBRACKET) throw new Unexpected();
      return this.skipBalanced(j, end);
    }
    if (ch === CH.SEMI) return i + 1;
    const start = i;
    let j = this.visibility(i, end);
    j = skipSpace(this.code, j, end);
    const kw = this.word(j, end);
    switch (kw) {
      case 'use':
        return this.useItem(j + 3, end);
      case 'struct':
        return this.structItem(start, j + 6, end);
      case 'union':
      case 'enum':
        return this.skipBodied(j + kw.length, end);
      case 'type':
        return this.scanTo(j + 4, end, (_, x) => x === CH.SEMI, false) + 1;
      case 'static':
      case 'const': {
        const k = skipSpace(this.code, j + kw.length, end);
        if (kw === 'const' && this.isFunctionStart(k, end)) return this.modified(start, j, end, mod, impl);
        return this.staticItem(start, k, end, mod);
      }
      case 'fn':
      case 'async':
      case 'unsafe':
      case 'extern':
      case 'default':
      case 'impl':
      case 'trait':
      case 'auto':
        return this.modified(start, j, end, mod, impl);
      case 'mod':
        return this.modItem(j + 3, end, mod);
      case 'macro_rules':
        return this.macroDefinition(j + kw.length, end);
      default:
        if (kw.length > 0 && j === start) return this.macroInvocation(start, end, mod);
        throw new Unexpected();
    }
  }

  /** After `pub`, `pub(crate)`, `pub(in path)`..., or `i` when there is no visibility. */
  private visibility(i: number, end: number): number {
    if (!this.isKeywordAt(i, end, 'pub')) return i;
    const j = skipSpace(this.code, i + 3, end);
    if (this.code.charCodeAt(j) !== CH.OPEN) return i + 3;
    // `pub(crate)`, `pub(in path)`; in `struct S(pub ());` the parentheses are the field's type.
    const close = this.skipBalanced(j, end);
    return /^\(\s*(crate|self|super|in\s[^)]*)\s*\)$/.test(this.code.slice(j, close)) ? close : i + 3;
  }

  /** Whether the tokens at `i` are function modifiers followed by `fn`. */
  private isFunctionStart(i: number, end: number): boolean {
    let j = i;
    for (;;) {
      j = skipSpace(this.code, j, end);
      const w = this.word(j, end);
      if (w === 'fn') return true;
      if (w === 'async' || w === 'unsafe' || w === 'const' || w === 'extern' || w === 'default' || w === 'safe') {
        j = this.skipAbi(j + w.length, end);
        continue;
      }
      return false;
    }
  }

  /** After the ABI string of `extern "C"` (filled in `code`), if there is one at `i`. */
  private skipAbi(i: number, end: number): number {
    let j = skipSpace(this.code, i, end);
    while (j < end && this.code.charCodeAt(j) === CH.FILL) j++;
    return j;
  }

  /** Functions, impls and traits, after any modifiers (`unsafe impl`); `extern` blocks and crates. */
  private modified(start: number, i: number, end: number, mod: string, impl: ImplContext | undefined): number {
    let j = i;
    for (;;) {
      j = skipSpace(this.code, j, end);
      const w = this.word(j, end);
      switch (w) {
        case 'fn':
          return this.functionItem(start, j, end, mod, impl);
        case 'impl':
          return this.implItem(j + 4, end, mod);
        case 'trait':
        case 'auto':
          return this.traitItem(j, end, mod);
        case 'crate':
          return this.scanTo(j, end, (_, x) => x === CH.SEMI, false) + 1;
        case 'extern':
          j = this.skipAbi(j + w.length, end);
          continue;
        case 'async':
        case 'unsafe':
        case 'const':
        case 'default':
        case 'safe':
          j += w.length;
          continue;
        default:
          // `extern "C" { ... }` (the ABI string is blanked): a foreign block, not read.
          if (this.code.charCodeAt(j) === CH.LBRACE) return this.skipBalanced(j, end);
          throw new Unexpected();
      }
    }
  }

  /** Skips `name<..> where .. { .. }` or `name(..);` (enums, unions). */
  private skipBodied(i: number, end: number): number {
    const j = this.scanTo(i, end, (_, x) => x === CH.LBRACE || x === CH.SEMI, true);
    return this.code.charCodeAt(j) === CH.SEMI ? j + 1 : this.skipBalanced(j, end);
  }

  private useItem(i: number, end: number): number {
    const stop = this.scanTo(i, end, (_, x) => x === CH.SEMI, false);
    collectUseText(this.text, this.code, i, stop, this.decls.imports);
    return stop + 1;
  }

  private structItem(start: number, i: number, end: number): number {
    const c = this.code;
    const nameAt = skipSpace(this.code, i, end);
    const nameEnd = this.expectIdent(nameAt, end);
    let j = skipSpace(this.code, nameEnd, end);
    if (c.charCodeAt(j) === CH.LT) j = skipSpace(this.code, this.skipGenerics(j, end), end);
    const fields: FieldDecl[] = [];
    let itemEnd: number;
    if (c.charCodeAt(j) === CH.OPEN) {
      const close = this.skipBalanced(j, end);
      this.tupleFields(j + 1, close - 1, fields);
      itemEnd = this.scanTo(close, end, (_, x) => x === CH.SEMI, true) + 1;
    } else {
      j = this.scanTo(j, end, (_, x) => x === CH.LBRACE || x === CH.SEMI, true);
      if (c.charCodeAt(j) === CH.SEMI) itemEnd = j + 1;
      else {
        itemEnd = this.skipBalanced(j, end);
        this.namedFields(j + 1, itemEnd - 1, fields);
      }
    }
    const decl: StructDecl = { name: this.text.slice(nameAt, nameEnd), file: this.decls.file, range: this.range(start, itemEnd), fields };
    this.decls.structs.push(decl);
    return itemEnd;
  }

  /** Skips attributes (`#[..]`) at `i`. */
  private skipAttributes(i: number, end: number): number {
    const c = this.code;
    let j = skipSpace(this.code, i, end);
    while (c.charCodeAt(j) === CH.HASH) {
      const k = skipSpace(this.code, j + 1, end);
      if (c.charCodeAt(k) !== CH.LBRACKET) throw new Unexpected();
      j = skipSpace(this.code, this.skipBalanced(k, end), end);
    }
    return j;
  }

  private namedFields(from: number, end: number, out: FieldDecl[]): void {
    const c = this.code;
    let i = from;
    for (;;) {
      i = this.skipAttributes(i, end);
      if (i >= end) return;
      const start = i;
      const nameAt = skipSpace(this.code, this.visibility(i, end), end);
      const nameEnd = this.expectIdent(nameAt, end);
      const colon = skipSpace(this.code, nameEnd, end);
      if (c.charCodeAt(colon) !== CH.COLON) throw new Unexpected();
      const stop = this.listItemEnd(colon + 1, end);
      const [typeFrom, typeTo] = trimSpan(this.code, colon + 1, stop);
      if (typeFrom === typeTo) throw new Unexpected();
      out.push({ name: this.text.slice(nameAt, nameEnd), typeText: this.text.slice(typeFrom, typeTo), range: this.range(start, typeTo) });
      i = stop + 1;
    }
  }

  private tupleFields(from: number, end: number, out: FieldDecl[]): void {
    let i = from;
    let index = 0;
    for (;;) {
      i = this.skipAttributes(i, end);
      if (i >= end) return;
      const typeAt = skipSpace(this.code, this.visibility(i, end), end);
      const stop = this.listItemEnd(typeAt, end);
      const [typeFrom, typeTo] = trimSpan(this.code, typeAt, stop);
      if (typeFrom === typeTo) throw new Unexpected();
      out.push({ name: String(index++), typeText: this.text.slice(typeFrom, typeTo), range: this.range(typeFrom, typeTo) });
      i = stop + 1;
    }
  }

  /** The `,` (or list end) after a type in a comma-separated list. */
  private listItemEnd(i: number, end: number): number {
    const c = this.code;
    let angle = 0;
    let j = i;
    while (j < end) {
      const ch = c.charCodeAt(j);
      if (ch === CH.COMMA && angle === 0) return j;
      if (ch === CH.OPEN || ch === CH.LBRACKET || ch === CH.LBRACE) {
        j = this.skipBalanced(j, end);
        continue;
      }
      if (ch === CH.LT) angle++;
      else if (ch === CH.GT && c.charCodeAt(j - 1) !== CH.MINUS && angle > 0) angle--;
      j++;
    }
    return end;
  }

  private staticItem(start: number, i: number, end: number, mod: string): number {
    const c = this.code;
    let nameAt = i;
    if (this.isKeywordAt(nameAt, end, 'mut')) nameAt = skipSpace(this.code, nameAt + 3, end);
    const nameEnd = this.expectIdent(nameAt, end);
    const colon = skipSpace(this.code, nameEnd, end);
    if (c.charCodeAt(colon) !== CH.COLON || c.charCodeAt(colon + 1) === CH.COLON) throw new Unexpected();
    const typeStop = this.scanTo(colon + 1, end, (_, x) => x === CH.EQ || x === CH.SEMI, true);
    const [typeFrom, typeTo] = trimSpan(this.code, colon + 1, typeStop);
    let stop = typeStop;
    let initText = '';
    if (c.charCodeAt(typeStop) === CH.EQ) {
      stop = this.scanTo(typeStop + 1, end, (_, x) => x === CH.SEMI, false);
      const [vFrom, vTo] = trimSpan(this.code, typeStop + 1, stop);
      initText = this.text.slice(vFrom, vTo);
    }
    const name = this.text.slice(nameAt, nameEnd);
    if (typeFrom < typeTo) {
      const decl: StaticDecl = { name, typeText: this.text.slice(typeFrom, typeTo), initText, file: this.decls.file, range: this.range(start, stop + 1), modulePath: mod };
      this.decls.statics.push(decl);
    }
    return stop + 1;
  }

  private functionItem(start: number, fnAt: number, end: number, mod: string, impl: ImplContext | undefined): number {
    const c = this.code;
    const nameAt = skipSpace(this.code, fnAt + 2, end);
    const nameEnd = this.expectIdent(nameAt, end);
    let j = skipSpace(this.code, nameEnd, end);
    if (c.charCodeAt(j) === CH.LT) j = skipSpace(this.code, this.skipGenerics(j, end), end);
    if (c.charCodeAt(j) !== CH.OPEN) throw new Unexpected();
    const paramsEnd = this.skipBalanced(j, end);
    const params = this.parameters(j + 1, paramsEnd - 1, impl);
    j = skipSpace(this.code, paramsEnd, end);
    let returnType: string | undefined;
    const isWhere = (k: number) => this.isKeywordAt(k, end, 'where') && !isIdentChar(c.charCodeAt(k - 1));
    if (c.charCodeAt(j) === CH.MINUS && c.charCodeAt(j + 1) === CH.GT) {
      const stop = this.scanTo(j + 2, end, (k, x) => x === CH.LBRACE || x === CH.SEMI || (x === 0x77 /* w */ && isWhere(k)), true);
      const [from, to] = trimSpan(this.code, j + 2, stop);
      returnType = this.text.slice(from, to);
      j = stop;
    }
    j = this.scanTo(j, end, (_, x) => x === CH.LBRACE || x === CH.SEMI, true);
    if (c.charCodeAt(j) === CH.SEMI) return j + 1; // a signature (trait method without a default body)
    const bodyEnd = this.skipBalanced(j, end);
    const name = this.text.slice(nameAt, nameEnd);
    const decl: FunctionDecl = {
      qualifiedName: impl ? `${impl.selfType}::${name}` : mod ? `${mod}::${name}` : name,
      name,
      selfType: impl?.selfType,
      traitName: impl?.traitName,
      params,
      returnType,
      isAsync: /\basync\b/.test(this.text.slice(start, nameAt)),
      file: this.decls.file,
      range: this.range(start, bodyEnd),
      nameRange: this.range(nameAt, nameEnd),
      bodyRange: this.range(j, bodyEnd),
      modulePath: mod,
      // Literals are filled, not blanked, in this code: a body with one is no path either way.
      lockPath: lockAccessorPath(returnType, () => this.code.slice(j, bodyEnd)),
    };
    this.decls.functions.push(decl);
    return bodyEnd;
  }

  private parameters(from: number, end: number, impl: ImplContext | undefined): FunctionDecl['params'] {
    const c = this.code;
    const out: FunctionDecl['params'] = [];
    let i = from;
    for (;;) {
      i = this.skipAttributes(i, end);
      if (i >= end) return out;
      const stop = this.listItemEnd(i, end);
      const colon = this.patternColon(i, stop);
      if (colon < 0) {
        // `self`, `&self`, `&'a mut self`: typed by the impl block.
        const [sFrom, sTo] = trimSpan(this.code, i, stop);
        if (!/^(&\s*('\w+\s+)?)?(mut\s+)?self$/.test(c.slice(sFrom, sTo))) throw new Unexpected();
        out.push({ name: 'self', typeText: impl?.selfType ?? 'Self' });
        i = stop + 1;
        continue;
      }
      const [pFrom, pTo] = trimSpan(this.code, i, colon);
      const [tFrom, tTo] = trimSpan(this.code, colon + 1, stop);
      out.push({ name: this.text.slice(pFrom, pTo).replace(/^mut\s+/, ''), typeText: this.text.slice(tFrom, tTo) });
      i = stop + 1;
    }
  }

  /** The `:` between a parameter's pattern and its type (not a path's `::`), or -1. */
  private patternColon(i: number, end: number): number {
    const c = this.code;
    for (let j = i; j < end; ) {
      const ch = c.charCodeAt(j);
      if (ch === CH.OPEN || ch === CH.LBRACKET || ch === CH.LBRACE) {
        j = this.skipBalanced(j, end);
        continue;
      }
      if (ch === CH.COLON) {
        if (c.charCodeAt(j + 1) !== CH.COLON) return j;
        j += 2;
        continue;
      }
      j++;
    }
    return -1;
  }

  private implItem(i: number, end: number, mod: string): number {
    const c = this.code;
    let j = skipSpace(this.code, i, end);
    if (c.charCodeAt(j) === CH.LT) j = skipSpace(this.code, this.skipGenerics(j, end), end);
    if (c.charCodeAt(j) === CH.BANG) j = skipSpace(this.code, j + 1, end);
    const isWhere = (k: number) => this.isKeywordAt(k, end, 'where') && !isIdentChar(c.charCodeAt(k - 1));
    // `for` separates trait and type; `for<'a>` is a higher-ranked bound inside either.
    const isFor = (k: number) => this.isKeywordAt(k, end, 'for') && !isIdentChar(c.charCodeAt(k - 1)) && c.charCodeAt(skipSpace(this.code, k + 3, end)) !== CH.LT;
    const stop = this.scanTo(j, end, (k, x) => x === CH.LBRACE || x === CH.SEMI || (x === 0x77 /* w */ && isWhere(k)) || (x === 0x66 /* f */ && isFor(k)), true);
    let traitName: string | undefined;
    let typeFrom = j;
    let typeStop = stop;
    if (c.charCodeAt(stop) === 0x66 /* f: the `for` found */) {
      const [tf, tt] = trimSpan(this.code, j, stop);
      traitName = baseTypeName(this.text.slice(tf, tt));
      typeFrom = stop + 3;
      typeStop = this.scanTo(typeFrom, end, (k, x) => x === CH.LBRACE || x === CH.SEMI || (x === 0x77 /* w */ && isWhere(k)), true);
    }
    const [tf, tt] = trimSpan(this.code, typeFrom, typeStop);
    const open = this.scanTo(typeStop, end, (_, x) => x === CH.LBRACE || x === CH.SEMI, true);
    if (c.charCodeAt(open) !== CH.LBRACE || tf === tt) throw new Unexpected();
    const close = this.skipBalanced(open, end);
    this.items(open + 1, close - 1, mod, { selfType: baseTypeName(this.text.slice(tf, tt)), traitName });
    return close;
  }

  private traitItem(i: number, end: number, mod: string): number {
    const c = this.code;
    let j = i;
    if (this.isKeywordAt(j, end, 'auto')) j = skipSpace(this.code, j + 4, end);
    if (!this.isKeywordAt(j, end, 'trait')) throw new Unexpected();
    const nameAt = skipSpace(this.code, j + 5, end);
    const nameEnd = this.expectIdent(nameAt, end);
    const open = this.scanTo(nameEnd, end, (_, x) => x === CH.LBRACE || x === CH.SEMI, true);
    if (c.charCodeAt(open) === CH.SEMI) return open + 1; // trait alias
    const close = this.skipBalanced(open, end);
    const name = this.text.slice(nameAt, nameEnd);
    this.items(open + 1, close - 1, mod, { selfType: name, traitName: name });
    return close;
  }

  private modItem(i: number, end: number, mod: string): number {
    const c = this.code;
    const nameAt = skipSpace(this.code, i, end);
    const nameEnd = this.expectIdent(nameAt, end);
    const j = skipSpace(this.code, nameEnd, end);
    if (c.charCodeAt(j) === CH.SEMI) return j + 1;
    if (c.charCodeAt(j) !== CH.LBRACE) throw new Unexpected();
    const close = this.skipBalanced(j, end);
    const name = this.text.slice(nameAt, nameEnd);
    this.items(j + 1, close - 1, mod ? `${mod}::${name}` : name, undefined);
    return close;
  }

  /** `macro_rules! name { .. }` or `macro_rules! name ( .. );`. */
  private macroDefinition(i: number, end: number): number {
    const c = this.code;
    let j = skipSpace(this.code, i, end);
    if (c.charCodeAt(j) !== CH.BANG) throw new Unexpected();
    j = skipSpace(this.code, this.expectIdent(skipSpace(this.code, j + 1, end), end), end);
    const close = this.skipBalanced(j, end);
    const k = skipSpace(this.code, close, end);
    return c.charCodeAt(j) !== CH.LBRACE && c.charCodeAt(k) === CH.SEMI ? k + 1 : close;
  }

  /** `path!( .. );`, `path![ .. ];` or `path! { .. }` among items; only `lazy_static!` declares anything here. */
  private macroInvocation(start: number, end: number, mod: string): number {
    const c = this.code;
    let j = start;
    for (;;) {
      j = this.expectIdent(j, end);
      const k = skipSpace(this.code, j, end);
      if (c.charCodeAt(k) === CH.COLON && c.charCodeAt(k + 1) === CH.COLON) {
        j = skipSpace(this.code, k + 2, end);
        continue;
      }
      j = k;
      break;
    }
    if (c.charCodeAt(j) !== CH.BANG) throw new Unexpected();
    const pathText = this.text.slice(start, j).replace(/\s+/g, '');
    const open = skipSpace(this.code, j + 1, end);
    const ch = c.charCodeAt(open);
    if (ch !== CH.OPEN && ch !== CH.LBRACKET && ch !== CH.LBRACE) throw new Unexpected();
    const close = this.skipBalanced(open, end);
    if (/(^|::)lazy_static$/.test(pathText)) {
      const body = this.text.slice(start, close);
      const range = this.range(start, close);
      for (const m of body.matchAll(LAZY_STATIC_RE)) {
        this.decls.statics.push({ name: m[1], typeText: m[2], initText: m[3], file: this.decls.file, range, modulePath: mod });
      }
    }
    if (ch === CH.LBRACE) return close;
    const semi = skipSpace(this.code, close, end);
    if (c.charCodeAt(semi) !== CH.SEMI) throw new Unexpected();
    return semi + 1;
  }
}
