// Finds the crates behind a path: a single `.rs` file, a crate directory, or a Cargo workspace
// (members with globs, excludes). Reads each crate's edition (with `edition.workspace = true`
// inheritance), dependencies and LockLens configuration. Never throws for bad input: problems
// become one-line messages and the rest is still checked.

import * as fs from 'fs';
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import type { Edition } from '../analysis/model';
import { EDITIONS } from '../analysis/model';
import { findUpwards, readConfig, type LockLensConfig } from './config';

export interface CrateInfo {
  name: string;
  /** Absolute crate root (the folder with Cargo.toml, or the file's folder). */
  root: string;
  edition: Edition;
  /** Absolute paths of the crate's `.rs` files. */
  files: string[];
  dependencies: string[];
  config: LockLensConfig;
  /** Cargo.toml, when there is one. */
  manifest?: string;
}

export interface WorkspaceModel {
  /** What the user gave, resolved. Reported file paths are relative to this (or to its folder for a file). */
  input: string;
  base: string;
  /** Same as `base`: the folder reported paths are relative to. */
  root: string;
  crates: CrateInfo[];
  messages: string[];
}

export interface DiscoverOptions {
  edition?: Edition;
}

const SKIP_DIRS = new Set(['target', 'node_modules']);

export function discoverWorkspace(input: string, opts: DiscoverOptions = {}): WorkspaceModel {
  const abs = path.resolve(input);
  const model: WorkspaceModel = { input: abs, base: abs, root: abs, crates: [], messages: [] };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    model.messages.push(`error: ${input}: no such file or directory`);
    return model;
  }
  if (stat.isFile()) {
    model.base = path.dirname(abs);
    model.root = model.base;
    if (!abs.endsWith('.rs')) {
      model.messages.push(`error: ${input}: not a Rust source file (expected a .rs file, a crate folder or a Cargo workspace)`);
      return model;
    }
    const manifest = findUpwards(path.dirname(abs), 'Cargo.toml', 6);
    const pkg = manifest ? readManifest(manifest, model.messages) : undefined;
    const edition = opts.edition ?? (pkg ? editionOf(pkg, manifest!, model.messages) : '2015');
    model.crates.push({
      name: path.basename(abs, '.rs'),
      root: path.dirname(abs),
      edition,
      files: [abs],
      dependencies: pkg ? dependenciesOf(pkg) : [],
      config: readConfig(pkg, manifest, undefined, model.messages),
      manifest,
    });
    return model;
  }
  const manifest = path.join(abs, 'Cargo.toml');
  if (fs.existsSync(manifest)) {
    addManifest(manifest, model, opts, undefined);
  } else {
    // A folder of crates (or of loose .rs files).
    const manifests = findManifests(abs, 4);
    if (manifests.length > 0) {
      const covered = new Set<string>();
      for (const m of manifests) {
        if (covered.has(path.dirname(m))) continue;
        addManifest(m, model, opts, undefined);
        for (const c of model.crates) covered.add(c.root);
      }
    } else {
      const files = rustFiles(abs, new Set());
      if (files.length === 0) {
        model.messages.push(`error: ${input}: no Rust files or Cargo.toml found`);
        return model;
      }
      model.crates.push({ name: path.basename(abs), root: abs, edition: opts.edition ?? '2015', files, dependencies: [], config: readConfig(undefined, undefined, undefined, model.messages) });
    }
  }
  if (model.crates.length === 0 && model.messages.length === 0) model.messages.push(`error: ${input}: no crates found`);
  return model;
}

type Toml = Record<string, unknown>;

function readManifest(file: string, messages: string[]): Toml | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    messages.push(`error: ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'I/O error'})`);
    return undefined;
  }
  try {
    return parseToml(text) as Toml;
  } catch (e) {
    const err = e as { line?: number; column?: number; message?: string };
    const where = err.line ? `:${err.line}${err.column ? `:${err.column}` : ''}` : '';
    const reason = String(err.message ?? e).split('\n')[0];
    messages.push(`error: ${file}${where}: invalid Cargo.toml (${reason}); skipping this crate`);
    return undefined;
  }
}

function table(v: unknown): Toml | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Toml) : undefined;
}

