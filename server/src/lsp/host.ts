// What the language server needs from the outside world: the analysis engine, workspace
// discovery and file reading. `defaultHost` (defaultHost.ts) binds these to the real
// engine (server/src/analysis) and workspace discovery (server/src/workspace); tests may
// pass their own host to exercise the protocol plumbing in isolation.

import type { CrateIndex, EngineOptions, FileAnalysis, FileDeclarations } from '../analysis/api';
import type { Edition } from '../analysis/model';
import type { CrateInfo as DiscoveredCrate } from '../workspace/discover';

export interface Point {
  row: number;
  column: number;
}

/** A tree-sitter edit; indices and columns in UTF-16 code units (web-tree-sitter). */
export interface TreeEditLike {
  startIndex: number;
  oldEndIndex: number;
  newEndIndex: number;
  startPosition: Point;
  oldEndPosition: Point;
  newEndPosition: Point;
}

export interface ParsedFileLike {
  readonly text: string;
  readonly tree: unknown;
  dispose(): void;
  syntaxErrors: number;
}

export interface EngineLike<P extends ParsedFileLike = ParsedFileLike> {
  parse(text: string, previous?: P, edits?: TreeEditLike[]): P;
  /** With `previous`: the declarations before the edits `parsed` was re-parsed with (see Engine.declarations). */
  declarations(parsed: P, file: string, previous?: { declarations: FileDeclarations; edits: readonly TreeEditLike[] }): FileDeclarations;
  analyzeFile(parsed: P, file: string, index: CrateIndex, options: EngineOptions): FileAnalysis;
}

/** A crate as workspace discovery describes it (server/src/workspace/discover.ts). */
export type CrateInfo = Omit<DiscoveredCrate, 'config' | 'manifest'> & { config: unknown };

export interface WorkspaceInfo {
  root: string;
  crates: CrateInfo[];
  messages: string[];
}

export interface ServerHost {
  createEngine(): Promise<EngineLike>;
  discoverWorkspace(path: string, options: { edition?: Edition }): Promise<WorkspaceInfo>;
  buildCrateIndex(edition: Edition, files: FileDeclarations[]): CrateIndex;
  readFile(path: string): Promise<string>;
}
