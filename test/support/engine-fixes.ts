// Applying a Finding's TextEdits to a document, the way an editor does: every edit's range
// refers to the original text (0-based line, UTF-16 column), edits must not overlap, and
// edits at the same position are inserted in the order given.

import type { Fix, Position, TextEdit } from '../../server/src/analysis/model';

/** Offset of a 0-based line/column in `text`, for `\n` and `\r\n` line ends. */
export function offsetAt(text: string, p: Position): number {
  let off = 0;
  for (let l = 0; l < p.line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) throw new Error(`line ${p.line} is past the end of the text (${l} lines)`);
    off = nl + 1;
  }
  const lineEnd = text.indexOf('\n', off);
  const len = (lineEnd < 0 ? text.length : lineEnd) - off - (lineEnd > 0 && text[lineEnd - 1] === '\r' ? 1 : 0);
  if (p.column > len) throw new Error(`column ${p.column} is past the end of line ${p.line} (length ${len})`);
  return off + p.column;
}

export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const withOffsets = edits.map((e, i) => ({ e, i, start: offsetAt(text, e.range.start), end: offsetAt(text, e.range.end) }));
  for (const x of withOffsets) if (x.end < x.start) throw new Error(`edit ${x.i} has its end before its start`);
  withOffsets.sort((a, b) => a.start - b.start || a.end - b.end || a.i - b.i);
  for (let k = 1; k < withOffsets.length; k++) {
    const prev = withOffsets[k - 1];
    const cur = withOffsets[k];
    if (cur.start < prev.end) throw new Error(`edits ${prev.i} and ${cur.i} overlap`);
  }
  let out = '';
  let at = 0;
  for (const x of withOffsets) {
    out += text.slice(at, x.start) + x.e.newText;
    at = x.end;
  }
  return out + text.slice(at);
}

export function applyFix(text: string, fix: Fix): string {
  return applyEdits(text, fix.edits);
}
