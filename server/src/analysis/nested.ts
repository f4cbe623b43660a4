// Functions declared inside a body (a `fn helper()` in a test), read from the body's text.
//
// A one-shot check parses only the bodies it looks into. A body that takes no lock but declares
// functions of its own would otherwise be parsed just to find them. This reads them from the
// blanked text the way the tree has them: the outermost `fn` items of the body, each from its
// first modifier to its closing brace, and for methods of an `impl` block in the body, the span of
// the impl's Self type. Anything the text does not say plainly returns undefined and the caller
// asks the tree: `trait`, `extern` or `union` items in the body (their functions have another
// Self type or no body), macro definitions and metavariables, a raw name, braces in a signature,
// unbalanced brackets.

import { macroArgumentsOpen } from './closures';
import { CH, groupEnd, groupStart, isClosing, isIdentChar, isOpening, skipSpace, skipSpaceBack, wordEnd, wordStart } from './lexical';

/** A function item declared in a body; offsets are the file's. */
export interface NestedFunctionText {
  /** The item, as the tree's `function_item`: from its first modifier to the body's `}`. */
  startIndex: number;
  endIndex: number;
  name: string;
  nameStart: number;
  nameEnd: number;
  /** The body block, braces included. */
  bodyStart: number;
  bodyEnd: number;
  /** The `fn` keyword. */
  fnAt: number;
  /** For a method of an `impl` block: the span of the block's Self type (`Foo<T>` in `impl<T> Tr for Foo<T>`). */
  selfTypeSpan?: [number, number];
}

const FN_RE = /\bfn\s+[A-Za-z_]/g;
/** Words that start an item whose functions the tree places differently (or always a macro). */
const ITEM_WORDS_RE = /\b(impl|trait|extern|union|macro_rules)\b/g;
const MODIFIERS = new Set(['pub', 'async', 'const', 'unsafe', 'default']);

/**
 * The outermost functions declared in `code` (a body as codeMarkingLiterals leaves it, starting
 * at offset `base` of the file), in text order; undefined when the text is not plain enough.
 */
export function textNestedFunctions(code: string, base: number): NestedFunctionText[] | undefined {
  if (code.includes('$')) return undefined;
  const tokenGroups = macroAndAttributeGroups(code);
  if (!tokenGroups) return undefined;
  const inTokens = (at: number) => tokenGroups.some(([from, to]) => from <= at && at < to);
  const impls: ImplBlock[] = [];
  for (const m of code.matchAll(ITEM_WORDS_RE)) {
    if (!startsItem(code, m.index!) || inTokens(m.index!)) continue;
    if (m[1] !== 'impl') return undefined;
    const block = implBlockAt(code, m.index!);
    if (!block) return undefined;
    impls.push(block);
  }
  const out: NestedFunctionText[] = [];
  let after = 0;
  for (const m of code.matchAll(FN_RE)) {
    const at = m.index!;
    if (at < after) continue; // inside a function found before: that one's own analysis finds it
    // Macro arguments and attributes are tokens to the tree, not items.
    if (inTokens(at)) continue;
    const item = functionAt(code, at);
    if (!item) return undefined;
    after = item.endIndex;
    // The innermost impl block around it gives its Self type.
    let impl: ImplBlock | undefined;
    for (const b of impls) if (b.open < at && at < b.close && (!impl || b.open > impl.open)) impl = b;
    out.push({
      startIndex: base + item.startIndex,
      endIndex: base + item.endIndex,
      name: code.slice(item.nameStart, item.nameEnd),
      nameStart: base + item.nameStart,
      nameEnd: base + item.nameEnd,
      bodyStart: base + item.bodyStart,
      bodyEnd: base + item.bodyEnd,
      fnAt: base + at,
      ...(impl ? { selfTypeSpan: [base + impl.typeStart, base + impl.typeEnd] as [number, number] } : {}),
    });
  }
  return out;
}

/** Whether the word at `at` starts an item (after `;`, `{`, `}`, an attribute or a modifier), not a type (`-> impl Trait`). */
function startsItem(code: string, at: number): boolean {
  const p = skipSpaceBack(code, at - 1);
  if (p < 0) return true;
  const c = code.charCodeAt(p);
  if (c === CH.SEMI || c === CH.LBRACE || c === CH.RBRACE || c === CH.RBRACKET || c === CH.CLOSE) return true;
  return isIdentChar(c) && /^(pub|unsafe|default|auto|const|async)$/.test(code.slice(wordStart(code, p + 1), p + 1));
}

interface ImplBlock {
  /** The block's braces. */
  open: number;
  close: number;
  /** The Self type's text, as the tree's `type` field of the impl. */
  typeStart: number;
  typeEnd: number;
}

/** The `impl` item whose keyword is at `at`; undefined when its header is not plain. */
function implBlockAt(code: string, at: number): ImplBlock | undefined {
  let i = skipSpace(code, at + 4);
  if (code.charCodeAt(i) === CH.LT) {
    i = anglesEnd(code, i);
    if (i < 0) return undefined;
    i = skipSpace(code, i);
  }
  const headerStart = i;
  let forAt = -1;
  let whereAt = -1;
  i = blockOpen(code, i, (start, end) => {
    if (whereAt >= 0) return;
    const word = code.slice(start, end);
    // `for` before the type (`impl Tr for Foo`), not in a where clause (`where for<'a> ..`).
    if (word === 'for' && forAt < 0) forAt = start;
    else if (word === 'where') whereAt = start;
  });
  if (i < 0) return undefined;
  const close = groupEnd(code, i);
  if (close < 0) return undefined;
  const typeStart = forAt >= 0 ? skipSpace(code, forAt + 3) : headerStart;
  const typeEnd = skipSpaceBack(code, (whereAt >= 0 ? whereAt : i) - 1) + 1;
  if (typeEnd <= typeStart) return undefined;
  return { open: i, close, typeStart, typeEnd };
}

