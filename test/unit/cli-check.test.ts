// The `locklens` command line as a process: formats (text, JSON, SARIF 2.1.0), exit codes for
// every --fail-on, `regions`, workspaces, and bad input. Every test waits on process exit
// (bounded by a timeout), never on a timer.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI_FIXTURES, ROOT } from '../support/engine-harness';

const CLI = path.join(ROOT, 'bin', 'locklens.js');
const DEMO = path.join(ROOT, 'examples', 'demo-crate');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function locklens(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

interface JsonFinding {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  rule: string;
  severity: string;
  message: string;
  related: Array<{ file: string; line: number; column: number; message: string }>;
}

function parseJson(r: Run): { version: number; findings: JsonFinding[] } {
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    throw new Error(`stdout is not JSON (${(e as Error).message}):\n${r.stdout.slice(0, 500)}\nstderr: ${r.stderr}`);
  }
}

const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at .+\(.+:\d+:\d+\)|internal error/, `unexpected stack trace or internal error:\n${s}`);

const SEVERITIES = ['error', 'warning', 'information', 'hint'];
const RULES = ['scrutinee-guard', 'guard-across-await', 'double-lock', 'poison-unwrap', 'let-underscore-lock', 'blocking-under-lock', 'guard-tightening', 'mutation-during-iteration', 'try-lock-flow-control', 'lock-order-inversion', 'lock-hierarchy', 'parse-error'];

