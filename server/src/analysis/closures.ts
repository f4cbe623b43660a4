// Closures of a function body read from its text, for functions that take no lock.
//
// Such a function still needs its closures: a call made inside a spawned closure is not a call
// this function makes, and a closure handed to a callee (`with_state(|s| ..)`) runs under the
// callee's guards. The tree says exactly where closures are; this reads the same from the
// blanked text, so a one-shot check need not parse the function. Anything ambiguous (a
// closure body followed by a method call, `=>` where a body should end) returns undefined and
// the caller asks the tree.

import { CH, groupEnd, isClosing, isIdentChar, isOpening, skipSpace, skipSpaceBack, wordStart } from './lexical';
import { runsInPlaceName } from './syntax';

/** A closure (or async block) of a body: where it is, whether it runs in place, which argument it is. */
export interface ClosureSpan {
  startIndex: number;
  endIndex: number;
  /** Runs before the call it is passed to returns (iterator adaptors, `with_*`...). */
  inPlace: boolean;
  /** When the closure is a whole argument of a call: the callee name's offset and the argument's index. */
  argOf?: { nameOffset: number; index: number };
}

/**
 * Words after which a `|` starts a closure rather than or-ing two operands: `move ||`, and
 * `&mut |x|`. Not `return`: the tree reads `return || f()` as `return` or-ed with `f()`, and
 * this must read it the same way.
 */
const BEFORE_CLOSURE_WORDS = new Set(['move', 'mut']);
/** Words that look like a callee before `(` but are not (`if (x)`, `match (a, b)`). */
const NOT_CALLEES = new Set(['if', 'while', 'match', 'return', 'in', 'for', 'let', 'else', 'break', 'move', 'loop', 'as', 'mut', 'ref', 'yield', 'unsafe', 'await']);

type Frame = { open: number; at: number; commas: number };

/**
 * The closures of `code` (a body as codeMarkingLiterals leaves it, starting at offset `base` of
 * the file), sorted by start; undefined when the text is not clear enough to be sure.
 */
export function textClosures(code: string, base: number): ClosureSpan[] | undefined {
  // `$x` metavariables: a body inside a macro definition reads differently to the tree.
  if (code.includes('$')) return undefined;
  const out: ClosureSpan[] = [];
  const stack: Frame[] = [];
  // Jump from one character the scan acts on to the next: most of a body is none of them.
  const re = SCAN_RE;
  re.lastIndex = 0;
  try {
    // `test`, not `exec`: no match object. The one match longer than a character is `async`.
    while (re.test(code)) {
      let i = code.charCodeAt(re.lastIndex - 1) === 0x63 /* c */ ? re.lastIndex - 5 : re.lastIndex - 1;
      const c = code.charCodeAt(i);
      if (isOpening(c)) {
        stack.push({ open: c, at: i, commas: 0 });
      } else if (isClosing(c)) {
        if (stack.length === 0) return undefined;
        stack.pop();
      } else if (c === CH.COMMA) {
        if (stack.length > 0) stack[stack.length - 1].commas++;
      } else if (c === CH.BANG) {
        // `name!(..)`: macro arguments are tokens to the tree, so no closures in them.
        const end = macroArgumentsEnd(code, i);
        if (end >= 0) i = end - 1;
      } else if (c === CH.COLON) {
        // A turbofish `::<A, B>`: its commas separate types, not arguments.
        if (code.charCodeAt(i + 1) === CH.COLON && code.charCodeAt(skipSpace(code, i + 2)) === CH.LT) i = angleEnd(code, skipSpace(code, i + 2)) - 1;
      } else if (c === 0x61 /* a */) {
        if (!isIdentChar(code.charCodeAt(i - 1)) && !isIdentChar(code.charCodeAt(i + 5))) {
          const block = asyncBlockAt(code, i, stack);
          if (!block) return undefined;
          out.push(rebase(block, base));
          i += 4; // the block's own brackets are tracked as the scan goes on
        }
      } else {
        const closure = closureAt(code, i, stack);
        if (closure === undefined) return undefined;
        if (closure === null) {
          // An or (`a | b`, `a || b`): skip its second bar.
          if (code.charCodeAt(i + 1) === CH.PIPE) i++;
        } else {
          out.push(rebase(closure.span, base));
          // Parameters are not code to scan (their commas and types are the closure's own).
          i = closure.paramsEnd - 1;
        }
      }
      re.lastIndex = i + 1;
    }
  } catch (e) {
    if (e instanceof Unclear) return undefined;
    throw e;
  }
  return stack.length === 0 ? out : undefined;
}

/** The characters (and the one word) textClosures acts on. */
const SCAN_RE = /[()[\]{},!:|]|async/g;

class Unclear extends Error {}

