// Cross-function analysis entry (lock graph). Filled in by the lock-graph work (issue 3);
// until then there are no workspace-level findings.

import type { Finding } from '../analysis/model';
import type { CheckResult } from './check';

export function workspaceFindings(_result: CheckResult): Finding[] {
  return [];
}
