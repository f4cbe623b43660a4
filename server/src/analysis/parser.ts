// Owns the tree-sitter runtime. Trees live in wasm memory: every ParsedFile must be
// disposed by its owner, and an incremental re-parse hands the old tree back here.

import { Language, Parser, type Edit, type Tree } from 'web-tree-sitter';

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

  dispose(): void {
    this.parser.delete();
  }
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