function editionOf(pkgToml: Toml, manifest: string, messages: string[], workspaceToml?: Toml): Edition {
  const pkg = table(pkgToml.package);
  const raw = pkg?.edition;
  let edition: unknown = raw;
  if (table(raw)?.workspace === true) {
    edition = table(table(workspaceToml?.workspace)?.package)?.edition ?? table(table(pkgToml.workspace)?.package)?.edition;
    if (edition === undefined) messages.push(`warning: ${manifest}: edition.workspace = true but the workspace sets no [workspace.package] edition; using 2015`);
  }
  if (edition === undefined) return '2015';
  const e = String(edition);
  if ((EDITIONS as readonly string[]).includes(e)) return e as Edition;
  messages.push(`warning: ${manifest}: unknown edition "${e}"; using 2021`);
  return '2021';
}

function dependenciesOf(toml: Toml): string[] {
  const names = new Set<string>();
  for (const key of ['dependencies', 'dev-dependencies', 'build-dependencies']) {
    const t = table(toml[key]);
    if (t) for (const k of Object.keys(t)) names.add(k.replace(/-/g, '_'));
  }
  const target = table(toml.target);
  if (target) {
    for (const t of Object.values(target)) {
      const deps = table(table(t)?.dependencies);
      if (deps) for (const k of Object.keys(deps)) names.add(k.replace(/-/g, '_'));
    }
  }
  return [...names];
}

function addManifest(manifest: string, model: WorkspaceModel, opts: DiscoverOptions, workspaceToml: Toml | undefined): void {
  const toml = readManifest(manifest, model.messages);
  if (!toml) return;
  const root = path.dirname(manifest);
  const ws = table(toml.workspace);
  if (ws) {
    const members = Array.isArray(ws.members) ? ws.members.map(String) : [];
    const excludes = new Set((Array.isArray(ws.exclude) ? ws.exclude.map(String) : []).map((e) => path.resolve(root, e)));
    for (const pattern of members) {
      for (const dir of expandMember(root, pattern)) {
        if (excludes.has(dir)) continue;
        const m = path.join(dir, 'Cargo.toml');
        if (!fs.existsSync(m)) {
          model.messages.push(`warning: ${manifest}: workspace member "${pattern}" has no Cargo.toml at ${path.relative(model.base, dir) || '.'}`);
          continue;
        }
        if (model.crates.some((c) => c.root === dir)) continue;
        addManifest(m, model, opts, toml);
      }
    }
  }
  const pkg = table(toml.package);
  if (pkg) {
    const name = typeof pkg.name === 'string' ? pkg.name : path.basename(root);
    const nested = new Set(model.crates.map((c) => c.root));
    model.crates.push({
      name,
      root,
      edition: opts.edition ?? editionOf(toml, manifest, model.messages, workspaceToml),
      files: rustFiles(root, nested),
      dependencies: dependenciesOf(toml),
      config: readConfig(toml, manifest, workspaceToml, model.messages),
      manifest,
    });
  }
}

/** Expands `crates/*`-style member globs (`*` and `?` within one path segment). */
function expandMember(root: string, pattern: string): string[] {
  const parts = pattern.split('/').filter((p) => p && p !== '.');
  let dirs = [root];
  for (const part of parts) {
    const next: string[] = [];
    if (!/[*?[]/.test(part)) {
      for (const d of dirs) next.push(path.join(d, part));
    } else {
      const re = new RegExp('^' + part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
      for (const d of dirs) {
        let entries: fs.Dirent[] = [];
        try {
          entries = fs.readdirSync(d, { withFileTypes: true });
        } catch {
          continue;
        }
        for (const e of entries) if (e.isDirectory() && re.test(e.name)) next.push(path.join(d, e.name));
      }
    }
    dirs = next;
  }
  return dirs.sort();
}

function findManifests(dir: string, depth: number): string[] {
  const out: string[] = [];
  const visit = (d: string, left: number) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && e.name === 'Cargo.toml')) {
      out.push(path.join(d, 'Cargo.toml'));
      return;
    }
    if (left === 0) return;
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIP_DIRS.has(e.name)) visit(path.join(d, e.name), left - 1);
    }
  };
  visit(dir, depth);
  return out.sort();
}

/** Every `.rs` file under `root`, skipping target/, hidden folders and nested crates. */
export function rustFiles(root: string, nestedCrates: Set<string>): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name.startsWith('.') || SKIP_DIRS.has(e.name) || nestedCrates.has(p)) continue;
        if (d !== root && fs.existsSync(path.join(p, 'Cargo.toml')) && !nestedCrates.has(p)) continue;
        visit(p);
      } else if (e.isFile() && e.name.endsWith('.rs')) {
        out.push(p);
      }
    }
  };
  visit(root);
  return out.sort();
}