describe('locklens check on examples/demo-crate', { concurrency: 4 }, () => {
  let json: Run;
  let jsonRun: Run;
  before(async () => {
    json = await locklens(['check', DEMO, '--format', 'json']);
    jsonRun = json;
  });

  test('finds every seeded bug in the demo crate', () => {
    const { findings } = parseJson(json);
    const has = (rule: string, file?: string) => findings.some((f) => f.rule === rule && (file === undefined || f.file === file));
    assert.ok(has('scrutinee-guard', 'src/catalog.rs'), 'scrutinee-guard in catalog.rs');
    assert.ok(has('double-lock', 'src/heartbeat.rs'), 'double-lock in heartbeat.rs');
    // Seed 002: DashMap remove while iterating (and not in the collect-then-remove version).
    const dash = findings.filter((f) => f.rule === 'mutation-during-iteration');
    assert.deepEqual(dash.map((f) => `${f.file}:${f.line}`), ['src/replication.rs:14']);
    // Seed 003 (MIDAS) and 004 (Fly.io) through calls, and the declared hierarchy.
    assert.ok(has('lock-order-inversion', 'src/midas.rs'), 'lock-order-inversion in midas.rs');
    assert.ok(has('double-lock', 'src/catalog.rs'), 'Fly.io double-lock through init_for');
    assert.ok(has('lock-hierarchy', 'src/midas.rs'), 'lock-hierarchy in midas.rs');
    for (const rule of ['let-underscore-lock', 'poison-unwrap', 'guard-across-await', 'blocking-under-lock', 'try-lock-flow-control', 'guard-tightening']) {
      assert.ok(has(rule), `${rule} missing`);
    }
    assert.equal(json.code, 1, 'findings at or above warning: exit 1');
  });

  test('--timings reports every phase on stderr and leaves stdout alone', async () => {
    const plain = await locklens(['check', 'examples/demo-crate', '--format', 'json', '--fail-on', 'none']);
    const timed = await locklens(['check', 'examples/demo-crate', '--format', 'json', '--fail-on', 'none', '--timings']);
    assert.equal(timed.code, 0);
    assert.deepEqual(JSON.parse(timed.stdout), JSON.parse(plain.stdout));
    assert.match(timed.stderr, /^timings \(ms\): start \d+, read\+parse\+declare \d+, index \d+, analyze \d+, graph \d+; check total \d+, since process start \d+$/m);
  });

  test('--format json: version 1, 1-based positions that point at the code, related locations', () => {
    const out = parseJson(json);
    assert.equal(out.version, 1);
    assert.ok(Array.isArray(out.findings) && out.findings.length > 5);
    for (const f of out.findings) {
      for (const k of ['file', 'line', 'column', 'endLine', 'endColumn', 'rule', 'severity', 'message', 'related']) assert.ok(k in f, `finding without ${k}: ${JSON.stringify(f)}`);
      assert.equal(typeof f.file, 'string');
      assert.ok(!path.isAbsolute(f.file) && !f.file.includes('\\'), `file must be relative with /: ${f.file}`);
      for (const k of ['line', 'column', 'endLine', 'endColumn'] as const) assert.ok(Number.isInteger(f[k]) && f[k] >= 1, `${k} must be a 1-based integer: ${f[k]}`);
      assert.ok(f.endLine > f.line || (f.endLine === f.line && f.endColumn >= f.column));
      assert.ok(RULES.includes(f.rule), f.rule);
      assert.ok(SEVERITIES.includes(f.severity), f.severity);
      assert.ok(f.message.length > 20);
      assert.ok(Array.isArray(f.related));
      for (const r of f.related) {
        assert.equal(typeof r.file, 'string');
        assert.ok(Number.isInteger(r.line) && r.line >= 1 && Number.isInteger(r.column) && r.column >= 1);
        assert.equal(typeof r.message, 'string');
      }
    }
    // 1-based: the let-underscore-lock finding starts exactly at the receiver in the source.
    const lu = out.findings.find((f) => f.rule === 'let-underscore-lock')!;
    const src = fs.readFileSync(path.join(DEMO, lu.file), 'utf8').split('\n');
    assert.match(src[lu.line - 1].slice(lu.column - 1), /^self\.hits\.lock\(\)/);
    // sorted by file, then line
    const keys = out.findings.map((f) => [f.file, f.line] as const);
    for (let i = 1; i < keys.length; i++) assert.ok(keys[i - 1][0] < keys[i][0] || (keys[i - 1][0] === keys[i][0] && keys[i - 1][1] <= keys[i][1]), 'findings sorted');
  });

  test('--format text: rustc-style headers, --> locations, snippets and a summary', async () => {
    const r = await locklens(['check', DEMO]);
    assert.equal(r.code, 1);
    const lines = r.stdout.split('\n');
    const headers = lines.filter((l) => /^(error|warning|info|hint)\[[a-z-]+\]: /.test(l));
    assert.equal(headers.length, parseJson(json).findings.length);
    assert.ok(headers.some((l) => l.startsWith('warning[scrutinee-guard]: ')));
    assert.ok(headers.some((l) => l.startsWith('error[let-underscore-lock]: ')));
    assert.ok(headers.some((l) => l.startsWith('info[guard-tightening]: ')));
    lines.forEach((l, i) => {
      if (/^(error|warning|info|hint)\[/.test(l)) assert.match(lines[i + 1], /^\s*--> src\/[a-z]+\.rs:\d+:\d+$/, `no location after: ${l}`);
    });
    assert.match(r.stdout, /\n\d+ \| .*\n/, 'source snippet');
    assert.match(r.stdout, /locklens: \d+ errors?, \d+ warnings?(, \d+ notes?)? in 6 files \(\d+ lines\)\n$/);
    noStack(r.stderr);
  });

  test('--format sarif: a SARIF 2.1.0 log GitHub code scanning accepts', async () => {
    const r = await locklens(['check', DEMO, '--format', 'sarif']);
    assert.equal(r.code, 1);
    const log = JSON.parse(r.stdout);
    assert.equal(log.version, '2.1.0');
    assert.match(log.$schema, /sarif.*2\.1\.0.*\.json$/);
    assert.equal(log.runs.length, 1);
    const run = log.runs[0];
    const driver = run.tool.driver;
    assert.equal(driver.name, 'LockLens');
    assert.equal(typeof driver.version, 'string');
    assert.ok(Array.isArray(driver.rules) && driver.rules.length >= 11);
    const ids = new Set<string>();
    for (const rule of driver.rules) {
      assert.match(rule.id, /^[a-z-]+$/);
      assert.ok(!ids.has(rule.id), `duplicate rule ${rule.id}`);
      ids.add(rule.id);
      assert.equal(typeof rule.shortDescription?.text, 'string');
      assert.ok(rule.shortDescription.text.length > 0);
      assert.match(rule.helpUri, new RegExp(`^https://.*${rule.id}\\.md$`));
      assert.ok(['none', 'note', 'warning', 'error'].includes(rule.defaultConfiguration?.level), `${rule.id} level`);
    }
    for (const id of RULES.filter((x) => x !== 'parse-error')) assert.ok(ids.has(id), `rule ${id} missing from the driver`);
    const json = parseJson(jsonRun);
    assert.equal(run.results.length, json.findings.length);
    const loc = (l: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: { startLine: number; startColumn?: number; endLine?: number; endColumn?: number } } }) => {
      const uri = l.physicalLocation.artifactLocation.uri;
      assert.ok(!/^[a-z]+:/i.test(uri) && !uri.startsWith('/'), `uri must be relative: ${uri}`);
      assert.ok(!uri.includes('\\'));
      const reg = l.physicalLocation.region;
      assert.ok(Number.isInteger(reg.startLine) && reg.startLine >= 1);
      if (reg.startColumn !== undefined) assert.ok(reg.startColumn >= 1);
      if (reg.endLine !== undefined) assert.ok(reg.endLine >= reg.startLine);
      if (l.physicalLocation.artifactLocation.uriBaseId) assert.ok(run.originalUriBaseIds?.[l.physicalLocation.artifactLocation.uriBaseId], 'uriBaseId must be declared');
      return { uri, line: reg.startLine, column: reg.startColumn };
    };
    run.results.forEach((res: any, i: number) => {
      assert.equal(driver.rules[res.ruleIndex].id, res.ruleId, 'ruleIndex points at ruleId');
      assert.ok(['none', 'note', 'warning', 'error'].includes(res.level));
      assert.equal(typeof res.message.text, 'string');
      assert.equal(res.locations.length, 1);
      const at = loc(res.locations[0]);
      const f = json.findings[i];
      assert.deepEqual(at, { uri: f.file, line: f.line, column: f.column });
      assert.equal(res.ruleId, f.rule);
      assert.equal(res.level, { error: 'error', warning: 'warning', information: 'note', hint: 'note' }[f.severity]);
      assert.ok(Array.isArray(res.relatedLocations));
      assert.equal(res.relatedLocations.length, f.related.length);
      const ids = new Set<number>();
      for (const rl of res.relatedLocations) {
        loc(rl);
        assert.equal(typeof rl.message.text, 'string');
        assert.ok(Number.isInteger(rl.id) && !ids.has(rl.id));
        ids.add(rl.id);
      }
    });
    assert.ok(run.results.some((x: any) => x.relatedLocations.length > 0));
    const base = run.originalUriBaseIds?.['%SRCROOT%']?.uri;
    if (base) assert.match(base, /^file:\/\/.*\/$/, 'SRCROOT is a folder URI ending in /');
  });

  test('regions --format json and text', async () => {
    const [j, t] = await Promise.all([locklens(['regions', DEMO, '--format', 'json']), locklens(['regions', DEMO, '--format', 'text'])]);
    assert.equal(j.code, 0);
    const out = JSON.parse(j.stdout);
    assert.equal(out.version, 1);
    assert.ok(out.guards.length > 10);
    for (const g of out.guards) {
      for (const k of ['file', 'lock', 'mode', 'function', 'certainty', 'holder', 'acquire', 'releases']) assert.ok(k in g, `guard without ${k}`);
      assert.ok(['mutex', 'read', 'write', 'upgradable', 'reentrant'].includes(g.mode));
      for (const k of ['line', 'column', 'endLine', 'endColumn']) assert.ok(Number.isInteger(g.acquire[k]) && g.acquire[k] >= 1);
      assert.ok(g.releases.length >= 1, `${g.lock} at ${g.file}:${g.acquire.line} has no release`);
      for (const r of g.releases) {
        assert.ok(Number.isInteger(r.line) && r.line >= g.acquire.line && r.column >= 1);
        assert.equal(typeof r.kind, 'string');
        assert.equal(typeof r.reason, 'string');
      }
      if (g.holder === 'binding') assert.equal(typeof g.binding.name, 'string');
    }
    const catalog = out.guards.find((g: any) => g.file === 'src/catalog.rs' && g.scrutinee === 'if-let');
    assert.ok(catalog, 'the catalog if-let guard');
    assert.equal(t.code, 0);
    assert.match(t.stdout, /^src\/\w+\.rs:\d+:\d+: \S+ \((mutex|read|write)\) in \S+/m);
    assert.match(t.stdout, /^ {4}released at \d+:\d+ \[[a-z-]+\] /m);
  });
});

