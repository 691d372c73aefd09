// kiosk.mjs STORY - the operator's stories at the kiosk, in Chromium.
//
// Started by story.sh inside the test bench with KS_URL (the kiosk),
// KS_ART (screenshots), KS_WORK, KS_DL (the download), KS_NODE_DIR
// (playwright-core) and TB_LIB (card handling). Every wait is on something
// the page or the server shows, with a time limit; nothing sleeps.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(path.join(process.env.KS_NODE_DIR, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const URL0 = process.env.KS_URL;
const ART = process.env.KS_ART;
const WORK = process.env.KS_WORK;
const CARD_T = 90000; // one card, written and checked, on a busy machine

// --- the bench ------------------------------------------------------------
function tb(...args) {
  const r = spawnSync('bash', ['-c', 'source "$TB_LIB"; "$@"', 'tb', ...args],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 });
  assert.equal(r.status, 0, `tb ${args.join(' ')} failed`);
}
const card = (i) => path.join(WORK, `card${i}.img`);

// --- the browser ----------------------------------------------------------
async function browser() {
  const profile = mkdtempSync(path.join(WORK, 'chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1366, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  return { ctx, page, problems, close: async () => { await ctx.close(); rmSync(profile, { recursive: true, force: true }); } };
}
let shot = 0;
async function snap(page, name) {
  shot++;
  await page.screenshot({ path: path.join(ART, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}
async function login(page, name) {
  await page.goto(URL0);
  await page.locator('#s-login').waitFor();
  await page.fill('#op-name', name);
  await page.press('#op-name', 'Enter');
  await page.locator('#s-start').waitFor();
  await page.locator('#who', { hasText: name }).waitFor();
}

// Inspect the download on the "USB stick", import it, start the run.
async function importAndStart(page, records, refused, puk) {
  await page.locator('#found button').first().waitFor();
  await page.locator('#found button').first().click();
  await page.locator('#verdict').waitFor();
  await page.locator('#records tbody tr').nth(records - 1).waitFor();
  assert.equal(await page.locator('#records tbody tr').count(), records);
  assert.equal(await page.locator('#records tbody tr.bad').count(), refused);
  if (refused) assert.match(await page.locator('#records tbody tr.bad').first().innerText(), /wrong-pin/);
  await snap(page, 'start-inspect');
  await page.click('#do-import');
  await page.locator('#start-dlg[open]').waitFor();
  await snap(page, 'start-run-dialog');
  if (puk) {
    await page.fill('#start-puk', puk);
    appendFileSync(path.join(WORK, 'pins.seen'), puk + '\n');
  }
  await page.click('#start-go');
  await page.locator('#s-encode').waitFor();
}

// One card through the queue: insert, confirm the printed number as a
// scanner would (digits + Enter into the focused field), wait until done,
// print the PIN letter. Returns the PIN the letter showed.
async function encodeCard(page, i, printed, opts = {}) {
  tb('tb_swap', '0', card(i), ...(opts.cardsim || []));
  await page.locator('#confirm-form').waitFor({ state: 'visible', timeout: CARD_T });
  const holder = (await page.locator('#next-holder').innerText()).trim();
  assert.ok(holder.length > 0, 'the next holder is shown');
  if (opts.snap) await snap(page, 'encode-confirm');
  await page.keyboard.type(printed);
  await page.keyboard.press('Enter');
  if (opts.expectFail) return holder;
  await page.locator('.reader.out-done').waitFor({ timeout: CARD_T });
  const letter = page.locator('#letters [data-letter]').first();
  await letter.waitFor({ timeout: CARD_T });
  await letter.click();
  await page.locator('#s-letter').waitFor();
  const pin = (await page.locator('#l-pin').innerText()).trim();
  assert.match(pin, /^[0-9]{6,8}$/, 'the letter shows the initial PIN');
  assert.equal((await page.locator('#l-holder').innerText()).trim(), holder);
  assert.equal((await page.locator('#l-printed').innerText()).trim(), printed);
  appendFileSync(path.join(WORK, 'pins.seen'), pin + '\n');
  if (opts.snap) await snap(page, 'pin-letter');
  await page.click('#l-done');
  assert.equal(await page.locator('#l-pin').innerText(), '', 'the PIN leaves the page');
  return { holder, pin };
}

async function runEnded(page) {
  await page.locator('#summary').waitFor({ state: 'visible', timeout: CARD_T });
}

// --- raw HTTP for the security checks ---------------------------------------
function request(method, p, headers = {}, body = null) {
  const u = new URL(p, URL0);
  return new Promise((resolve, reject) => {
    const rq = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method,
      headers: { Host: u.host, ...headers } }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    rq.on('error', reject);
    if (body) rq.write(body);
    rq.end();
  });
}

// --- stories ----------------------------------------------------------------
const stories = {
  // The server answers only its own page: headers, Host, CSRF, Origin,
  // no inline script; the page is Japanese first; an idle operator is
  // logged out.
  async security() {
    const root = await request('GET', '/');
    assert.equal(root.status, 200);
    const csp = root.headers['content-security-policy'];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(root.headers['x-content-type-options'], 'nosniff');
    assert.equal(root.headers['x-frame-options'], 'DENY');
    assert.equal(root.headers['cache-control'], 'no-store');
    assert.equal(root.headers['referrer-policy'], 'no-referrer');
    assert.doesNotMatch(root.body, /<script>|<script [^>]*>[^<]|\son[a-z]+=/i, 'no inline script in the page');

    const foreign = await request('GET', '/', { Host: 'evil.example:' + new URL(URL0).port });
    assert.equal(foreign.status, 403, 'a foreign Host is refused');
    assert.match(foreign.body, /foreign-host/);
    const rebound = await request('GET', '/api/session', { Host: 'attacker.test' });
    assert.equal(rebound.status, 403);

    const sess = await request('GET', '/api/session');
    assert.equal(sess.status, 200);
    const cookie = sess.headers['set-cookie'][0];
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const sid = cookie.split(';')[0];
    const { csrf } = JSON.parse(sess.body);
    const form = { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: sid };
    const noToken = await request('POST', '/api/login', form, 'name=mallory');
    assert.equal(noToken.status, 403, 'a POST without CSRF token is refused');
    assert.match(noToken.body, /csrf/);
    const badToken = await request('POST', '/api/login', { ...form, 'X-CSRF-Token': 'f'.repeat(64) }, 'name=mallory');
    assert.equal(badToken.status, 403, 'a wrong CSRF token is refused');
    const badOrigin = await request('POST', '/api/login', { ...form, 'X-CSRF-Token': csrf, Origin: 'http://evil.example' }, 'name=mallory');
    assert.equal(badOrigin.status, 403, 'a foreign Origin is refused');
    const noCookie = await request('POST', '/api/login', { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrf }, 'name=mallory');
    assert.equal(noCookie.status, 403, 'a token without its session is refused');
    const ok = await request('POST', '/api/login', { ...form, 'X-CSRF-Token': csrf }, 'name=' + encodeURIComponent('検査 係'));
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).operator, '検査 係');
    const noLogin = await request('GET', '/api/runs');
    assert.equal(noLogin.status, 401, 'the API needs a session');
    const traversal = await request('GET', '/..%2f..%2fetc%2fpasswd');
    assert.equal(traversal.status, 404);

    const b = await browser();
    const { page } = b;
    try {
      await page.goto(URL0);
      await page.locator('#s-login').waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'ja');
      assert.equal((await page.locator('#login-form button').innerText()).trim(), '開始する');
      await snap(page, 'login-ja');
      await page.click('#lang');
      await page.locator('#login-form button', { hasText: 'Start' }).waitFor();
      await snap(page, 'login-en');
      await page.click('#lang');
      // The policy holds in the browser: an injected inline script does not run.
      const ran = await page.evaluate(() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inline = 1';
        document.body.append(s);
        return window.__inline === 1;
      });
      assert.equal(ran, false, 'inline script is blocked by the CSP');
      b.problems.length = 0;
      await login(page, '受付 一郎');
      await snap(page, 'start-empty');
      // Nobody touches the screen: the server logs the operator out.
      await page.locator('#s-login').waitFor({ timeout: 30000 });
      await page.locator('#login-why', { hasText: '操作がなかった' }).waitFor();
      await snap(page, 'idle-logout');
      const after = await page.evaluate(async () => (await fetch('/api/runs')).status);
      assert.equal(after, 401, 'the idle operator is logged out on the server too');
      assert.deepEqual(b.problems.filter((p) => !/401|Content Security Policy|inline script/i.test(p)), []);
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },

  // Import a download, encode three cards with printed numbers, see the
  // progress and the summary.
  async encode() {
    const b = await browser();
    const { page } = b;
    try {
      await login(page, '山田 太郎');
      await importAndStart(page, 4, 1);
      await page.locator('#run-count', { hasText: '0 / 3' }).waitFor();
      await snap(page, 'encode-waiting');
      const seen = new Set();
      for (let i = 1; i <= 3; i++) {
        const r = await encodeCard(page, i, `S-2024-000${i}`, { snap: i === 1 });
        seen.add(r.holder);
        if (i < 3) {
          await page.locator('#run-count', { hasText: `${i} / 3` }).waitFor();
          if (i === 1) await snap(page, 'encode-progress');
        }
      }
      assert.equal(seen.size, 3, 'three different holders');
      await runEnded(page);
      await page.locator('#sum-text', { hasText: '完了 3 枚、失敗 0 件' }).waitFor();
      await page.locator('#run-count', { hasText: '3 / 3' }).waitFor();
      await snap(page, 'encode-summary');
      // The journal agrees, at the service desk.
      await page.click('#nav [data-screen=desk]');
      await page.click('#search-form button[type=submit]');
      await page.locator('#hits tbody tr').nth(2).waitFor();
      const rows = await page.locator('#hits tbody tr').allInnerTexts();
      for (let i = 1; i <= 3; i++) assert.ok(rows.some((t) => t.includes(`S-2024-000${i}`)), `card ${i} is in the journal`);
      await snap(page, 'desk-journal');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },

  // A card pulled mid-write shows its failure and what to do; put back,
  // it is redone.
  async pulled() {
    const b = await browser();
    const { page } = b;
    try {
      await login(page, '山田 太郎');
      // The institution's PUK lets the station rewrite a half-written card.
      await importAndStart(page, 4, 1, '0123456789abcdef');
      const holder = await encodeCard(page, 1, 'S-2024-0001', { cardsim: ['--pull-after', '60'], expectFail: true });
      await page.locator('.reader.out-failed').waitFor({ timeout: CARD_T });
      const text = await page.locator('.reader.out-failed .rreason').innerText();
      assert.ok(text.trim().length > 0, 'the failure says why');
      await snap(page, 'encode-failed');
      await page.click('.reader.out-failed button');
      // The same card goes back in: it is wiped and written again.
      tb('tb_swap', '0', card(1));
      const confirm = page.locator('#confirm-form');
      const done = page.locator('.reader.out-done');
      await Promise.race([confirm.waitFor({ state: 'visible', timeout: CARD_T }), done.waitFor({ timeout: CARD_T })]);
      if (await confirm.isVisible()) {
        assert.equal((await page.locator('#next-holder').innerText()).trim(), holder, 'the same holder again');
        await page.keyboard.type('S-2024-0001');
        await page.keyboard.press('Enter');
      }
      await done.waitFor({ timeout: CARD_T });
      await page.locator('#run-count', { hasText: '1 / 3' }).waitFor();
      await snap(page, 'encode-recovered');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },

  // Handover: the holder types a wrong PIN, then the right one.
  async handover() {
    const b = await browser();
    const { page } = b;
    try {
      await login(page, '山田 太郎');
      await importAndStart(page, 1, 0);
      const { pin } = await encodeCard(page, 1, 'S-2024-0001');
      await runEnded(page);
      await page.click('#nav [data-screen=handover]');
      await page.locator('#ho-reader option').first().waitFor({ state: 'attached' });
      const wrong = pin === '000000' ? '111111' : '000000';
      for (const k of wrong) await page.click(`#keypad [data-key="${k}"]`);
      assert.equal(await page.locator('#pin-dots').innerText(), '●'.repeat(wrong.length));
      await snap(page, 'handover-keypad');
      await page.click('#ho-verify');
      await page.locator('#ho-result .verdict').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#ho-result').innerText(), /署名できませんでした/);
      assert.match(await page.locator('#ho-result .wrongpin').innerText(), /PINが違います.*残り 2 回/);
      assert.equal(await page.locator('#pin-dots').innerText(), '', 'the PIN leaves the page');
      await snap(page, 'handover-wrong-pin');
      // The right PIN, typed on the keyboard this time.
      await page.locator('#ho-result').evaluate((e) => e.replaceChildren());
      await page.locator('body').click({ position: { x: 5, y: 300 } });
      await page.keyboard.type(pin);
      await page.keyboard.press('Enter');
      await page.locator('#ho-result .verdict.v-ok').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#ho-result').innerText(), /署名できました/);
      await snap(page, 'handover-ok');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },

  // Service desk: find the holder, verify the card, mark it lost and take
  // the revocation TSV; export the journal as CSV.
  async desk() {
    const b = await browser();
    const { page } = b;
    try {
      await login(page, '窓口 花子');
      await importAndStart(page, 1, 0, '0123456789abcdef');
      const { holder } = await encodeCard(page, 1, 'S-2024-0001');
      await runEnded(page);
      await page.click('#nav [data-screen=desk]');
      await page.locator('#desk-reader option').first().waitFor({ state: 'attached' });
      await page.click('#desk-verify');
      await page.locator('#desk-result .verdict.v-ok').waitFor({ timeout: CARD_T });
      await snap(page, 'desk-verify');
      const family = holder.split(/[ 　]/)[0];
      await page.fill('#search-q', family);
      await page.press('#search-q', 'Enter');
      await page.locator('#hits tbody tr').first().waitFor();
      assert.match(await page.locator('#hits tbody tr').first().innerText(), /S-2024-0001/);
      await snap(page, 'desk-search');
      const csvWait = page.waitForEvent('download');
      await page.click('#desk-csv');
      const csv = await csvWait;
      const csvPath = path.join(ART, 'issuances.csv');
      await csv.saveAs(csvPath);
      assert.match(readFileSync(csvPath, 'latin1'), /S-2024-0001/);
      await page.click('#hits [data-lost]');
      await page.locator('#lost-dlg[open]').waitFor();
      await snap(page, 'desk-lost-dialog');
      const tsvWait = page.waitForEvent('download');
      await page.click('#lost-go');
      const tsv = await tsvWait;
      const tsvPath = path.join(ART, 'revocation.tsv');
      await tsv.saveAs(tsvPath);
      const line = readFileSync(tsvPath, 'latin1');
      assert.match(line, /\r\n$/, 'CRLF');
      const cols = line.replace(/\r\n$/, '').split('\t');
      assert.equal(cols.length, 15, 'fifteen columns');
      assert.match(cols[3], /^[0-9]+$/, 'column 4 is the serial');
      assert.equal(cols[4], '1', 'reason keyCompromise');
      await page.locator('#hits tbody tr.dim').first().waitFor();
      await snap(page, 'desk-lost');
      // The card comes back: wiped with the institution PUK for re-issue.
      await page.fill('#desk-puk', '0123456789abcdef');
      page.once('dialog', (d) => d.accept());
      await page.click('#desk-wipe');
      await page.locator('#desk-result p.big').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#desk-result').innerText(), /wiped/);
      assert.equal(await page.inputValue('#desk-puk'), '', 'the PUK field is cleared');
      await snap(page, 'desk-wiped');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },
};

// On failure: what the screen and the server showed.
async function lastWords(page) {
  try {
    await snap(page, 'FAILED');
    const st = await page.evaluate(async () => (await fetch('/api/state')).text());
    console.error('state at failure:', st);
  } catch (e) { /* the page is gone */ }
}

const name = process.argv[2];
if (!stories[name]) { console.error(`no story ${name}`); process.exit(2); }
try {
  await stories[name]();
  console.log(`kiosk story ${name}: passed`);
} catch (e) {
  console.error(`kiosk story ${name}: FAILED\n`, e);
  process.exit(1);
}