/** Spans of macro arguments (`name!(..)`) and attributes (`#[..]`), whose contents the tree leaves as tokens. */
function macroAndAttributeGroups(code: string): Array<[number, number]> | undefined {
  const out: Array<[number, number]> = [];
  for (let i = code.indexOf('!'); i >= 0; i = code.indexOf('!', i + 1)) {
    const before = skipSpaceBack(code, i - 1);
    const attributeOpen = before >= 0 && code.charCodeAt(before) === CH.HASH ? skipSpace(code, i + 1) : -1; // `#![..]`
    const open = attributeOpen >= 0 && isOpening(code.charCodeAt(attributeOpen)) ? attributeOpen : macroArgumentsOpen(code, i);
    if (open < 0) continue;
    const end = groupEnd(code, open);
    if (end < 0) return undefined;
    out.push([open, end]);
  }
  for (let i = code.indexOf('#'); i >= 0; i = code.indexOf('#', i + 1)) {
    const open = skipSpace(code, i + 1);
    if (code.charCodeAt(open) !== CH.LBRACKET) continue;
    const end = groupEnd(code, open);
    if (end < 0) return undefined;
    out.push([open, end]);
  }
  return out;
}

/** The function item whose `fn` keyword is at `at`; offsets are the body's. */
function functionAt(code: string, at: number): { startIndex: number; endIndex: number; nameStart: number; nameEnd: number; bodyStart: number; bodyEnd: number } | undefined {
  const nameStart = skipSpace(code, at + 2);
  const nameEnd = wordEnd(code, nameStart);
  if (code.charCodeAt(nameEnd) === CH.HASH) return undefined; // `r#name`
  let i = skipSpace(code, nameEnd);
  if (code.charCodeAt(i) === CH.LT) {
    i = anglesEnd(code, i);
    if (i < 0) return undefined;
    i = skipSpace(code, i);
  }
  if (code.charCodeAt(i) !== CH.OPEN) return undefined;
  i = groupEnd(code, i);
  if (i < 0) return undefined;
  const bodyStart = blockOpen(code, i);
  if (bodyStart < 0) return undefined;
  const bodyEnd = groupEnd(code, bodyStart);
  if (bodyEnd < 0) return undefined;
  // Modifiers belong to the item: `pub(crate) const unsafe fn`.
  let startIndex = at;
  for (;;) {
    const p = skipSpaceBack(code, startIndex - 1);
    if (p < 0) break;
    const c = code.charCodeAt(p);
    if (isIdentChar(c)) {
      const ws = wordStart(code, p + 1);
      if (!MODIFIERS.has(code.slice(ws, p + 1))) break;
      startIndex = ws;
    } else if (c === CH.CLOSE) {
      const open = groupStart(code, p);
      const q = skipSpaceBack(code, open - 1);
      if (open < 0 || q < 0 || code.slice(wordStart(code, q + 1), q + 1) !== 'pub') break;
      startIndex = wordStart(code, q + 1);
    } else if (c === CH.FILL) {
      return undefined; // an ABI string: `extern "C" fn`
    } else break;
  }
  return { startIndex, endIndex: bodyEnd, nameStart, nameEnd, bodyStart, bodyEnd };
}

/**
 * The `{` opening the block after an item's header from `from` on (a signature's return type and
 * where clause, an impl's types); -1 at a `;`, an unbalanced bracket, or a brace inside `<..>` (a
 * const argument). `word` sees each word outside brackets and angles.
 */
function blockOpen(code: string, from: number, word?: (start: number, end: number) => void): number {
  let angles = 0;
  for (let i = from; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === CH.LBRACE) return angles > 0 ? -1 : i;
    if (c === CH.SEMI || isClosing(c)) return -1;
    if (c === CH.OPEN || c === CH.LBRACKET) {
      const end = groupEnd(code, i);
      if (end < 0) return -1;
      i = end - 1;
    } else if (c === CH.LT) angles++;
    else if (c === CH.GT && code.charCodeAt(i - 1) !== CH.MINUS) angles--;
    else if (word && angles === 0 && isIdentChar(c) && (i === 0 || !isIdentChar(code.charCodeAt(i - 1)))) {
      const end = wordEnd(code, i);
      word(i, end);
      i = end - 1;
    }
  }
  return -1;
}

/** After the `>` closing the generic parameters opened at `open` (`->` inside is an arrow); -1 when unclear. */
function anglesEnd(code: string, open: number): number {
  let depth = 0;
  for (let j = open; j < code.length; j++) {
    const c = code.charCodeAt(j);
    if (c === CH.LT) depth++;
    else if (c === CH.GT && code.charCodeAt(j - 1) !== CH.MINUS && --depth === 0) return j + 1;
    else if (c === CH.LBRACE || c === CH.SEMI) return -1;
    else if (c === CH.OPEN || c === CH.LBRACKET) {
      const end = groupEnd(code, j);
      if (end < 0) return -1;
      j = end - 1;
    }
  }
  return -1;
}
