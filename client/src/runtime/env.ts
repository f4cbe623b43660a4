// Injecting the runtime hook's settings into a launch configuration (pure: no vscode).
//
// Debug adapters spell the environment differently:
//   CodeLLDB (`lldb`)                          env: { NAME: value }
//   cppdbg / cppvsdbg (Microsoft C/C++)        environment: [{ name, value }]
//   everything else (node, pwa-node, python, go, ...)  env: { NAME: value }
// A value the user already set for one of our variables is replaced: the token must be the
// session's, or the listener refuses the hook.

export const ENDPOINT_VAR = 'LOCKLENS_ENDPOINT';
export const TOKEN_VAR = 'LOCKLENS_TOKEN';

export interface TracingEnv {
  endpoint: string;
  token: string;
  /** Extra variables (LOCKLENS_STALL_MS, ...), set only when the configuration does not set them. */
  defaults?: Record<string, string>;
}

/** How a debug type takes its environment. */
export function envShape(type: string | undefined): 'array' | 'object' {
  return type === 'cppdbg' || type === 'cppvsdbg' ? 'array' : 'object';
}

/**
 * Whether a debug configuration gets a listener: never in an untrusted workspace (its code must
 * not get a channel into the editor, and tracing is for running code), never when the user
 * turned it off, and only for launches.
 */
export function shouldTrace(trusted: boolean, enabled: boolean, config: { type?: unknown; request?: unknown; [k: string]: unknown }): boolean {
  return trusted === true && enabled && wantsTracing(config);
}

/** Only launches get the variables: attach sessions and child sessions (js-debug's `__pendingTargetId`) run no new program. */
export function wantsTracing(config: { type?: unknown; request?: unknown; [k: string]: unknown }): boolean {
  if (config.request !== 'launch') return false;
  if ('__pendingTargetId' in config || 'locklensTracing' in config) return false;
  return true;
}

/** A copy of `config` with the hook's variables in its environment. */
export function injectTracingEnv<T extends { type?: unknown; [k: string]: unknown }>(config: T, env: TracingEnv): T {
  const ours: Record<string, string> = { [ENDPOINT_VAR]: env.endpoint, [TOKEN_VAR]: env.token };
  const out: Record<string, unknown> = { ...config };
  if (envShape(typeof config.type === 'string' ? config.type : undefined) === 'array') {
    const list = Array.isArray(config.environment) ? (config.environment as unknown[]) : [];
    const kept = list.filter((e): e is { name: string; value: string } => {
      if (typeof e !== 'object' || e === null) return false;
      const name = (e as { name?: unknown }).name;
      return typeof name === 'string' && !(name in ours);
    });
    const names = new Set(kept.map((e) => e.name));
    const extra = Object.entries(env.defaults ?? {}).filter(([k]) => !names.has(k) && !(k in ours));
    out.environment = [...kept, ...Object.entries(ours).map(([name, value]) => ({ name, value })), ...extra.map(([name, value]) => ({ name, value }))];
  } else {
    const prev = typeof config.env === 'object' && config.env !== null && !Array.isArray(config.env) ? (config.env as Record<string, unknown>) : {};
    const next: Record<string, unknown> = { ...prev };
    for (const [k, v] of Object.entries(env.defaults ?? {})) if (!(k in next)) next[k] = v;
    Object.assign(next, ours);
    out.env = next;
  }
  return out as T;
}

/** Environment for a terminal / task run (`cargo run` with tracing). */
export function tracingProcessEnv(env: TracingEnv): Record<string, string> {
  return { ...(env.defaults ?? {}), [ENDPOINT_VAR]: env.endpoint, [TOKEN_VAR]: env.token };
}
