// LockLens configuration from `[package.metadata.locklens]`, `[workspace.metadata.locklens]`
// or a `locklens.toml` at the workspace root. Invalid values are reported with the key they
// came from and otherwise ignored.

import * as fs from 'fs';
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import type { RuleId, Severity } from '../analysis/model';
import { RULE_IDS } from '../analysis/rules/catalog';

export interface LockLensConfig {
  /** Declared lock levels, lowest first: a lock may only be taken while holding locks of lower levels. */
  order: string[][];
  severities: Partial<Record<RuleId, Severity | 'off'>>;
  reentrant: string[];
  wrappers: string[];
  blocking: string[];
  /** Where the configuration came from, for messages. */
  source?: string;
}

const SEVERITIES = ['error', 'warning', 'information', 'hint', 'off'];

export function emptyConfig(): LockLensConfig {
  return { order: [], severities: {}, reentrant: [], wrappers: [], blocking: [] };
}

type Toml = Record<string, unknown>;

function table(v: unknown): Toml | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Toml) : undefined;
}

export function readConfig(pkgToml: Toml | undefined, manifest: string | undefined, workspaceToml: Toml | undefined, messages: string[]): LockLensConfig {
  const config = emptyConfig();
  const layers: Array<{ raw: Toml; where: string }> = [];
  const wsMeta = table(table(table(workspaceToml?.workspace)?.metadata)?.locklens) ?? table(table(table(pkgToml?.workspace)?.metadata)?.locklens);
  if (wsMeta) layers.push({ raw: wsMeta, where: '[workspace.metadata.locklens]' });
  if (manifest) {
    const file = findUpwards(path.dirname(manifest), 'locklens.toml', 4);
    if (file) {
      try {
        layers.push({ raw: parseToml(fs.readFileSync(file, 'utf8')) as Toml, where: file });
      } catch (e) {
        messages.push(`error: ${file}: invalid TOML (${String((e as Error).message).split('\n')[0]}); ignoring it`);
      }
    }
  }
  const pkgMeta = table(table(table(pkgToml?.package)?.metadata)?.locklens);
  if (pkgMeta) layers.push({ raw: pkgMeta, where: `${manifest ?? 'Cargo.toml'} [package.metadata.locklens]` });
  for (const layer of layers) applyLayer(config, layer.raw, layer.where, messages);
  return config;
}

/** `name` in `dir` or one of its first `levels - 1` ancestors, nearest first. */
export function findUpwards(dir: string, name: string, levels: number): string | undefined {
  for (let d = dir, i = 0; i < levels; i++) {
    const f = path.join(d, name);
    if (fs.existsSync(f)) return f;
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  return undefined;
}

function strings(v: unknown, key: string, where: string, messages: string[]): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    messages.push(`error: ${where}: \`${key}\` must be an array of strings`);
    return undefined;
  }
  return v as string[];
}

export function applyLayer(config: LockLensConfig, raw: Toml, where: string, messages: string[]): void {
  config.source = where;
  for (const key of Object.keys(raw)) {
    if (!['order', 'severity', 'rules', 'reentrant', 'wrappers', 'blocking'].includes(key)) {
      messages.push(`warning: ${where}: unknown key \`${key}\` (expected order, severity, reentrant, wrappers, blocking)`);
    }
  }
  if (raw.order !== undefined) {
    if (!Array.isArray(raw.order)) messages.push(`error: ${where}: \`order\` must be an array of levels, e.g. order = [["A.x"], ["B.y", "C.z"]]`);
    else {
      const levels: string[][] = [];
      raw.order.forEach((level, i) => {
        if (typeof level === 'string') levels.push([level]);
        else if (Array.isArray(level) && level.every((x) => typeof x === 'string')) levels.push(level as string[]);
        else messages.push(`error: ${where}: \`order[${i}]\` must be a lock class name or an array of them`);
      });
      config.order = levels;
    }
  }
  const sev = table(raw.severity ?? raw.rules);
  if ((raw.severity ?? raw.rules) !== undefined && !sev) messages.push(`error: ${where}: \`severity\` must be a table of rule = "error" | "warning" | "information" | "hint" | "off"`);
  if (sev) {
    for (const [rule, value] of Object.entries(sev)) {
      if (!(RULE_IDS as readonly string[]).includes(rule)) {
        messages.push(`error: ${where}: \`severity.${rule}\`: unknown rule (known: ${RULE_IDS.join(', ')})`);
        continue;
      }
      if (typeof value !== 'string' || !SEVERITIES.includes(value)) {
        messages.push(`error: ${where}: \`severity.${rule}\` must be one of ${SEVERITIES.join(', ')}`);
        continue;
      }
      config.severities[rule as RuleId] = value as Severity | 'off';
    }
  }
  config.reentrant = strings(raw.reentrant, 'reentrant', where, messages) ?? config.reentrant;
  config.wrappers = strings(raw.wrappers, 'wrappers', where, messages) ?? config.wrappers;
  config.blocking = strings(raw.blocking, 'blocking', where, messages) ?? config.blocking;
}
