// `try_lock` whose outcome decides what the program does (skip work, return early, take another
// path) makes behaviour depend on timing: spurious failures under contention. Using it only to
// count contention (metrics) is fine and not reported.

import type { Finding } from '../model';
import { field, type Node } from '../syntax';
import { describeRelease, lockLabel, makeFinding, type Rule, type RuleContext } from './context';

const METRIC_CALL = /\b(inc|incr|increment|dec|fetch_add|fetch_sub|record|observe|counter!|gauge!|histogram!|metrics?)\b/;

export const tryLockFlowControl: Rule = {
  id: 'try-lock-flow-control',
  defaultSeverity: 'information',
  check(ctx: RuleContext): Finding[] {
    const out: Finding[] = [];
    for (const a of ctx.fn.acquisitions) {
      if (!a.isTry) continue;
      const nodes = ctx.fn.nodes.get(a.id);
      if (!nodes) continue;
      const decision = decidingConstruct(nodes.call);
      if (!decision) continue;
      if (metricsOnly(decision.branches)) continue;
      out.push(
        makeFinding(
          'try-lock-flow-control',
          'information',
          ctx.file,
          a.callRange,
          `The outcome of \`${a.method}\` on ${lockLabel(a)} decides control flow here (${decision.kind}); when it succeeds the guard is ${describeRelease(a)}. Under contention it fails spuriously, so the program takes the other path at random; wait for the lock (\`lock()\`), or restructure so contention is not a decision. Using try_lock only to count contention is fine.`,
          { acquisitions: [a.id] },
        ),
      );
    }
    return out;
  },
};

function decidingConstruct(call: Node): { kind: string; branches: Node[] } | undefined {
  let child = call;
  for (let p = call.parent; p; child = p, p = p.parent) {
    switch (p.type) {
      case 'field_expression':
      case 'call_expression':
      case 'parenthesized_expression':
      case 'unary_expression':
      case 'try_expression':
        if (p.type === 'try_expression') return { kind: '`?` returns early when the lock is busy', branches: [] };
        continue;
      case 'let_condition':
        continue;
      case 'if_expression':
        if (field(p, 'condition')?.id !== child.id && child.type !== 'let_condition') return undefined;
        return { kind: 'an `if` on whether the lock was free', branches: [field(p, 'consequence'), field(p, 'alternative')].filter((x): x is Node => !!x) };
      case 'while_expression':
        return { kind: 'a loop on whether the lock was free', branches: [field(p, 'body')].filter((x): x is Node => !!x) };
      case 'match_expression': {
        const body = field(p, 'body');
        const arms = body ? body.namedChildren.filter((c): c is Node => !!c && c.type === 'match_arm').map((arm) => field(arm, 'value')).filter((x): x is Node => !!x) : [];
        return { kind: 'a `match` on whether the lock was free', branches: arms };
      }
      case 'let_declaration':
        if (field(p, 'alternative')) return { kind: '`let ... else` leaves when the lock is busy', branches: [field(p, 'alternative')!] };
        return undefined;
      case 'binary_expression':
        // `a && m.try_lock().is_ok()`: part of a condition; what decides is where the condition goes.
        if (/^(&&|\|\||==|!=)$/.test(p.childForFieldName('operator')?.text ?? '')) continue;
        return undefined;
      default:
        return undefined;
    }
  }
  return undefined;
}

function metricsOnly(branches: Node[]): boolean {
  if (branches.length === 0) return false;
  return branches.every((b) => {
    const text = b.text.replace(/^\{|\}$/g, '').trim();
    if (text === '' || text === '()') return true;
    return text.split(/[;\n]/).map((s) => s.trim()).filter(Boolean).every((s) => METRIC_CALL.test(s) && !/\breturn\b|\bbreak\b|\bcontinue\b/.test(s));
  });
}