describe('exit codes for --fail-on', { concurrency: 4 }, () => {
  const cases: Array<[string, string, number]> = [];
  for (const [fixture, byLevel] of [
    // The demo has errors; info-only has one information finding; bad-manifest one warning.
    [DEMO, { error: 1, none: 0 }],
    [path.join(CLI_FIXTURES, 'info-only'), { error: 0, warning: 0, information: 1, hint: 1, none: 0 }],
    [path.join(CLI_FIXTURES, 'clean'), { hint: 0 }],
    [path.join(CLI_FIXTURES, 'bad-manifest'), { error: 0, warning: 1 }],
  ] as const) {
    for (const [level, code] of Object.entries(byLevel)) cases.push([fixture, level, code]);
  }
  for (const [fixture, level, code] of cases) {
    test(`${path.basename(fixture)} --fail-on ${level} -> ${code}`, async () => {
      const r = await locklens(['check', fixture, '--fail-on', level, '--format', 'json']);
      assert.equal(r.code, code, r.stderr);
      parseJson(r);
    });
  }
  test('default --fail-on is warning', async () => {
    const [info, demo] = await Promise.all([locklens(['check', path.join(CLI_FIXTURES, 'info-only')]), locklens(['check', DEMO, '--format', 'json'])]);
    assert.equal(info.code, 0);
    assert.equal(demo.code, 1);
  });
});

