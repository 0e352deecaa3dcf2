// Drives headless chromium for the dashboard's end-to-end tests, one JSON command a line on
// stdin, one JSON answer a line on stdout ({id, ok, value} or {id, ok: false, error}).
// Each context is a browser profile of its own (its own cookies: one person) with one page.
// Usage: node driver.mjs   (CHROMIUM=/path overrides /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const args = process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args,
});
const contexts = new Map();
let next = 1;

async function page(c) {
  const p = contexts.get(c);
  if (!p) throw new Error(`no context ${c}`);
  return p;
}

const ops = {
  async newContext() {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const p = await context.newPage();
    p.console = [];
    p.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') p.console.push(m.text()); });
    p.on('pageerror', (e) => p.console.push(`pageerror: ${e.message}`));
    const id = next++;
    contexts.set(id, p);
    return id;
  },
  async goto({ ctx, url }) { const p = await page(ctx); await p.goto(url); return p.url(); },
  async click({ ctx, selector, timeout }) { const p = await page(ctx); await p.click(selector, { timeout: timeout || 15000 }); return null; },
  async fill({ ctx, selector, value }) { const p = await page(ctx); await p.fill(selector, value, { timeout: 15000 }); return null; },
  async text({ ctx, selector, timeout }) {
    const p = await page(ctx);
    const el = await p.waitForSelector(selector, { timeout: timeout || 15000 });
    return await el.textContent();
  },
  async waitText({ ctx, selector, contains, timeout }) {
    const p = await page(ctx);
    await p.waitForFunction(([s, t]) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(t)),
      [selector, contains], { timeout: timeout || 15000 });
    return await p.textContent(selector);
  },
  async count({ ctx, selector }) { const p = await page(ctx); return await p.locator(selector).count(); },
  async texts({ ctx, selector }) { const p = await page(ctx); return await p.locator(selector).allTextContents(); },
  async value({ ctx, selector }) { const p = await page(ctx); return await p.inputValue(selector); },
  async url({ ctx }) { const p = await page(ctx); return p.url(); },
  async screenshot({ ctx, path }) { const p = await page(ctx); await p.screenshot({ path, fullPage: true }); return path; },
  async evaluate({ ctx, expression }) { const p = await page(ctx); return await p.evaluate(expression); },
  async cookies({ ctx }) { const p = await page(ctx); return await p.context().cookies(); },
  async console({ ctx }) { const p = await page(ctx); return p.console; },
  async waitUrl({ ctx, contains, timeout }) {
    const p = await page(ctx);
    await p.waitForURL((u) => u.toString().includes(contains), { timeout: timeout || 15000 });
    return p.url();
  },
  async close({ ctx }) { const p = await page(ctx); await p.context().close(); contexts.delete(ctx); return null; },
};

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let cmd;
  try { cmd = JSON.parse(line); } catch (e) { process.stdout.write(JSON.stringify({ ok: false, error: `bad command: ${e}` }) + '\n'); continue; }
  try {
    const f = ops[cmd.op];
    if (!f) throw new Error(`unknown op ${cmd.op}`);
    const value = await f(cmd);
    process.stdout.write(JSON.stringify({ id: cmd.id, ok: true, value: value === undefined ? null : value }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: cmd.id, ok: false, error: String(e && e.message || e) }) + '\n');
  }
}
await browser.close();
