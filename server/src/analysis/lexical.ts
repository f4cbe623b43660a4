// Blanking comments and literals, so lexical scans over Rust source see only code.

/** Comments, string, raw-string, byte-string and char literals (not lifetimes). */
const NON_CODE_RE = /\/\/[^\n]*|\/\*[\s\S]*?\*\/|b?r(#*)"[\s\S]*?"\1|b?"(?:\\[\s\S]|[^"\\])*"|b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^\\'\n])'/g;

/** Blanks comments, strings and char literals (keeping offsets and newlines) so a lexical scan sees only code. */
export function codeOnly(text: string): string {
  return text.replace(NON_CODE_RE, blank);
}

const blank = (m: string) => (m.includes('\n') ? m.replace(/[^\n]/g, ' ') : ' '.repeat(m.length));

/** What `codeMarkingLiterals` fills literals with: a character Rust code never has outside them. */
export const LITERAL_FILL = '\u0001';

/**
 * `codeOnly` that fills literals with LITERAL_FILL instead of spaces, so a scan can tell a
 * literal from whitespace; replacing the fill with spaces gives `codeOnly`'s result. Undefined
 * when a block comment nests.
 */
export function codeMarkingLiterals(text: string): string | undefined {
  let nested = false;
  const code = text.replace(NON_CODE_RE, (m) => {
    if (m.charCodeAt(0) !== 47) return m.includes('\n') ? m.replace(/[^\n]/g, LITERAL_FILL) : LITERAL_FILL.repeat(m.length);
    // Block comments nest in Rust, not in NON_CODE_RE: the blanking would end too early.
    if (m.charCodeAt(1) === 42 && m.indexOf('/*', 2) >= 0) nested = true;
    return blank(m);
  });
  return nested ? undefined : code;
}

// Character-level helpers for scans over blanked code (itemscan.ts, closures.ts, functions.ts).

/** Character codes the scans test. */
export const CH = {
  OPEN: 0x28, // (
  CLOSE: 0x29, // )
  LBRACKET: 0x5b, // [
  RBRACKET: 0x5d, // ]
  LBRACE: 0x7b, // {
  RBRACE: 0x7d, // }
  LT: 0x3c, // <
  GT: 0x3e, // >
  COMMA: 0x2c,
  SEMI: 0x3b,
  COLON: 0x3a,
  EQ: 0x3d,
  HASH: 0x23,
  BANG: 0x21,
  MINUS: 0x2d,
  DOT: 0x2e,
  PIPE: 0x7c,
  QUESTION: 0x3f,
  QUOTE: 0x27, // ' (a lifetime, once literals are blanked)
  FILL: LITERAL_FILL.charCodeAt(0),
} as const;

export const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c > 127;
export const isIdentChar = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57);
/** Rust's whitespace (blanked comments read as spaces too). */
export const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9 || c === 12 || c === 11;
export const isOpening = (c: number) => c === CH.OPEN || c === CH.LBRACKET || c === CH.LBRACE;
export const isClosing = (c: number) => c === CH.CLOSE || c === CH.RBRACKET || c === CH.RBRACE;

/** The first index at or after `i` (and before `end`) that is not whitespace. */
export function skipSpace(code: string, i: number, end = code.length): number {
  // Most gaps are a few characters; a blanked doc comment is kilobytes, which a regex crosses
  // far faster than a loop over characters.
  const near = Math.min(end, i + 16);
  while (i < near && isSpace(code.charCodeAt(i))) i++;
  if (i < near || i >= end) return i;
  NON_SPACE_RE.lastIndex = i;
  return NON_SPACE_RE.test(code) ? Math.min(NON_SPACE_RE.lastIndex - 1, end) : end;
}

/** Anything but Rust's whitespace (isSpace). */
const NON_SPACE_RE = /[^ \n\r\t\f\v]/g;

/** The last index at or before `i` that is not whitespace (-1 when there is none). */
export function skipSpaceBack(code: string, i: number): number {
  while (i >= 0 && isSpace(code.charCodeAt(i))) i--;
  return i;
}

/** `from`..`to` without the whitespace (and blanked comments) at either end. */
export function trimSpan(code: string, from: number, to: number): [number, number] {
  while (from < to && isSpace(code.charCodeAt(from))) from++;
  while (to > from && isSpace(code.charCodeAt(to - 1))) to--;
  return [from, to];
}

/** After the bracket that closes the one at `open` (`(`, `[` or `{`, any kind closing any); -1 when unbalanced. */
export function groupEnd(code: string, open: number): number {
  let depth = 0;
  for (let j = open; j < code.length; j++) {
    const c = code.charCodeAt(j);
    if (isOpening(c)) depth++;
    else if (isClosing(c) && --depth === 0) return j + 1;
  }
  return -1;
}

/** The bracket that opens the group closed at `close` (any kind closing any); -1 when unbalanced. */
export function groupStart(code: string, close: number): number {
  let depth = 0;
  for (let j = close; j >= 0; j--) {
    const c = code.charCodeAt(j);
    if (isClosing(c)) depth++;
    else if (isOpening(c) && --depth === 0) return j;
  }
  return -1;
}

/** End of the identifier characters from `start` on (`start` itself when there are none). */
export function wordEnd(code: string, start: number): number {
  let e = start;
  while (e < code.length && isIdentChar(code.charCodeAt(e))) e++;
  return e;
}

/** Start of the identifier that ends just before `end`. */
export function wordStart(code: string, end: number): number {
  let s = end;
  while (s > 0 && isIdentChar(code.charCodeAt(s - 1))) s--;
  return s;
}
