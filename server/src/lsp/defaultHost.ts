// The real host: the tree-sitter engine and Cargo workspace discovery.

import { buildCrateIndex, createEngine } from '../analysis';
import { discoverWorkspace, locateWasm, readSource } from '../workspace';
import type { EngineLike, ServerHost } from './host';

export function defaultHost(): ServerHost {
  return {
    async createEngine(): Promise<EngineLike> {
      const { rustWasm, treeSitterWasm } = locateWasm();
      return createEngine({ rustWasm, treeSitterWasm });
    },
    discoverWorkspace: async (path, options) => discoverWorkspace(path, options),
    buildCrateIndex: (edition, files) => buildCrateIndex(edition, files),
    // Same rules as the CLI: binary, non-UTF-8 and oversized files are skipped with a reason.
    readFile: async (path) => {
      const read = readSource(path);
      if (!read.ok) throw new Error(read.reason);
      return read.text;
    },
  };
}
