#!/usr/bin/env node
// Builds locklens-<version>.vsix at the repository root.
//
//   npm run package                 stage + bundle (production) into the stage + vsce package + content check
//   node scripts/package.mjs --skip-bundle    package the dist/ already in the repository instead
//
// vsce packages a folder as it is, and the repository's package.json points `main` at the tsc
// output (out/client/src/extension.js) that development and the extension tests use.  So vsce runs
// on a staging copy (.locklens-e2e/vsix-stage) holding what .vscodeignore admits and a
// package.json whose `main` is the bundle, whose runtime dependencies are dropped (they are
// inlined in dist/) and whose scripts/devDependencies/bin are removed.  After packaging, the
// file list (`vsce ls`) is checked: every shipped file present, nothing from tests, sources,
// node_modules or build output.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAGE = path.join(path.resolve(process.env.LOCKLENS_E2E_DIR || path.join(ROOT, '.locklens-e2e')), 'vsix-stage');
const VSCE = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.error) fail(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

// 1. stage: copy the candidate files; .vscodeignore (copied too) decides what vsce takes.
fs.rmSync(STAGE, { recursive: true, force: true });
fs.mkdirSync(STAGE, { recursive: true });
const skipBundle = process.argv.includes('--skip-bundle');
const noBuildDirs = (src) => !['target', 'node_modules', '.git'].includes(path.basename(src));
const copied = ['runtime-hook', 'docs', 'resources', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore'];
if (skipBundle) copied.push('dist');
for (const entry of copied) {
  const from = path.join(ROOT, entry);
  if (fs.existsSync(from)) fs.cpSync(from, path.join(STAGE, entry), { recursive: true, filter: noBuildDirs });
}

// 2. bundle straight into the stage (no dist/ is left in the repository)
if (!skipBundle) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle.mjs'), '--production', '--outdir', path.join(STAGE, 'dist')], {
    stdio: 'inherit',
  });
  if (r.status !== 0) fail('bundling failed');
}
for (const f of ['dist/extension.js', 'dist/server.js', 'dist/lockPanel.js', 'dist/tree-sitter.wasm', 'dist/tree-sitter-rust.wasm']) {
  if (!fs.existsSync(path.join(STAGE, f))) fail(`${f} is missing${skipBundle ? ': run node scripts/bundle.mjs' : ''}`);
}

// 3. the staged manifest and README
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

// vsce resolves the README's relative links against the repository URL and refuses to package
// without one.  With no `repository` in package.json, relative links become their plain text
// (they would point nowhere on the Marketplace or in the Extensions view anyway).
const stagedReadme = path.join(STAGE, 'README.md');
if (!pkg.repository && fs.existsSync(stagedReadme)) {
  let unlinked = 0;
  const text = fs.readFileSync(stagedReadme, 'utf8').replace(/(!?)\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, (all, bang, label, target) => {
    if (/^(https?:|mailto:|#)/i.test(target)) return all;
    unlinked++;
    return label;
  });
  fs.writeFileSync(stagedReadme, text);
  if (unlinked) console.log(`package: README.md: ${unlinked} relative link(s) made plain text, as package.json has no "repository"`);
}

const staged = { ...pkg, main: './dist/extension.js' };
for (const key of ['scripts', 'devDependencies', 'dependencies', 'bin']) delete staged[key];
if (!staged.icon && fs.existsSync(path.join(ROOT, 'resources', 'icon.png'))) staged.icon = 'resources/icon.png';
fs.writeFileSync(path.join(STAGE, 'package.json'), JSON.stringify(staged, null, 2) + '\n');

// 4. vsce package
const vsix = path.join(ROOT, `${pkg.name}-${pkg.version}.vsix`);
fs.rmSync(vsix, { force: true });
const packFlags = ['--no-dependencies'];
if (!pkg.repository) packFlags.push('--allow-missing-repository');
const packed = run(process.execPath, [VSCE, 'package', ...packFlags, '--out', vsix], { cwd: STAGE });
process.stdout.write(packed.stdout);
process.stderr.write(packed.stderr);
if (packed.status !== 0 || !fs.existsSync(vsix)) fail(`vsce package failed (exit ${packed.status})`);

// 5. check what went in
const listed = run(process.execPath, [VSCE, 'ls', '--no-dependencies'], { cwd: STAGE });
if (listed.status !== 0) fail(`vsce ls failed:\n${listed.stderr}`);
const files = listed.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();

const required = [
  'package.json',
  'LICENSE',
  'CHANGELOG.md',
  'dist/extension.js',
  'dist/server.js',
  'dist/lockPanel.js',
  'dist/tree-sitter.wasm',
  'dist/tree-sitter-rust.wasm',
  'runtime-hook/Cargo.toml',
  'docs/wasm-provenance.md',
];
const forbidden = [
  [/(^|\/)node_modules\//, 'node_modules'],
  [/^(test|out|client|server|common|bench|scripts|examples)\//, 'development folders'],
  [/(^|\/)target\//, 'cargo build output'],
  [/\.(ts|map|tsbuildinfo|vsix|orig)$/, 'sources, maps or build leftovers'],
  [/^\.locklens-e2e\//, 'test caches'],
];
const problems = [];
for (const r of required) if (!files.includes(r)) problems.push(`missing ${r}`);
if (fs.existsSync(path.join(ROOT, 'runtime-hook', 'src')) && !files.some((f) => f.startsWith('runtime-hook/src/'))) {
  problems.push('missing runtime-hook/src/');
}
const rules = fs.existsSync(path.join(ROOT, 'docs', 'rules'))
  ? fs.readdirSync(path.join(ROOT, 'docs', 'rules')).filter((f) => f.endsWith('.md'))
  : [];
for (const r of rules) if (!files.includes(`docs/rules/${r}`)) problems.push(`missing docs/rules/${r}`);
for (const f of files) {
  for (const [re, what] of forbidden) if (re.test(f)) problems.push(`${f} (${what}) must not be packaged`);
}

console.log(`\npackage: ${files.length} files in ${path.basename(vsix)}:`);
for (const f of files) console.log(`  ${f}`);
if (!rules.length) console.log('package: note: docs/rules/ has no .md files yet, so no rule docs are packaged');
if (!fs.existsSync(path.join(ROOT, 'README.md'))) console.log('package: note: there is no README.md yet; the Marketplace page would be empty');
if (problems.length) fail(`the package content is wrong:\n  ${problems.join('\n  ')}`);
const size = fs.statSync(vsix).size;
console.log(`package: ${path.relative(ROOT, vsix)}  ${(size / 1024).toFixed(0)} KiB (${size} bytes)`);
