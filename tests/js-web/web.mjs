// Drives a trustmesh node's web page in headless Chromium and prints one
// JSON report on standard output. Used by tests/it/web.rs.
//
// Usage: node web.mjs CONFIG_JSON
// CONFIG_JSON: { base, login_url, screenshots, chromium, advisory: { owner, id, title },
//               other_title, contact_email, tool, members: [short names], peer_team }

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const cfg = JSON.parse(process.argv[2]);
mkdirSync(cfg.screenshots, { recursive: true });

const report = { checks: {}, screenshots: [], unauthorized: {}, dialogs: [], errors: [] };
const check = (name, ok, detail) => {
  report.checks[name] = ok ? true : `failed: ${detail ?? ''}`.slice(0, 2000);
};

const pages = ['/', '/contacts', '/tools', '/members', '/peers',
  `/advisories/${encodeURIComponent(cfg.advisory.owner)}/${encodeURIComponent(cfg.advisory.id)}`];

// Without the cookie or a bearer header, every page answers 401 with a login form.
for (const path of pages) {
  const r = await fetch(cfg.base + path.slice(1), { redirect: 'manual' });
  const body = await r.text();
  report.unauthorized[path] = { status: r.status, login_form: body.includes('action="/login"') };
}
{
  const r = await fetch(`${cfg.base}login?token=wrong`, { redirect: 'manual' });
  report.unauthorized['/login?token=wrong'] = { status: r.status, set_cookie: r.headers.get('set-cookie') };
}

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.on('dialog', async (d) => { report.dialogs.push(d.message()); await d.dismiss(); });
  page.on('pageerror', (e) => report.errors.push(String(e)));

  const shot = async (name) => {
    const file = join(cfg.screenshots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    report.screenshots.push(file);
  };
  const text = async () => page.locator('body').innerText();

  // A browser without the cookie sees the login page.
  let r = await page.goto(cfg.base);
  check('no_cookie_401', r.status() === 401, r.status());
  await shot('00-login');

  // Logging in with the link `trustmesh web` prints sets the cookie and lands on the list.
  r = await page.goto(cfg.login_url);
  check('login_lands_on_list', r.status() === 200 && new URL(page.url()).pathname === '/', `${r.status()} ${page.url()}`);
  const cookies = await context.cookies();
  const c = cookies.find((c) => c.name === 'trustmesh_session');
  check('cookie_httponly_strict', c && c.httpOnly && c.sameSite === 'Strict', JSON.stringify(cookies));
  check('cookie_is_not_the_token', c && !c.value.includes(cfg.token), 'the session cookie holds the API token');
  check('token_not_in_url', !page.url().includes('token='), page.url());

  let t = await text();
  check('list_shows_advisory', t.includes(cfg.advisory.title), t);
  check('list_shows_other', t.includes(cfg.other_title), t);
  check('list_tlp_badge', (await page.locator('.badge.tlp.tlp-clear').count()) >= 1, 'no TLP:CLEAR badge');
  report.list_rows = await page.locator('#advisories tbody tr').count();
  await shot('01-advisories');

  // The filter form narrows the list: TLP green leaves only the other advisory.
  await page.selectOption('select[name=tlp]', 'green');
  await Promise.all([page.waitForURL(/tlp=green/), page.click('button[type=submit]')]);
  t = await text();
  report.filtered_rows = await page.locator('#advisories tbody tr').count();
  check('filter_tlp_narrows', !t.includes(cfg.advisory.title) && t.includes(cfg.other_title), t);
  await shot('02-advisories-filtered');

  // Search by CVE finds the first advisory only.
  await page.goto(`${cfg.base}?q=${encodeURIComponent(cfg.advisory.cve)}`);
  t = await text();
  report.searched_rows = await page.locator('#advisories tbody tr').count();
  check('search_cve', t.includes(cfg.advisory.title) && !t.includes(cfg.other_title), t);
  await shot('03-advisories-search');

  // The advisory page, reached by its link.
  await Promise.all([page.waitForURL(/\/advisories\//), page.click(`#advisories a >> nth=0`)]);
  t = await text();
  check('advisory_title', t.includes(cfg.advisory.title), t);
  const revisions = await page.locator('#revisions tbody tr').allInnerTexts();
  report.revisions = revisions;
  check('advisory_revisions', revisions.length >= 2 && revisions.some((r) => r.includes(cfg.advisory.revision_summary)), revisions);
  const signed = await page.locator('#signed-by').innerText();
  report.signed_by = signed;
  check('advisory_signer', signed.includes(cfg.advisory.owner_name), signed);
  check('advisory_indicators', t.includes(cfg.advisory.indicator), t);
  check('advisory_cve', t.includes(cfg.advisory.cve), t);
  await shot('04-advisory');

  // Contacts, tools, members, peers through the nav bar.
  await Promise.all([page.waitForURL(/\/contacts$/), page.click('nav >> text=Contacts')]);
  t = await text();
  check('contact', t.includes(cfg.contact_email), t);
  await shot('05-contacts');

  await Promise.all([page.waitForURL(/\/tools$/), page.click('nav >> text=Tools')]);
  t = await text();
  check('tool', t.includes(cfg.tool), t);
  await shot('06-tools');

  await Promise.all([page.waitForURL(/\/members$/), page.click('nav >> text=Members')]);
  const members = await page.locator('#members tbody tr').allInnerTexts();
  report.members = members;
  for (const [name, reason] of cfg.members) {
    check(`member_${name}`, members.some((m) => m.includes(name) && m.includes(reason)), members);
  }
  await shot('07-members');

  await Promise.all([page.waitForURL(/\/peers$/), page.click('nav >> text=Peers')]);
  t = await text();
  const peers = await page.locator('#peers tbody tr').allInnerTexts();
  report.peers = peers;
  check('peer', peers.some((p) => p.includes(cfg.peer_team)), peers);
  check('sync_counters', t.includes('rounds finished') && t.includes('messages in'), t);
  await shot('08-peers');

  // Logging out clears the cookie: the pages answer 401 again.
  await page.goto(`${cfg.base}logout`);
  r = await page.goto(`${cfg.base}members`);
  check('logout_401', r.status() === 401, r.status());
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