function rebase(span: ClosureSpan, base: number): ClosureSpan {
  const out: ClosureSpan = { startIndex: base + span.startIndex, endIndex: base + span.endIndex, inPlace: span.inPlace };
  if (span.argOf) out.argOf = { nameOffset: base + span.argOf.nameOffset, index: span.argOf.index };
  return out;
}

/** The `async { .. }` or `async move { .. }` block at `i`; undefined for anything else (an async closure). */
function asyncBlockAt(code: string, i: number, stack: Frame[]): ClosureSpan | undefined {
  let k = skipSpace(code, i + 5);
  if (code.startsWith('move', k) && !isIdentChar(code.charCodeAt(k + 4))) k = skipSpace(code, k + 4);
  if (code.charCodeAt(k) !== CH.LBRACE) return undefined;
  const end = closedGroupEnd(code, k);
  const span: ClosureSpan = { startIndex: i, endIndex: end, inPlace: false };
  // `async { .. }.await` runs here.
  const dot = skipSpace(code, end);
  if (code.charCodeAt(dot) === CH.DOT) {
    const w = skipSpace(code, dot + 1);
    if (code.startsWith('await', w) && !isIdentChar(code.charCodeAt(w + 5))) span.inPlace = true;
  }
  placeInCall(code, span, stack);
  return span;
}

/** When `span` is a whole argument of a call: whether the callee runs it in place, and which argument it is. */
function placeInCall(code: string, span: ClosureSpan, stack: Frame[]): void {
  const frame = stack[stack.length - 1];
  const before = code.charCodeAt(skipSpaceBack(code, span.startIndex - 1));
  const after = code.charCodeAt(skipSpace(code, span.endIndex));
  if (!frame || frame.open !== CH.OPEN || (before !== CH.OPEN && before !== CH.COMMA) || (after !== CH.COMMA && after !== CH.CLOSE)) return;
  const callee = calleeBefore(code, frame.at);
  if (!callee) return;
  span.inPlace = callee.name !== undefined && runsInPlaceName(callee.name);
  if (callee.nameOffset !== undefined) span.argOf = { nameOffset: callee.nameOffset, index: frame.commas };
}

/** After the bracket group opening at `i`; the text is unclear when it does not close. */
function closedGroupEnd(code: string, i: number): number {
  const end = groupEnd(code, i);
  if (end < 0) throw new Unclear();
  return end;
}

/** After the `>` that closes the `<` at `i` (a turbofish: only types inside). */
function angleEnd(code: string, i: number): number {
  let depth = 0;
  for (let j = i; j < code.length; j++) {
    const c = code.charCodeAt(j);
    if (c === CH.LT) depth++;
    else if (c === CH.GT && code.charCodeAt(j - 1) !== CH.MINUS) {
      depth--;
      if (depth === 0) return j + 1;
    } else if (isOpening(c)) j = closedGroupEnd(code, j) - 1;
    else if (c === CH.SEMI || isClosing(c)) break;
  }
  throw new Unclear();
}

/** For a `!` at `i` that invokes a macro (`name!(`, `name! [`), the end of its arguments; else -1. */
function macroArgumentsEnd(code: string, i: number): number {
  const open = macroArgumentsOpen(code, i);
  return open < 0 ? -1 : closedGroupEnd(code, open);
}

/** For a `!` at `i` that invokes a macro (`name!(`, `name! [`), the bracket opening its arguments; else -1. */
export function macroArgumentsOpen(code: string, i: number): number {
  const before = skipSpaceBack(code, i - 1);
  if (before < 0 || !isIdentChar(code.charCodeAt(before))) return -1;
  const word = code.slice(wordStart(code, before), before + 1);
  if (NOT_CALLEES.has(word)) return -1; // `if !(..)`
  const open = skipSpace(code, i + 1);
  return isOpening(code.charCodeAt(open)) ? open : -1;
}

/**
 * The closure whose parameters start with the `|` at `i`; null when that `|` is an operator,
 * undefined when unclear.
 */
