// The real host: the tree-sitter engine and Cargo workspace discovery.

import { promises as fs } from 'fs';
import { buildCrateIndex, createEngine } from '../analysis';
import { discoverWorkspace, locateWasm } from '../workspace';
import type { EngineLike, ServerHost } from './host';

export function defaultHost(): ServerHost {
  return {
    async createEngine(): Promise<EngineLike> {
      const { rustWasm, treeSitterWasm } = locateWasm();
      return createEngine({ rustWasm, treeSitterWasm });
    },
    discoverWorkspace: async (path, options) => discoverWorkspace(path, options),
    buildCrateIndex: (edition, files) => buildCrateIndex(edition, files),
    readFile: (path) => fs.readFile(path, 'utf8'),
  };
}
