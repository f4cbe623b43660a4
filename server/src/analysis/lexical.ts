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
    if (m.charCodeAt(0) !== 47) return m.replace(/[^\n]/g, LITERAL_FILL);
    // Block comments nest in Rust, not in NON_CODE_RE: the blanking would end too early.
    if (m.charCodeAt(1) === 42 && m.indexOf('/*', 2) >= 0) nested = true;
    return blank(m);
  });
  return nested ? undefined : code;
}
