// Builds the workspace lock graph from a check result: all crates together, so cycles across
// crates are found, with the declared hierarchy and suppressions applied.

import { LockGraphEngine, type LockGraph } from '../analysis/graph';
import type { Finding } from '../analysis/model';
import { applySuppressions } from '../analysis/suppress';
import * as path from 'path';
import type { CheckResult } from './check';

/** `engine`: pass the one used for this workspace before to update its graph instead of building it anew. */
export function workspaceGraph(result: CheckResult, engine: LockGraphEngine = new LockGraphEngine({ once: true })): LockGraph {
  const files = result.crates.flatMap((c) => {
    const byFile = new Map(c.declarations.map((d) => [d.file, d]));
    return c.files.map((analysis) => ({
      crate: c.crate.name,
      analysis,
      declarations: byFile.get(analysis.file),
    }));
  });
  const withOrder = result.crates.find((c) => c.crate.config.order.length > 0);
  return engine.update({
    files,
    order: withOrder?.crate.config.order,
    orderSource: withOrder?.crate.config.source?.replace(/^(\/[^ ]*)/, (p) => path.relative(result.base, p).split(path.sep).join('/') || p),
    reentrant: [...new Set(result.crates.flatMap((c) => c.crate.config.reentrant))],
    severities: result.crates[0]?.crate.config.severities,
  });
}

/** Cross-function findings (lock order, double locks through calls, hierarchy), suppressions applied. */
export function workspaceFindings(result: CheckResult, graph: LockGraph = workspaceGraph(result)): Finding[] {
  const byFile = new Map<string, Finding[]>();
  for (const f of graph.findings) {
    const list = byFile.get(f.file);
    if (list) list.push(f);
    else byFile.set(f.file, [f]);
  }
  const out: Finding[] = [];
  for (const [file, list] of byFile) {
    const text = result.crates.map((c) => c.texts.get(file)).find((t) => t !== undefined);
    out.push(...(text === undefined ? list : applySuppressions(list, text)));
  }
  return out;
}

/**
 * Warnings for functions whose calls could not be read while the graph was built (a one-shot
 * check finds calls only then; see FunctionSummary.callsError). Their calls are left out.
 */
export function unreadCallWarnings(result: CheckResult): string[] {
  const out: string[] = [];
  for (const c of result.crates) {
    for (const f of c.files) {
      for (const fn of f.functions) {
        if (fn.callsError === undefined) continue;
        out.push(`warning: ${f.file}:${fn.nameRange.start.line + 1}: calls of ${fn.qualifiedName} left out of the lock graph: internal error (${fn.callsError}); please report it with the file`);
      }
    }
  }
  return out;
}
