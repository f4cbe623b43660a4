// `locklens report` and `locklens graph`: built on the workspace lock graph.

import { UsageError } from './args';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

export async function reportCommand(_argv: string[], _out: Out): Promise<number> {
  throw new UsageError('report is not available yet');
}

export async function graphCommand(_argv: string[], _out: Out): Promise<number> {
  throw new UsageError('graph is not available yet');
}