describe('workspaces and manifests', { concurrency: 4 }, () => {
  const WS = path.join(CLI_FIXTURES, 'workspace');

  test('members globs + exclude + edition.workspace = true', async () => {
    const r = await locklens(['check', WS, '--format', 'json', '--fail-on', 'none']);
    assert.equal(r.code, 0, r.stderr);
    const { findings } = parseJson(r);
    const files = new Set(findings.map((f) => f.file));
    assert.ok(!([...files].some((f) => f.includes('skipped'))), 'excluded crate is not checked');
    assert.ok(files.has('tools/gamma/src/main.rs'), 'explicit member checked');
    // alpha inherits edition 2024: no deadlock in the else arm; beta (2021) deadlocks.
    assert.ok(!findings.some((f) => f.file.startsWith('crates/alpha/') && f.rule === 'double-lock'));
    const beta = findings.find((f) => f.file === 'crates/beta/src/lib.rs' && f.rule === 'double-lock');
    assert.ok(beta, 'beta double-lock');
    assert.equal(beta.line, 8);
    // In 2024 the then-block only copies a value out: at most a scrutinee note that says 2024.
    for (const f of findings.filter((x) => x.file === 'crates/alpha/src/lib.rs' && x.rule === 'scrutinee-guard')) assert.match(f.message, /Edition 2024 rules apply/);
    const betaScrutinee = findings.find((f) => f.file === 'crates/beta/src/lib.rs' && f.rule === 'scrutinee-guard');
    assert.ok(betaScrutinee, 'beta (2021) keeps the read guard into the else arm');
    assert.match(betaScrutinee.message, /`else` arm/);
    assert.doesNotMatch(r.stderr, /error/);
  });

  test('Cargo.toml dependencies pick the poison-unwrap fix: log::warn! when the crate depends on log', async () => {
    const r = await locklens(['check', path.join(CLI_FIXTURES, 'with-log'), '--format', 'json']);
    const f = (JSON.parse(r.stdout).findings as Array<JsonFinding & { fixes: Array<{ title: string; preferred: boolean; edits: Array<{ newText: string; line: number; column: number }> }> }>).find((x) => x.rule === 'poison-unwrap')!;
    assert.ok(f, r.stdout);
    assert.equal(f.fixes[0].preferred, true);
    assert.match(f.fixes[0].title, /log::warn!/);
    assert.match(f.fixes[0].edits[0].newText, /^\.unwrap_or_else\(\|poisoned\| \{\n\s+log::warn!\("lock `len::m` was poisoned, recovering"\);\n\s+poisoned\.into_inner\(\)\n\s+\}\)$/);
    assert.deepEqual([f.fixes[0].edits[0].line, f.fixes[0].edits[0].column], [4, 21]);
  });

  test('--edition overrides Cargo.toml', async () => {
    const r = await locklens(['check', path.join(WS, 'crates', 'beta'), '--edition', '2024', '--format', 'json', '--fail-on', 'none']);
    assert.equal(r.code, 0);
    assert.ok(!parseJson(r).findings.some((f) => f.rule === 'double-lock'));
  });

  test('a Cargo.toml that does not parse: one message with the file and line, other crates still checked', async () => {
    const r = await locklens(['check', path.join(CLI_FIXTURES, 'bad-manifest'), '--format', 'json']);
    const errs = r.stderr.split('\n').filter((l) => l.includes('Cargo.toml'));
    assert.equal(errs.length, 1, r.stderr);
    assert.match(errs[0], /bad[\\/]Cargo\.toml:\d+(:\d+)?: invalid Cargo\.toml/);
    noStack(r.stderr);
    const { findings } = parseJson(r);
    assert.ok(findings.some((f) => f.file === 'good/src/lib.rs' && f.rule === 'poison-unwrap'), 'the good crate is checked');
    assert.equal(r.code, 1);
  });
});

