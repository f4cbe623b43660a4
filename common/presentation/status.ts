// Status bar text for the LockLens server state.

import type { StatusParams } from '../protocol';

export interface StatusView {
  text: string;
  tooltip: string;
  /** `error` / `warning` background, or none. */
  emphasis?: 'error' | 'warning';
}

export function statusView(status: StatusParams | undefined, regionsVisible: boolean): StatusView {
  const regions = regionsVisible ? 'Guard regions shown' : 'Guard regions hidden';
  if (!status || status.state === 'starting') return { text: '$(loading~spin) LockLens', tooltip: 'LockLens: starting the language server' };
  switch (status.state) {
    case 'indexing': {
      const pct = status.filesTotal > 0 ? Math.floor((status.filesDone / status.filesTotal) * 100) : 0;
      return {
        text: `$(sync~spin) LockLens ${status.filesDone}/${status.filesTotal}`,
        tooltip: `LockLens: indexing the workspace, ${status.filesDone} of ${status.filesTotal} files (${pct}%)`,
      };
    }
    case 'error':
      return { text: '$(error) LockLens', tooltip: `LockLens: ${status.message ?? 'the server reported an error'}`, emphasis: 'error' };
    case 'disabled':
      return { text: '$(circle-slash) LockLens', tooltip: 'LockLens is disabled (locklens.enable)' };
    case 'ready':
    default: {
      const n = status.findings;
      const files = status.filesTotal === 1 ? '1 file' : `${status.filesTotal} files`;
      return {
        text: n === 0 ? '$(lock) LockLens' : `$(lock) LockLens: ${n}`,
        tooltip: `LockLens: ${n === 0 ? 'no findings' : `${n} finding${n === 1 ? '' : 's'}`} in ${files} · ${regions}${status.message ? `\n${status.message}` : ''}`,
        emphasis: undefined,
      };
    }
  }
}