function closureAt(code: string, i: number, stack: Frame[]): { span: ClosureSpan; paramsEnd: number } | null | undefined {
  let p = skipSpaceBack(code, i - 1);
  let start = i;
  if (p >= 0 && isIdentChar(code.charCodeAt(p))) {
    const ws = wordStart(code, p);
    const word = code.slice(ws, p + 1);
    if (!BEFORE_CLOSURE_WORDS.has(word)) return null; // an operand: `a | b`
    if (word === 'move') {
      start = ws;
      p = skipSpaceBack(code, ws - 1);
      if (p >= 0 && isIdentChar(code.charCodeAt(p)) && !BEFORE_CLOSURE_WORDS.has(code.slice(wordStart(code, p), p + 1))) return undefined; // `static move ||`, `async move ||`
    }
  } else if (p >= 0) {
    const c = code.charCodeAt(p);
    // `)`, `]`, `}`, `?`, a literal (filled in the code) or a lifetime before the bar: an operand.
    if (isClosing(c) || c === CH.QUESTION || c === CH.QUOTE || c === CH.FILL) return null;
    if (c === CH.GT && code.charCodeAt(p - 1) !== CH.EQ) return null; // `Vec<T> | ..` (not `=>`)
    if (c === CH.PIPE) return undefined; // `| |x|`
  }
  // Parameters: `||`, or `|` .. `|` with no bar inside brackets.
  let paramsEnd: number;
  if (code.charCodeAt(i + 1) === CH.PIPE) paramsEnd = i + 2;
  else {
    let j = i + 1;
    for (; j < code.length; j++) {
      const c = code.charCodeAt(j);
      if (c === CH.PIPE) break;
      if (isOpening(c)) j = closedGroupEnd(code, j) - 1;
      else if (isClosing(c) || c === CH.SEMI) return undefined;
    }
    if (j >= code.length) return undefined;
    paramsEnd = j + 1;
  }
  let b = skipSpace(code, paramsEnd);
  let end: number;
  if (code.charCodeAt(b) === CH.MINUS && code.charCodeAt(b + 1) === CH.GT) {
    // `|x| -> T { .. }`: the body must be a block.
    b = code.indexOf('{', b);
    if (b < 0) return undefined;
    end = closedGroupEnd(code, b);
    if (followsOn(code, end)) return undefined;
  } else if (code.charCodeAt(b) === CH.LBRACE) {
    end = closedGroupEnd(code, b);
    // `|| { .. }.await`, `|x| { .. } + 1`: the body may go on past the block.
    if (followsOn(code, end)) return undefined;
  } else {
    end = expressionEnd(code, b);
    if (end < 0) return undefined;
  }
  const span: ClosureSpan = { startIndex: start, endIndex: end, inPlace: false };
  placeInCall(code, span, stack);
  return { span, paramsEnd };
}

/** Whether the text after a block body continues the expression (`.m()`, `?`, an operator). */
function followsOn(code: string, end: number): boolean {
  const k = skipSpace(code, end);
  const c = code.charCodeAt(k);
  return !(k >= code.length || c === CH.COMMA || isClosing(c) || c === CH.SEMI);
}

/** End of an expression body: the first `,` `;` or closing bracket outside brackets, spaces trimmed. */
function expressionEnd(code: string, i: number): number {
  for (let j = i; j < code.length; j++) {
    const c = code.charCodeAt(j);
    if (isOpening(c)) {
      j = closedGroupEnd(code, j) - 1;
      continue;
    }
    if (c === CH.COLON && code.charCodeAt(j + 1) === CH.COLON && code.charCodeAt(skipSpace(code, j + 2)) === CH.LT) {
      j = angleEnd(code, skipSpace(code, j + 2)) - 1;
      continue;
    }
    if (c === CH.EQ && code.charCodeAt(j + 1) === CH.GT) return -1; // `=>`: a match arm, not a closure body
    if (c === CH.COMMA || c === CH.SEMI || isClosing(c)) return skipSpaceBack(code, j - 1) + 1;
  }
  return -1;
}

/**
 * The call whose argument list opens at `open`: the callee's name as the tree would read it (a
 * method's or path's last segment; undefined for `f::<T>(` and `f()(`), and the offset of the
 * name node the tree would point at. Undefined when the parenthesis is not a call.
 */
function calleeBefore(code: string, open: number): { name?: string; nameOffset?: number } | undefined {
  const p = skipSpaceBack(code, open - 1);
  if (p < 0) return undefined;
  const c = code.charCodeAt(p);
  if (c === CH.CLOSE || c === CH.RBRACKET) return {}; // `f()(..)`, `v[0](..)`: no name
  if (c === CH.GT) {
    // `name::<T>(`: the tree's name for in-place tests starts at `<`, but its callee is `name`.
    let depth = 0;
    let j = p;
    for (; j >= 0; j--) {
      const d = code.charCodeAt(j);
      if (d === CH.GT && code.charCodeAt(j - 1) !== CH.MINUS) depth++;
      else if (d === CH.LT && --depth === 0) break;
    }
    const colons = skipSpaceBack(code, j - 1);
    if (j < 0 || code.charCodeAt(colons) !== CH.COLON || code.charCodeAt(colons - 1) !== CH.COLON) return undefined;
    const w = skipSpaceBack(code, colons - 2);
    if (w < 0 || !isIdentChar(code.charCodeAt(w))) return undefined;
    return { nameOffset: wordStart(code, w) };
  }
  if (!isIdentChar(c)) return undefined;
  const ws = wordStart(code, p);
  const word = code.slice(ws, p + 1);
  if (NOT_CALLEES.has(word) || /^\d/.test(word)) return undefined;
  return { name: word, nameOffset: ws };
}