describe('bad input', { concurrency: 4 }, () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-cli-'));
    const mk = (rel: string, data: string | Buffer) => {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), data);
    };
    mk('broken/lib.rs', 'use std::sync::Mutex;\npub fn f(m: &Mutex<u32>) -> u32 {\n    let g = m.lock().unwrap();\n    let x = ;\n    *g\n}\nfn (( {\n');
    mk('broken/good.rs', 'use std::sync::Mutex;\npub fn h(m: &Mutex<u32>) {\n    let _ = m.lock();\n}\n');
    mk('mixed/ok.rs', 'use std::sync::Mutex;\npub fn f(m: &Mutex<u32>) -> u32 {\n    *m.lock().unwrap()\n}\n');
    mk('mixed/latin1.rs', Buffer.from([0x66, 0x6e, 0x20, 0x66, 0x28, 0x29, 0x20, 0x7b, 0x20, 0x22, 0xe9, 0xff, 0x22, 0x3b, 0x20, 0x7d, 0x0a]));
    mk('mixed/blob.rs', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0x02, 0x00, 0xff]));
    const line = (i: number) => `pub fn filler_${i}_${'x'.repeat(40)}() {}\n`;
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < 10 * 1024 * 1024; i++) {
      const l = line(i);
      parts.push(l);
      size += l.length;
    }
    mk('mixed/huge.rs', parts.join(''));
    fs.mkdirSync(path.join(tmp, 'empty'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('a file that does not parse is still analysed, with one note about syntax errors', async () => {
    const r = await locklens(['check', path.join(tmp, 'broken'), '--format', 'json']);
    const notes = r.stderr.split('\n').filter((l) => l.startsWith('note:'));
    assert.equal(notes.length, 1, r.stderr);
    assert.match(notes[0], /^note: lib\.rs:\d+:\d+: .*syntax error/);
    noStack(r.stderr);
    const { findings } = parseJson(r);
    assert.ok(findings.some((f) => f.file === 'lib.rs' && f.rule === 'poison-unwrap' && f.line === 3), 'the broken file still has its findings');
    assert.ok(findings.some((f) => f.file === 'good.rs' && f.rule === 'let-underscore-lock'));
    assert.equal(r.code, 1);
  });

  test('non-UTF-8, binary and 10 MB files: one clear line each, the rest is checked, no hang', async () => {
    const started = Date.now();
    const r = await locklens(['check', path.join(tmp, 'mixed'), '--format', 'json'], 30_000);
    assert.notEqual(r.code, null, 'the process finished before the timeout');
    const lines = r.stderr.trim().split('\n');
    const about = (name: string) => lines.filter((l) => l.includes(name));
    assert.equal(about('latin1.rs').length, 1, r.stderr);
    assert.match(about('latin1.rs')[0], /UTF-8/);
    assert.equal(about('blob.rs').length, 1);
    assert.match(about('blob.rs')[0], /binary/);
    assert.equal(about('huge.rs').length, 1);
    assert.match(about('huge.rs')[0], /MB.*limit.*--max-file-size/);
    noStack(r.stderr);
    const { findings } = parseJson(r);
    assert.deepEqual(findings.map((f) => `${f.file} ${f.rule}`), ['ok.rs poison-unwrap']);
    assert.equal(r.code, 1);
    assert.ok(Date.now() - started < 30_000);
  });

  test('--max-file-size: a smaller limit skips ok.rs too; a bad value is a usage error', async () => {
    const [small, bad] = await Promise.all([
      locklens(['check', path.join(tmp, 'mixed', 'ok.rs'), '--max-file-size', '10', '--format', 'json']),
      locklens(['check', path.join(tmp, 'mixed', 'ok.rs'), '--max-file-size', 'lots']),
    ]);
    assert.match(small.stderr, /ok\.rs: skipped/);
    assert.deepEqual(parseJson(small).findings, []);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-file-size/);
  });

  test('an empty directory: exit 2 with one clear message', async () => {
    const r = await locklens(['check', path.join(tmp, 'empty')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no Rust files/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    noStack(r.stderr);
  });

  test('a missing path: exit 2', async () => {
    const r = await locklens(['check', path.join(tmp, 'does-not-exist'), '--format', 'json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no such file or directory/);
    noStack(r.stderr);
  });

  test('a path that is not Rust: exit 2', async () => {
    const r = await locklens(['check', path.join(CLI_FIXTURES, 'workspace', 'Cargo.toml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a Rust source file/);
  });

  test('usage errors: unknown flag, invalid --edition, bad --format/--fail-on, missing PATH, unknown command', async () => {
    const file = path.join(CLI_FIXTURES, 'clean', 'lib.rs');
    const runs = await Promise.all([
      locklens(['check', file, '--bogus']),
      locklens(['check', file, '--edition', '2019']),
      locklens(['check', file, '--format', 'xml']),
      locklens(['check', file, '--fail-on', 'sometimes']),
      locklens(['check']),
      locklens(['regions', file, '--format', 'sarif']),
      locklens(['frobnicate']),
      locklens(['check', file, '--edition']),
    ]);
    const expect = [/unknown option --bogus/, /--edition must be one of 2015, 2018, 2021, 2024/, /--format must be one of/, /--fail-on must be one of/, /missing PATH/, /--format must be one of text, json/, /unknown command/, /--edition needs a value/];
    runs.forEach((r, i) => {
      assert.equal(r.code, 2, `case ${i}: ${r.stderr}`);
      assert.match(r.stderr, expect[i]);
      assert.match(r.stderr, /Usage:/, 'usage is printed');
      assert.equal(r.stdout, '');
      noStack(r.stderr);
    });
  });

  test('several PATHs: every reported file resolves against SRCROOT', async () => {
    const r = await locklens(['check', DEMO, path.join(CLI_FIXTURES, 'info-only'), '--format', 'sarif', '--fail-on', 'none']);
    const run0 = JSON.parse(r.stdout).runs[0];
    const base = new URL(run0.originalUriBaseIds['%SRCROOT%'].uri);
    for (const res of run0.results) {
      const uri = res.locations[0].physicalLocation.artifactLocation.uri;
      assert.ok(fs.existsSync(new URL(uri, base)), `${uri} does not exist under ${base.href}`);
    }
  });

  test('help and version exit 0', async () => {
    const [help, version] = await Promise.all([locklens(['--help']), locklens(['--version'])]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage:/);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^locklens \d+\.\d+\.\d+\n$/);
  });
});

describe('worker threads', () => {
  test('--threads 3 on a 60-file crate gives exactly what one thread gives', async () => {
    // Enough files for the parallel path (it starts at 48); locks, calls and a cycle across files.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-threads-'));
    try {
      fs.mkdirSync(path.join(dir, 'src'));
      fs.writeFileSync(path.join(dir, 'Cargo.toml'), '[package]\nname = "many"\nversion = "0.1.0"\nedition = "2021"\n');
      const mods: string[] = [];
      for (let i = 0; i < 60; i++) {
        const next = (i + 1) % 60;
        mods.push(`pub mod m${i};`);
        fs.writeFileSync(
          path.join(dir, 'src', `m${i}.rs`),
          [
            'use std::sync::Mutex;',
            `pub static L${i}: Mutex<u32> = Mutex::new(0);`,
            `pub fn take${i}() -> u32 {`,
            `    let g = L${i}.lock().unwrap();`,
            i % 10 === 0 ? `    let n = crate::m${next}::take${next}();` : '    let n = 0;',
            '    *g + n',
            '}',
            `pub fn poll${i}() -> bool {`,
            `    if let Ok(g) = L${i}.try_lock() { *g > 0 } else { false }`,
            '}',
            '',
          ].join('\n'),
        );
      }
      // m59 calls back into m0 while holding its own lock: a cycle through the files in between.
      fs.appendFileSync(path.join(dir, 'src', 'm59.rs'), 'pub fn back() {\n    let _g = L59.lock().unwrap();\n    crate::m0::take0();\n}\n');
      fs.writeFileSync(path.join(dir, 'src', 'lib.rs'), mods.join('\n') + '\n');
      const [one, three] = await Promise.all([
        locklens(['check', dir, '--format', 'json', '--fail-on', 'none', '--threads', '1']),
        locklens(['check', dir, '--format', 'json', '--fail-on', 'none', '--threads', '3']),
      ]);
      assert.equal(three.code, 0, three.stderr);
      noStack(three.stderr);
      const a = parseJson(one);
      assert.ok(a.findings.some((f) => f.rule === 'try-lock-flow-control') && a.findings.some((f) => f.rule === 'poison-unwrap'));
      assert.deepEqual(parseJson(three), a);
      const [r1, r3] = await Promise.all([
        locklens(['regions', dir, '--format', 'json', '--threads', '1']),
        locklens(['regions', dir, '--format', 'json', '--threads', '3']),
      ]);
      assert.equal(r3.stdout, r1.stdout);
      assert.ok(JSON.parse(r1.stdout).guards.length >= 120);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('output into a pipe the reader closes early (`| head`) ends quietly with the command\'s own status', async (t) => {
  const { spawn } = await import('node:child_process');
  // More output than a pipe holds (64 KiB), so the writer is still writing when the pipe closes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-pipe-'));
  const fns = Array.from({ length: 600 }, (_, i) => `pub fn f${i}(m: &Mutex<u32>) -> u32 { let g = m.lock().unwrap(); *g + ${i} }`);
  fs.writeFileSync(path.join(dir, 'lib.rs'), `use std::sync::Mutex;\n${fns.join('\n')}\n`);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [CLI, 'regions', path.join(dir, 'lib.rs'), '--format', 'json'], { cwd: ROOT });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Read one chunk, then close the pipe, as `head -c` does.
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  noStack(stderr);
  assert.equal(stderr, '');
  assert.equal(code, 0);
});
