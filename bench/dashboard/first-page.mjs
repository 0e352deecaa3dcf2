// bench/run's dashboard section: loads the dashboard's first list page in headless chromium
// (Debian's, driven by playwright-core) and reports the time from navigation start to the first
// table row, as one JSON line of bench/run's results (kind dashboard_first_page).
//
// Usage: node first-page.mjs --launch URL --page URL --loads N --objects N
//   --launch  the desktop-mode launch link `kubeward dashboard` printed (signs the browser in once)
//   --page    the page to load, e.g. https://127.0.0.1:PORT/#/list/NS/core/v1/configmaps
//   --loads   timed loads (one untimed warm-up load comes first)
//   --objects how many objects the server holds (reported, not checked)
// Each load is a new tab of the signed-in browser profile (its session cookie kept, its HTTP
// cache too, as a person reopening the page); the time is performance.now() in the page when
// a MutationObserver first sees a `#list tr[data-name]` row, so it counts the document, the
// script, the dashboard's calls to the API server and the rendering, and no driver round trip.
import { chromium } from 'playwright-core';

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0 || i + 1 >= process.argv.length) {
    if (fallback !== undefined) return fallback;
    console.error(`first-page.mjs: --${name} is required`);
    process.exit(2);
  }
  return process.argv[i + 1];
}

const launch = arg('launch');
const target = arg('page');
const loads = Math.max(1, parseInt(arg('loads', '20'), 10));
const objects = parseInt(arg('objects', '0'), 10);

const args = process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => {
    const seen = () => {
      if (window.__firstRow === undefined && document.querySelector('#list tr[data-name]')) {
        window.__firstRow = performance.now();
        window.__rows = document.querySelectorAll('#list tr[data-name]').length;
      }
    };
    new MutationObserver(seen).observe(document, { childList: true, subtree: true });
  });
  const signin = await context.newPage();
  await signin.goto(launch);
  await signin.waitForSelector('#whoami-user', { timeout: 30000 });
  await signin.close();

  const times = [];
  let rows = 0;
  for (let i = 0; i <= loads; i++) {
    const p = await context.newPage();
    await p.goto(target);
    await p.waitForFunction(() => window.__firstRow !== undefined, null, { timeout: 30000 });
    const [t, n] = await p.evaluate(() => [window.__firstRow, window.__rows]);
    await p.close();
    if (i === 0) continue; // warm-up: the first tab also compiles the script
    times.push(t);
    rows = n;
  }
  times.sort((a, b) => a - b);
  const rank = (q) => times[Math.min(times.length - 1, Math.max(0, Math.ceil(q * times.length) - 1))];
  const round = (x) => Math.round(x * 10) / 10;
  console.log(JSON.stringify({
    kind: 'dashboard_first_page', objects, loads: times.length, rows,
    median_ms: round(rank(0.5)), p95_ms: round(rank(0.95)), max_ms: round(times[times.length - 1]),
  }));
} finally {
  await browser.close();
}
