// `.lock().unwrap()` on a std lock panics when another thread panicked while holding it, and
// that panic poisons every std lock this thread holds in turn: one failure cascades.

import type { Acquisition, Finding, Fix } from '../model';
import { indentOfLine, lockLabel, makeFinding, type Rule, type RuleContext } from './context';

export const poisonUnwrap: Rule = {
  id: 'poison-unwrap',
  defaultSeverity: 'warning',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    for (const a of ctx.fn.acquisitions) {
      if (!a.unwrap || !a.lockType.poisons) continue;
      const call = a.unwrap.method === 'unwrap' ? '.unwrap()' : '.expect(..)';
      const f = makeFinding(
        'poison-unwrap',
        'warning',
        ctx.file,
        a.unwrap.range,
        // Short: a crate can have hundreds of these, and the rule page explains the rest.
        `\`${call}\` on ${lockLabel(a)} panics if a thread panicked while holding the lock, and that panic poisons every lock this thread holds. Recover with \`unwrap_or_else(|poisoned| poisoned.into_inner())\` or return an error.`,
        { acquisitions: [a.id] },
      );
      f.fixes.push(recoverFix(ctx, a));
      const propagate = propagateFix(ctx, a);
      if (propagate) f.fixes.push(propagate);
      out.push(f);
    }
    return out;
  },
};

function logMacro(ctx: RuleContext): string | undefined {
  const deps = ctx.options.dependencies ?? [];
  if (deps.includes('tracing')) return 'tracing::warn!';
  if (deps.includes('log')) return 'log::warn!';
  return undefined;
}

function recoverFix(ctx: RuleContext, a: Acquisition): Fix {
  const unwrap = a.unwrap!;
  const macro = logMacro(ctx);
  let newText: string;
  if (macro) {
    const indent = indentOfLine(ctx.text, unwrap.range.start.line);
    const inner = indent + '    ';
    newText =
      `.unwrap_or_else(|poisoned| {${ctx.eol}` +
      `${inner}${macro}("lock \`${a.lock}\` was poisoned, recovering");${ctx.eol}` +
      `${inner}poisoned.into_inner()${ctx.eol}` +
      `${indent}})`;
  } else {
    newText = '.unwrap_or_else(|poisoned| poisoned.into_inner())';
  }
  return {
    title: macro ? `Recover from poisoning and log it (\`${macro}\`)` : 'Recover from poisoning (`unwrap_or_else(|poisoned| poisoned.into_inner())`)',
    isPreferred: true,
    edits: [{ file: ctx.file, range: { start: a.callRange.end, end: unwrap.range.end }, newText }],
  };
}

/** `.map_err(..)?` when the enclosing function returns a `Result` whose error can be built from a message. */
function propagateFix(ctx: RuleContext, a: Acquisition): Fix | undefined {
  if (ctx.fn.nodes.get(a.id)?.closure) return undefined;
  const ret = ctx.fn.decl?.returnType?.replace(/\s+/g, ' ').trim();
  if (!ret) return undefined;
  const msg = `"lock \`${a.lock}\` was poisoned"`;
  let conv: string | undefined;
  if (/^(std::)?io::Result\b|^Result<.*,\s*(std::)?io::Error\s*>$/.test(ret)) conv = `std::io::Error::other(${msg})`;
  else if (/^anyhow::Result\b|^Result<.*,\s*anyhow::Error\s*>$/.test(ret)) conv = `anyhow::anyhow!(${msg})`;
  else if (/^Result<.*,\s*String\s*>$/.test(ret)) conv = `String::from(${msg})`;
  else if (/^Result<.*,\s*Box<\s*dyn\s+(std::error::)?Error\b.*>\s*>$/.test(ret)) conv = msg;
  if (!conv) return undefined;
  return {
    title: 'Return an error instead of panicking (`.map_err(..)?`)',
    isPreferred: false,
    edits: [{ file: ctx.file, range: { start: a.callRange.end, end: a.unwrap!.range.end }, newText: `.map_err(|_| ${conv})?` }],
  };
}
