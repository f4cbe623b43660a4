// Where the tree-sitter wasm files are: next to a bundled server (dist/), or in node_modules.

import * as fs from 'fs';
import * as path from 'path';

export interface WasmLocation {
  rustWasm: string;
  treeSitterWasm?: string;
}

export function locateWasm(): WasmLocation {
  const bundledRust = path.join(__dirname, 'tree-sitter-rust.wasm');
  if (fs.existsSync(bundledRust)) {
    const ts = path.join(__dirname, 'tree-sitter.wasm');
    return { rustWasm: bundledRust, treeSitterWasm: fs.existsSync(ts) ? ts : undefined };
  }
  return { rustWasm: require.resolve('tree-sitter-rust/tree-sitter-rust.wasm') };
}
