// Open documents with incremental sync and a tree-sitter tree cache per document (the
// vscode-anycode approach): every content change is turned into a tree-sitter edit
// against the text it applies to, the edits are queued, and the next parse re-uses the
// previous tree. The old wasm tree is disposed as soon as the new one exists.

import { TextDocument } from 'vscode-languageserver-textdocument';
import type { TextDocumentContentChangeEvent } from 'vscode-languageserver';
import type { EngineLike, ParsedFileLike, Point, TreeEditLike } from './host';
import type { FileDeclarations } from '../analysis/api';

/** Tree-sitter point (row, UTF-16 column) of an offset; rows are split at `\n` only, like tree-sitter. */
export function pointAt(text: string, offset: number): Point {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: offset - lineStart };
}

function lineIndexPoint(document: TextDocument, offset: number): Point {
  const p = document.positionAt(offset);
  return { row: p.line, column: p.character };
}

function advance(start: Point, inserted: string): Point {
  const lastBreak = inserted.lastIndexOf('\n');
  if (lastBreak === -1) return { row: start.row, column: start.column + inserted.length };
  let rows = 0;
  for (let i = inserted.indexOf('\n'); i !== -1; i = inserted.indexOf('\n', i + 1)) rows++;
  return { row: start.row + rows, column: inserted.length - lastBreak - 1 };
}

/**
 * Applies LSP content changes (each relative to the text left by the previous one) to a
 * document, returning the new document and the tree-sitter edits, or `undefined` edits
 * when a change replaced the whole text (the tree cannot be reused then).
 */
export function applyContentChanges(
  document: TextDocument,
  changes: readonly TextDocumentContentChangeEvent[],
  version: number,
): { document: TextDocument; edits: TreeEditLike[] | undefined } {
  let current = document;
  let edits: TreeEditLike[] | undefined = [];
  for (const change of changes) {
    if (!('range' in change) || !change.range) {
      edits = undefined;
      current = TextDocument.update(current, [change], version);
      continue;
    }
    const oldText = current.getText();
    const startIndex = current.offsetAt(change.range.start);
    const oldEndIndex = Math.max(startIndex, current.offsetAt(change.range.end));
    const newEndIndex = startIndex + change.text.length;
    // Without `\r` the document's lines are tree-sitter's rows: its line index answers at once
    // (a scan from the start of the text otherwise).
    const point = oldText.includes('\r') ? (offset: number) => pointAt(oldText, offset) : (offset: number) => lineIndexPoint(current, offset);
    const startPosition = point(startIndex);
    const oldEndPosition = point(oldEndIndex);
    const newEndPosition = advance(startPosition, change.text);
    edits?.push({ startIndex, oldEndIndex, newEndIndex, startPosition, oldEndPosition, newEndPosition });
    current = TextDocument.update(current, [change], version);
  }
  return { document: current, edits };
}

export interface OpenDocument {
  uri: string;
  document: TextDocument;
  /** The tree for `parsedVersion`, when parsed. */
  parsed?: ParsedFileLike;
  parsedVersion?: number;
  /** Edits made since `parsed` was produced; undefined when a full re-parse is needed. */
  pendingEdits: TreeEditLike[] | undefined;
  /** How the current tree was made from the one before: its version and the edits (incremental parses only). */
  lastParse?: { fromVersion: number; edits: TreeEditLike[] };
  /** Declarations computed for a parsed version, the base for the next version's. */
  declared?: { version: number; declarations: FileDeclarations };
  /** Number of incremental and full parses, for diagnostics of the cache itself. */
  stats: { incremental: number; full: number };
}

export class DocumentStore {
  private readonly docs = new Map<string, OpenDocument>();

  constructor(private readonly engine: () => EngineLike | undefined) {}

  open(uri: string, languageId: string, version: number, text: string): OpenDocument {
    this.close(uri);
    const entry: OpenDocument = {
      uri,
      document: TextDocument.create(uri, languageId, version, text),
      pendingEdits: undefined,
      stats: { incremental: 0, full: 0 },
    };
    this.docs.set(uri, entry);
    return entry;
  }

  change(uri: string, version: number, changes: readonly TextDocumentContentChangeEvent[]): OpenDocument | undefined {
    const entry = this.docs.get(uri);
    if (!entry) return undefined;
    const { document, edits } = applyContentChanges(entry.document, changes, version);
    entry.document = document;
    // No tree yet, or a full-text change: the next parse starts from scratch.
    if (edits === undefined || entry.pendingEdits === undefined) entry.pendingEdits = undefined;
    else entry.pendingEdits.push(...edits);
    return entry;
  }

  close(uri: string): void {
    const entry = this.docs.get(uri);
    if (!entry) return;
    entry.parsed?.dispose();
    entry.parsed = undefined;
    this.docs.delete(uri);
  }

  get(uri: string): OpenDocument | undefined {
    return this.docs.get(uri);
  }

  all(): OpenDocument[] {
    return [...this.docs.values()];
  }

  /** The tree for the document's current text, re-parsing incrementally when possible. */
  parsed(entry: OpenDocument): ParsedFileLike | undefined {
    const engine = this.engine();
    if (!engine) return undefined;
    if (entry.parsed && entry.parsedVersion === entry.document.version) return entry.parsed;
    const text = entry.document.getText();
    const previous = entry.parsed;
    let next: ParsedFileLike;
    entry.lastParse = undefined;
    if (previous && entry.pendingEdits && entry.pendingEdits.length > 0) {
      try {
        next = engine.parse(text, previous, entry.pendingEdits);
        entry.stats.incremental++;
        if (entry.parsedVersion !== undefined) entry.lastParse = { fromVersion: entry.parsedVersion, edits: entry.pendingEdits };
      } catch {
        next = engine.parse(text);
        entry.stats.full++;
      }
    } else {
      next = engine.parse(text);
      entry.stats.full++;
    }
    if (previous && previous !== next) previous.dispose();
    entry.parsed = next;
    entry.parsedVersion = entry.document.version;
    entry.pendingEdits = [];
    return next;
  }

  dispose(): void {
    for (const uri of [...this.docs.keys()]) this.close(uri);
  }
}
