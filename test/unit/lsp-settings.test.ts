// Settings: `defaults` in common/settings.ts is the single source of truth; the package.json
// configuration schema must say the same, and any client input normalises to full settings.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaults, defaultsAsConfigurationEntries, normalizeSettings, SEVERITY_SETTINGS, severityOverrides } from '../../common/settings';
import { RULE_IDS } from '../../common/rules';
import { RULE_IDS as ENGINE_RULE_IDS } from '../../server/src/analysis/rules/catalog';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const properties: Record<string, { default: unknown; type: string; enum?: string[]; properties?: Record<string, { enum: string[]; default: unknown }> }> =
  pkg.contributes.configuration.properties;

describe('settings schema (package.json) and defaults (common/settings.ts)', () => {
  it('declares exactly the settings of `defaults`, with equal default values', () => {
    const expected = defaultsAsConfigurationEntries();
    assert.deepEqual(Object.keys(properties).sort(), Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(properties[key].default, value, key);
  });

  it('describes every setting and gives each rule severity its own enum and default', () => {
    for (const [key, p] of Object.entries(properties)) {
      assert.ok((p as { markdownDescription?: string }).markdownDescription, `${key} has a description`);
    }
    const severity = properties['locklens.severity'];
    assert.deepEqual(Object.keys(severity.properties!).sort(), [...RULE_IDS].sort());
    for (const rule of RULE_IDS) {
      assert.deepEqual(severity.properties![rule].enum, [...SEVERITY_SETTINGS]);
      assert.equal(severity.properties![rule].default, defaults.severity[rule]);
    }
  });

  it('covers every engine rule except parse-error, and each rule has a documentation page', () => {
    assert.deepEqual([...RULE_IDS].sort(), ENGINE_RULE_IDS.filter((r) => r !== 'parse-error').sort());
    for (const rule of RULE_IDS) {
      const page = fs.readFileSync(path.join(ROOT, 'docs', 'rules', `${rule}.md`), 'utf8');
      assert.match(page, new RegExp(`^# ${rule}\\n`), `${rule}.md has its title`);
      for (const section of ['## What it reports', '## How to fix it', '## Edition notes']) assert.ok(page.includes(section), `${rule}.md: ${section}`);
      assert.match(page, /```rust/, `${rule}.md has an example`);
    }
  });

  it('activates on Rust and Cargo workspaces, contributes the commands, supports untrusted workspaces', () => {
    assert.deepEqual(pkg.activationEvents, ['workspaceContains:**/Cargo.toml', 'onLanguage:rust']);
    const commands = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(commands, [
      'locklens.generateReport',
      'locklens.openTrace',
      'locklens.restartServer',
      'locklens.runWithTracing',
      'locklens.saveTrace',
      'locklens.showLockGraph',
      'locklens.showLockPanel',
      'locklens.toggleGuardRegions',
    ]);
    assert.ok(pkg.contributes.commands.every((c: { category: string }) => c.category === 'LockLens'));
    // Static analysis works untrusted; runtime tracing (which runs code) needs trust.
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['locklens.runtime.enable']);
    assert.equal(pkg.main, './out/client/src/extension.js');
  });
});

describe('normalizeSettings', () => {
  it('gives the defaults for missing or malformed input', () => {
    for (const raw of [undefined, null, 42, 'x', [], {}]) assert.deepEqual(normalizeSettings(raw), normalizeSettings({}));
    assert.deepEqual(normalizeSettings({}), JSON.parse(JSON.stringify(defaults)));
  });

  it('reads nested, flat and dotted forms, and ignores invalid values', () => {
    const s = normalizeSettings({
      enable: 'yes',
      edition: '2024',
      severity: { 'double-lock': 'hint', 'poison-unwrap': 'loud' },
      'severity.guard-tightening': 'off',
      'inlayHints.enable': false,
      codeLens: { enable: false },
      decorations: { style: 'gutter' },
    });
    assert.equal(s.enable, true);
    assert.equal(s.edition, '2024');
    assert.equal(s.severity['double-lock'], 'hint');
    assert.equal(s.severity['poison-unwrap'], 'default');
    assert.equal(s.severity['guard-tightening'], 'off');
    assert.equal(s.inlayHints.enable, false);
    assert.equal(s.codeLens.enable, false);
    assert.equal(s.decorations.style, 'gutter');
    assert.deepEqual(severityOverrides(s), { 'double-lock': 'hint', 'guard-tightening': 'off' });
  });
});
