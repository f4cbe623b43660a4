#!/usr/bin/env node
// Renders resources/icon.svg to resources/icon.png (256x256, transparent corners), the
// Marketplace/Extensions-view icon, with Debian's Chromium through playwright-core.
//   node scripts/render-icon.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const svg = fs.readFileSync(path.join(ROOT, 'resources', 'icon.svg'), 'utf8');
const executablePath = [process.env.CHROMIUM, '/usr/bin/chromium'].find((p) => p && fs.existsSync(p));
if (!executablePath) {
  console.error('render-icon: no Chromium (apt-get install chromium, or set CHROMIUM)');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 256, height: 256 } });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
  const out = path.join(ROOT, 'resources', 'icon.png');
  await page.locator('svg').screenshot({ path: out, omitBackground: true });
  console.log(`render-icon: wrote ${path.relative(ROOT, out)} (${fs.statSync(out).size} bytes)`);
} finally {
  await browser.close();
}
