import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envShape, injectTracingEnv, shouldTrace, tracingProcessEnv, wantsTracing } from '../../client/src/runtime/env';

const env = { endpoint: 'tcp://127.0.0.1:40123', token: 'abc123', defaults: { LOCKLENS_STALL_MS: '250' } };

describe('runtime env injection', () => {
  it('CodeLLDB: env object, existing variables kept, ours replace stale ones', () => {
    const cfg = { type: 'lldb', request: 'launch', name: 'x', program: 'target/debug/x', env: { RUST_BACKTRACE: '1', LOCKLENS_TOKEN: 'stale', LOCKLENS_STALL_MS: '900' } };
    const out = injectTracingEnv(cfg, env);
    assert.deepEqual(out.env, { RUST_BACKTRACE: '1', LOCKLENS_TOKEN: 'abc123', LOCKLENS_STALL_MS: '900', LOCKLENS_ENDPOINT: 'tcp://127.0.0.1:40123' });
    assert.equal(out.program, 'target/debug/x');
    assert.deepEqual(cfg.env.LOCKLENS_TOKEN, 'stale', 'the input is not mutated');
    assert.equal('environment' in out, false);
  });

  it('cppdbg / cppvsdbg: environment array of {name, value}', () => {
    const cfg = { type: 'cppdbg', request: 'launch', environment: [{ name: 'A', value: '1' }, { name: 'LOCKLENS_ENDPOINT', value: 'tcp://10.0.0.1:1' }, 'junk'] };
    const out = injectTracingEnv(cfg, env) as typeof cfg & { environment: Array<{ name: string; value: string }> };
    assert.deepEqual(out.environment, [
      { name: 'A', value: '1' },
      { name: 'LOCKLENS_ENDPOINT', value: 'tcp://127.0.0.1:40123' },
      { name: 'LOCKLENS_TOKEN', value: 'abc123' },
      { name: 'LOCKLENS_STALL_MS', value: '250' },
    ]);
    assert.equal('env' in out, false);
    const vs = injectTracingEnv({ type: 'cppvsdbg', request: 'launch' }, env) as unknown as { environment: unknown[] };
    assert.equal(vs.environment.length, 3);
    assert.equal(envShape('cppvsdbg'), 'array');
  });

  it('node and everything else: env object, created when missing', () => {
    const out = injectTracingEnv({ type: 'node', request: 'launch', program: 'run.js' }, env) as unknown as { env: Record<string, string> };
    assert.deepEqual(out.env, { LOCKLENS_STALL_MS: '250', LOCKLENS_ENDPOINT: 'tcp://127.0.0.1:40123', LOCKLENS_TOKEN: 'abc123' });
    const weird = injectTracingEnv({ type: 'python', request: 'launch', env: ['not', 'an', 'object'] }, env) as unknown as { env: Record<string, string> };
    assert.equal(weird.env.LOCKLENS_TOKEN, 'abc123');
    assert.equal(envShape('pwa-node'), 'object');
    assert.equal(envShape(undefined), 'object');
  });

  it('only launches get tracing (not attach, not js-debug child sessions, not twice)', () => {
    assert.equal(wantsTracing({ type: 'lldb', request: 'launch' }), true);
    assert.equal(wantsTracing({ type: 'lldb', request: 'attach' }), false);
    assert.equal(wantsTracing({ type: 'pwa-node', request: 'launch', __pendingTargetId: 'x' }), false);
    assert.equal(wantsTracing({ type: 'node', request: 'launch', locklensTracing: 'id' }), false);
  });

  it('nothing in an untrusted workspace or when turned off', () => {
    const launch = { type: 'lldb', request: 'launch' };
    assert.equal(shouldTrace(true, true, launch), true);
    assert.equal(shouldTrace(false, true, launch), false);
    assert.equal(shouldTrace(true, false, launch), false);
    assert.equal(shouldTrace(true, true, { type: 'lldb', request: 'attach' }), false);
  });

  it('task environment', () => {
    assert.deepEqual(tracingProcessEnv({ endpoint: 'tcp://127.0.0.1:1', token: 't' }), { LOCKLENS_ENDPOINT: 'tcp://127.0.0.1:1', LOCKLENS_TOKEN: 't' });
  });
});
