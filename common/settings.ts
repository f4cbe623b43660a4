// LockLens settings: the single source of truth for their defaults (the package.json
// configuration schema is checked against `defaults` by test/unit/lsp-settings.test.ts)
// and the normalisation of whatever a client sends for the `locklens` section.

import { RULE_IDS, RuleName, isRuleName } from './rules';

export type SeveritySetting = 'default' | 'error' | 'warning' | 'information' | 'hint' | 'off';
export const SEVERITY_SETTINGS: readonly SeveritySetting[] = ['default', 'error', 'warning', 'information', 'hint', 'off'];

export type EditionSetting = 'auto' | '2015' | '2018' | '2021' | '2024';
export const EDITION_SETTINGS: readonly EditionSetting[] = ['auto', '2015', '2018', '2021', '2024'];

export type DecorationStyle = 'tint+gutter' | 'tint' | 'gutter' | 'off';
export const DECORATION_STYLES: readonly DecorationStyle[] = ['tint+gutter', 'tint', 'gutter', 'off'];

export type TraceSetting = 'off' | 'messages' | 'verbose';
export const TRACE_SETTINGS: readonly TraceSetting[] = ['off', 'messages', 'verbose'];

export interface LockLensSettings {
  /** Analyse Rust files and report findings. */
  enable: boolean;
  /** Rust edition used for drop-order rules; `auto` reads it from Cargo.toml. */
  edition: EditionSetting;
  /** Per-rule severity; `default` keeps the engine's severity, `off` disables the rule. */
  severity: Record<RuleName, SeveritySetting>;
  inlayHints: { enable: boolean };
  codeLens: { enable: boolean };
  decorations: { style: DecorationStyle };
  trace: { server: TraceSetting };
}

function defaultSeverities(): Record<RuleName, SeveritySetting> {
  const out = {} as Record<RuleName, SeveritySetting>;
  for (const rule of RULE_IDS) out[rule] = 'default';
  return out;
}

export const defaults: Readonly<LockLensSettings> = Object.freeze({
  enable: true,
  edition: 'auto',
  severity: Object.freeze(defaultSeverities()),
  inlayHints: Object.freeze({ enable: true }),
  codeLens: Object.freeze({ enable: true }),
  decorations: Object.freeze({ style: 'tint+gutter' }),
  trace: Object.freeze({ server: 'off' }),
}) as Readonly<LockLensSettings>;

/** The configuration section name. */
export const SECTION = 'locklens';

/**
 * `defaults` as the flat `locklens.*` keys of the package.json configuration schema.
 * `severity` is one object-valued setting (users may still write `locklens.severity.<rule>`).
 */
export function defaultsAsConfigurationEntries(): Record<string, unknown> {
  return {
    'locklens.enable': defaults.enable,
    'locklens.edition': defaults.edition,
    'locklens.severity': { ...defaults.severity },
    'locklens.inlayHints.enable': defaults.inlayHints.enable,
    'locklens.codeLens.enable': defaults.codeLens.enable,
    'locklens.decorations.style': defaults.decorations.style,
    'locklens.trace.server': defaults.trace.server,
    ...RUNTIME_DEFAULTS,
  };
}

/** Client-only settings of runtime tracing (client/src/runtime/): the server never reads them. */
export const RUNTIME_DEFAULTS = Object.freeze({
  'locklens.runtime.enable': true,
  'locklens.runtime.stallMs': 0,
  'locklens.runtime.decorations': true,
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

/** Reads `a.b.c` either nested (`{a:{b:{c}}}`) or flat (`{'a.b.c': ..}`, `{'a.b': {c}}`). */
function lookup(raw: Record<string, unknown>, dotted: string): unknown {
  if (dotted in raw) return raw[dotted];
  const parts = dotted.split('.');
  for (let i = 1; i < parts.length; i++) {
    const head = parts.slice(0, i).join('.');
    const child = raw[head];
    if (isRecord(child)) {
      const found = lookup(child, parts.slice(i).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * Turns whatever the client returned for the `locklens` section (possibly null, partial,
 * or with wrong types) into complete settings. Unknown or invalid values fall back to
 * `defaults`, so a typo in settings.json never disables the server.
 */
export function normalizeSettings(raw: unknown): LockLensSettings {
  const src = isRecord(raw) ? raw : {};
  const severity = defaultSeverities();
  for (const rule of RULE_IDS) {
    severity[rule] = pick(lookup(src, `severity.${rule}`), SEVERITY_SETTINGS, defaults.severity[rule]);
  }
  return {
    enable: bool(lookup(src, 'enable'), defaults.enable),
    edition: pick(lookup(src, 'edition'), EDITION_SETTINGS, defaults.edition),
    severity,
    inlayHints: { enable: bool(lookup(src, 'inlayHints.enable'), defaults.inlayHints.enable) },
    codeLens: { enable: bool(lookup(src, 'codeLens.enable'), defaults.codeLens.enable) },
    decorations: { style: pick(lookup(src, 'decorations.style'), DECORATION_STYLES, defaults.decorations.style) },
    trace: { server: pick(lookup(src, 'trace.server'), TRACE_SETTINGS, defaults.trace.server) },
  };
}

/** Severity overrides to hand to the engine: only the rules the user changed. */
export function severityOverrides(settings: LockLensSettings): Partial<Record<RuleName, Exclude<SeveritySetting, 'default'>>> {
  const out: Partial<Record<RuleName, Exclude<SeveritySetting, 'default'>>> = {};
  for (const rule of RULE_IDS) {
    const value = settings.severity[rule];
    if (value !== 'default') out[rule] = value;
  }
  return out;
}

export { isRuleName };
