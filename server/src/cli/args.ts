// A small, strict argument parser: unknown flags and bad values are usage errors (exit 2).

import { EDITIONS, type Edition } from '../analysis/model';

export class UsageError extends Error {}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
  /** Everything after `--`. */
  rest: string[];
}

/** `spec` maps a flag name to whether it takes a value. */
export function parseArgs(argv: string[], spec: Record<string, boolean>): ParsedArgs {
  const out: ParsedArgs = { positionals: [], flags: new Map(), rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.rest = argv.slice(i + 1);
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      if (!(name in spec)) throw new UsageError(`unknown option --${name}`);
      if (spec[name]) {
        const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
        out.flags.set(name, value);
      } else {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        out.flags.set(name, true);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) throw new UsageError(`unknown option ${a}`);
    out.positionals.push(a);
  }
  return out;
}

export function oneOf<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[], fallback: T): T {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got ${String(v)})`);
  }
  return v as T;
}

export function editionFlag(args: ParsedArgs): Edition | undefined {
  const v = args.flags.get('edition');
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(EDITIONS as readonly string[]).includes(v)) {
    throw new UsageError(`--edition must be one of ${EDITIONS.join(', ')}`);
  }
  return v as Edition;
}

export function sizeFlag(args: ParsedArgs, name: string): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*(k|kb|m|mb)?$/i.exec(v) : null;
  if (!m) throw new UsageError(`--${name} must be a size like 4MB or 512KB`);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit.startsWith('m') ? 1048576 : unit.startsWith('k') ? 1024 : 1;
  return Math.round(parseFloat(m[1]) * mult);
}
