// Owns the tree-sitter runtime. Trees live in wasm memory: every ParsedFile must be
// disposed by its owner, and an incremental re-parse hands the old tree back here.

import { Language, Parser, type Edit, type Tree } from 'web-tree-sitter';
import { firstWhere } from './sorted';

export interface TreeEdit {
  startIndex: number;
  oldEndIndex: number;
  newEndIndex: number;
  startPosition: { row: number; column: number };
  oldEndPosition: { row: number; column: number };
  newEndPosition: { row: number; column: number };
}

export interface ParsedFile {
  readonly text: string;
  readonly tree: Tree;
  /** Count of ERROR and MISSING nodes. */
  readonly syntaxErrors: number;
  dispose(): void;
}

export interface ParserHostOptions {
  /** Path or bytes of `tree-sitter-rust.wasm`. */
  rustWasm: string | Uint8Array;
  /** Path of web-tree-sitter's own `tree-sitter.wasm`, when it is not next to the library (bundles). */
  treeSitterWasm?: string;
}

let initialised: Promise<void> | undefined;

export class ParserHost {
  private constructor(private readonly parser: Parser) {}

  static async create(options: ParserHostOptions): Promise<ParserHost> {
    if (!initialised) {
      const wasmPath = options.treeSitterWasm;
      initialised = Parser.init(
        wasmPath ? { locateFile: (name: string) => (name.endsWith('.wasm') ? wasmPath : name) } : undefined,
      );
    }
    await initialised;
    const language = await Language.load(options.rustWasm);
    const parser = new Parser();
    parser.setLanguage(language);
    return new ParserHost(parser);
  }

  /**
   * Parses `text`. With `previous` and the `edits` that turn its text into `text`, tree-sitter
   * reuses the unchanged parts; `previous` stays owned by the caller (dispose it when done).
   */
  parse(text: string, previous?: ParsedFile, edits?: TreeEdit[]): ParsedFile {
    let oldTree: Tree | undefined;
    if (previous && edits && edits.length > 0) {
      oldTree = previous.tree.copy();
      for (const edit of edits) oldTree.edit(edit as Edit);
    }
    const tree = this.parser.parse(text, oldTree ?? null);
    oldTree?.delete();
    if (!tree) throw new Error('tree-sitter returned no tree');
    return makeParsedFile(text, tree);
  }

  /** Trees of parts of `text` (see PartialTrees). */
  partial(text: string): PartialTrees {
    return new PartialTrees(this.parser, text);
  }

  dispose(): void {
    this.parser.delete();
  }
}

/** A span of the text to parse: offsets, and the same two places as rows and columns. */
export interface TextSpan {
  startIndex: number;
  endIndex: number;
  startPosition: { row: number; column: number };
  endPosition: { row: number; column: number };
}

/**
 * Syntax trees of parts of one text. A one-shot check parses only the functions it looks into:
 * tree-sitter parses just the included spans, and positions stay those of the whole text. The
 * spans expected to be needed are parsed together up front (`prepare`); any other span asked
 * for later is parsed on its own.
 */
export class PartialTrees {
  private readonly trees: Array<{ spans: TextSpan[]; tree: Tree }> = [];

  constructor(
    private readonly parser: Parser,
    readonly text: string,
  ) {}

  prepare(spans: TextSpan[]): void {
    if (spans.length > 0) this.parse(spans);
  }

  /** The root of a tree that covers `span`. */
  rootFor(span: TextSpan): Tree['rootNode'] {
    for (const t of this.trees) {
      const s = t.spans[spanAt(t.spans, span.startIndex)];
      if (s && s.startIndex <= span.startIndex && span.endIndex <= s.endIndex) return t.tree.rootNode;
    }
    return this.parse([span]).rootNode;
  }

  roots(): Array<Tree['rootNode']> {
    return this.trees.map((t) => t.tree.rootNode);
  }

  get syntaxErrors(): number {
    let n = 0;
    for (const t of this.trees) if (t.tree.rootNode.hasError) n += countErrors(t.tree);
    return n;
  }

  dispose(): void {
    for (const t of this.trees) t.tree.delete();
    this.trees.length = 0;
  }

  private parse(spans: TextSpan[]): Tree {
    const sorted = [...spans].sort((a, b) => a.startIndex - b.startIndex);
    // Given the string, web-tree-sitter would copy the rest of the text from every span's start:
    // hand it each span's own text instead.
    const text = this.text;
    const input = (index: number) => {
      // The first span that ends after `index`: its text up to its end (empty past the last).
      const at = spanAt(sorted, index);
      return at === sorted.length ? '' : text.slice(index, sorted[at].endIndex);
    };
    const tree = this.parser.parse(input, null, { includedRanges: sorted });
    if (!tree) throw new Error('tree-sitter returned no tree');
    this.trees.push({ spans: sorted, tree });
    return tree;
  }
}

/** Index of the first of `sorted` (disjoint spans in text order) that ends after `index`. */
function spanAt(sorted: readonly TextSpan[], index: number): number {
  return firstWhere(sorted, (s) => s.endIndex > index);
}

function makeParsedFile(text: string, tree: Tree): ParsedFile {
  let disposed = false;
  const syntaxErrors = tree.rootNode.hasError ? countErrors(tree) : 0;
  return {
    text,
    tree,
    syntaxErrors,
    dispose() {
      if (!disposed) {
        disposed = true;
        tree.delete();
      }
    },
  };
}

function countErrors(tree: Tree): number {
  let count = 0;
  const cursor = tree.walk();
  try {
    let descending = true;
    for (;;) {
      if (descending) {
        const node = cursor.currentNode;
        if (node.type === 'ERROR' || node.isMissing) count++;
        if (node.hasError && cursor.gotoFirstChild()) continue;
      }
      if (cursor.gotoNextSibling()) {
        descending = true;
        continue;
      }
      if (!cursor.gotoParent()) break;
      descending = false;
    }
  } finally {
    cursor.delete();
  }
  return count;
}
