#!/usr/bin/env node
// Bundles the extension for packaging with esbuild:
//   dist/extension.js        the VS Code client (client/src/extension.ts), `vscode` left external
//   dist/server.js           the language server (server/src/lsp/main.ts), all dependencies inlined
//   dist/lockPanel.js        the Lock Panel's webview script (client/src/runtime/webview/main.ts,
//                            browser IIFE with dagre inlined); `npm run build` also writes it to
//                            out/webview/ (--only webview --outdir out/webview) for runs from out/
//   dist/tree-sitter.wasm    web-tree-sitter's runtime        } the server looks for both next to
//   dist/tree-sitter-rust.wasm  the Rust grammar             } dist/server.js first
//
//   node scripts/bundle.mjs [--production] [--metafile] [--only client|server] [--outdir DIR]
//
// --outdir: where to write (default dist/).  `npm run package` bundles straight into its staging
// folder, so packaging leaves no dist/ behind for the development host to pick up by mistake
// (the client prefers dist/server.js over out/ when it exists).
// --production: whitespace/syntax minification, no source maps (what `npm run package` uses).
// Identifiers are never mangled, so stack traces from users stay readable.
// Where docs/wasm-provenance.md says each .wasm comes from.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdirArg = process.argv.indexOf('--outdir');
const DIST = outdirArg > 0 ? path.resolve(process.argv[outdirArg + 1]) : path.join(ROOT, 'dist');
const production = process.argv.includes('--production');
const writeMetafile = process.argv.includes('--metafile');

// VS Code 1.82 (the minimum in package.json engines) runs extensions on Node 18.15.
const NODE_TARGET = 'node18.15';

const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
const entries = [
  { name: 'client', entry: 'client/src/extension.ts', out: 'extension.js', external: ['vscode'] },
  // The server takes the .wasm next to dist/server.js; its node_modules fallback (require.resolve)
  // is only for running from out/, so it stays a runtime lookup.
  { name: 'server', entry: 'server/src/lsp/main.ts', out: 'server.js', external: ['tree-sitter-rust/tree-sitter-rust.wasm'] },
  { name: 'webview', entry: 'client/src/runtime/webview/main.ts', out: 'lockPanel.js', external: [], browser: true },
].filter((e) => !only || e.name === only);
if (only && entries.length === 0) {
  console.error(`bundle: --only takes "client", "server" or "webview", not ${only}`);
  process.exit(2);
}
const wasm = only === 'webview' ? [] : [
  { from: 'node_modules/web-tree-sitter/tree-sitter.wasm', to: 'tree-sitter.wasm', pkg: 'web-tree-sitter' },
  { from: 'node_modules/tree-sitter-rust/tree-sitter-rust.wasm', to: 'tree-sitter-rust.wasm', pkg: 'tree-sitter-rust' },
];

function fail(message) {
  console.error(`bundle: ${message}`);
  process.exit(1);
}

const missing = [...entries.map((e) => e.entry), ...wasm.map((w) => w.from)].filter((f) => !fs.existsSync(path.join(ROOT, f)));
if (missing.length) fail(`missing input(s): ${missing.join(', ')}`);

fs.rmSync(DIST, { recursive: true, force: true });
fs.mkdirSync(DIST, { recursive: true });

// tsc compiles our `import`s to `require()` (module: commonjs), and that is what runs under
// `npm run build`.  Resolve them the same way in the bundle: packages with conditional exports
// (web-tree-sitter: "import" -> tree-sitter.js, "require" -> tree-sitter.cjs) must get their
// CommonJS build, which finds its .wasm through __dirname.
const resolveLikeTsc = {
  name: 'resolve-imports-as-require',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== 'import-statement' || args.pluginData?.asRequire) return undefined;
      const r = await build.resolve(args.path, {
        kind: 'require-call',
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { asRequire: true },
      });
      return r.errors.length ? { errors: r.errors } : r;
    });
  },
};

const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
for (const e of entries) {
  const result = await esbuild.build({
    entryPoints: [path.join(ROOT, e.entry)],
    outfile: path.join(DIST, e.out),
    bundle: true,
    platform: e.browser ? 'browser' : 'node',
    format: e.browser ? 'iife' : 'cjs',
    target: e.browser ? 'es2020' : NODE_TARGET,
    external: e.external,
    mainFields: e.browser ? ['browser', 'module', 'main'] : ['main', 'module'],
    plugins: e.browser ? [] : [resolveLikeTsc],
    minifyWhitespace: production,
    minifySyntax: production,
    keepNames: true,
    sourcemap: production ? false : 'linked',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'linked',
  }).catch(() => fail(`esbuild failed for ${e.entry} (errors above)`));
  const out = path.join(DIST, e.out);
  if (writeMetafile) fs.writeFileSync(out + '.meta.json', JSON.stringify(result.metafile));
  console.log(`bundle: ${path.relative(ROOT, out) || out}  ${kb(fs.statSync(out).size)}  (${e.entry}, ${Object.keys(result.metafile.inputs).length} inputs)`);
}

for (const w of wasm) {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', w.pkg, 'package.json'), 'utf8'));
  const to = path.join(DIST, w.to);
  fs.copyFileSync(path.join(ROOT, w.from), to);
  console.log(`bundle: ${path.relative(ROOT, to)}  ${kb(fs.statSync(to).size)}  (${w.pkg}@${pkg.version})`);
}
