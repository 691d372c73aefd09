// kiosk.mjs STORY - the operator's stories at the kiosk, in Chromium.
//
// Started by story.sh inside the test bench with KS_URL (the kiosk),
// KS_LAUNCH (its address with this start's key, as kiosk-browser opens
// it), the operator accounts of accounts.sh, KS_ART (screenshots),
// KS_WORK, KS_DL (the download), KS_NODE_DIR (playwright-core) and TB_LIB
// (card handling, the journal's SQL on either backend). Every wait is
// on something the page or the server shows, with a time limit; nothing
// sleeps.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync, copyFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(path.join(process.env.KS_NODE_DIR, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const URL0 = process.env.KS_URL;
const LAUNCH = process.env.KS_LAUNCH;
const KEY = new URL(LAUNCH).hash.replace(/^#k=/, '');
const ART = process.env.KS_ART;
const WORK = process.env.KS_WORK;
const CARD_T = 90000; // one card, written and checked, on a busy machine

// --- the bench ------------------------------------------------------------
function tb(...args) {
  const r = spawnSync('bash', ['-c', 'source "$TB_LIB"; "$@"', 'tb', ...args],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 });
  assert.equal(r.status, 0, `tb ${args.join(' ')} failed`);
}
// SQL on the story's journal, SQLite or PostgreSQL (tb_sql of the bench's
// journal.sh): its rows as a|b lines.
function journalSql(sql) {
  const r = spawnSync('bash', ['-c', 'source "$TB_LIB"; tb_sql "$1"', 'tb', sql],
    { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `tb_sql ${sql} failed: ${r.stderr}`);
  return r.stdout.trim();
}
const card = (i) => path.join(WORK, `card${i}.img`);
const PUK = '0123456789abcdef';
// The card in reader idx signs a fresh challenge with pin (pkcs11-tool
// --login, the PIN through the environment, never argv), and the
// signature verifies with the certificate on the card (openssl).
function signsWith(idx, pin) {
  const r = spawnSync('bash', ['-c', `
    source "$TB_LIB"; set -e; R=$(tb_reader ${idx}); D=$(mktemp -d "$KS_WORK/sig.XXXX")
    pkcs15-tool -r "$R" --read-certificate 01 >"$D/cert.pem" 2>/dev/null
    openssl x509 -in "$D/cert.pem" -pubkey -noout >"$D/pub.pem"
    head -c 64 /dev/urandom >"$D/challenge"
    pkcs11-tool --module opensc-pkcs11.so --slot-description "$R" --login --pin env:KS_P \
      --sign -m SHA256-RSA-PKCS --id 01 -i "$D/challenge" -o "$D/sig" >/dev/null 2>&1
    openssl dgst -sha256 -verify "$D/pub.pem" -signature "$D/sig" "$D/challenge"
    rm -rf "$D"`], { env: { ...process.env, KS_P: pin }, encoding: 'utf8', timeout: 60000 });
  return r.status === 0 && /Verified OK/.test(r.stdout);
}
// An element is on screen whole, without scrolling (its box, not pixels).
async function inViewport(page, sel, what) {
  const box = await page.locator(sel).first().boundingBox();
  const vp = page.viewportSize();
  const scrolled = await page.evaluate(() => window.scrollY);
  assert.ok(box, `${what}: shown`);
  assert.equal(scrolled, 0, `${what}: the page is not scrolled`);
  assert.ok(box.y >= 0 && box.y + box.height <= vp.height && box.x >= 0 && box.x + box.width <= vp.width,
    `${what} within ${vp.width}x${vp.height} without scrolling (box ${JSON.stringify(box)})`);
}

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
const acct = (r) => ({ user: process.env[`KS_USER_${r}`], pw: process.env[`KS_PW_${r}`], name: process.env[`KS_NAME_${r}`] });
// The page opened as kiosk-browser opens it (the key in the fragment),
// then an operator logs in with their account's password.
async function login(page, role, screen = '#s-start') {
  const a = acct(role);
  if (!page.url().startsWith(URL0)) await page.goto(LAUNCH);
  await page.locator('#s-login').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the key has left the address');
  await page.fill('#op-user', a.user);
  await page.fill('#op-pass', a.pw);
  await page.press('#op-pass', 'Enter');
  await page.locator(screen).waitFor();
  await page.locator('#who', { hasText: a.name }).waitFor();
  assert.equal(await page.inputValue('#op-pass'), '', 'the password leaves the page');
}
async function logout(page) {
  await page.click('#logout');
  await page.locator('#s-login').waitFor();
}
// The nav buttons an operator sees.
async function navShown(page) {
  const out = [];
  for (const b of await page.locator('#nav button').all()) if (await b.isVisible()) out.push(await b.getAttribute('data-screen'));
  return out;
}

// Inspect the download on the "USB stick", import it, start the run.
async function importAndStart(page, records, refused, puk) {
  await page.locator('#found button').first().waitFor();
  await page.locator('#found button').first().click();
  await page.locator('#verdict').waitFor();
  await page.locator('#records tbody tr').nth(records - 1).waitFor();
  assert.equal(await page.locator('#records tbody tr').count(), records);
  assert.equal(await page.locator('#records tbody tr.bad').count(), refused);
  if (refused) {
    const bad = await page.locator('#records tbody tr.bad').first().innerText();
    assert.match(bad, /wrong-pin/);
    // The problem in Japanese, by its code (issue 13).
    assert.doesNotMatch(bad, /\b[a-z]{2,} [a-z]{2,}\b/, `the refusal in Japanese, no English sentence: ${bad}`);
  }
  await snap(page, 'start-inspect');
  await page.click('#do-import');
  await page.locator('#start-dlg[open]').waitFor();
  await snap(page, 'start-run-dialog');
  if (puk) {
    // A run may mix card families: the PIV profile has a PUK field of its
    // own (8 digits), empty here: the plain PUK serves it (api.mjs
    // mixed_puks starts a mixed run).
    assert.ok(await page.locator('#start-puk-piv').isVisible(), 'the PIV profile has its own PUK field');
    assert.equal(await page.getAttribute('#start-puk-piv', 'inputmode'), 'numeric');
    assert.match(await page.locator('label[for="start-puk-piv"]').innerText(), /piv.*8/);
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
  const rd = String(opts.reader || 0);
  tb('tb_swap', rd, card(i), ...(opts.cardsim || []));
  await page.locator('#confirm-form').waitFor({ state: 'visible', timeout: CARD_T });
  const holder = (await page.locator('#next-holder').innerText()).trim();
  assert.ok(holder.length > 0, 'the next holder is shown');
  if (opts.snap) await snap(page, 'encode-confirm');
  await page.keyboard.type(printed);
  await page.keyboard.press('Enter');
  if (opts.expectFail) return holder;
  await page.locator(`.reader.out-done[data-reader="${rd}"]`).waitFor({ timeout: CARD_T });
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
  // The server answers only its own page: headers, Host, the key, CSRF,
  // Origin, no inline script; the page is Japanese first (every word the
  // page can show has its Japanese text); kiosk-browser keeps the key off
  // Chromium's command line; an idle operator is logged out.
  async security() {
    const root = await request('GET', '/');
    assert.equal(root.status, 200, 'the page itself needs no key');
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
    const rebound = await request('GET', '/api/session', { Host: 'attacker.test', Cookie: 'ks_key=' + KEY });
    assert.equal(rebound.status, 403);
    const keyless = await request('GET', '/api/session');
    assert.equal(keyless.status, 403, 'no session without the key');
    assert.match(keyless.body, /no-key/);

    const kc = 'ks_key=' + KEY;
    const sess = await request('GET', '/api/session', { Cookie: kc });
    assert.equal(sess.status, 200);
    const cookie = sess.headers['set-cookie'][0];
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const sid = cookie.split(';')[0];
    const { csrf } = JSON.parse(sess.body);
    const all = acct('all');
    const body = `user=${encodeURIComponent(all.user)}&password=${encodeURIComponent(all.pw)}`;
    const form = { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `${sid}; ${kc}` };
    const noToken = await request('POST', '/api/login', form, body);
    assert.equal(noToken.status, 403, 'a POST without CSRF token is refused');
    assert.match(noToken.body, /csrf/);
    const badToken = await request('POST', '/api/login', { ...form, 'X-CSRF-Token': 'f'.repeat(64) }, body);
    assert.equal(badToken.status, 403, 'a wrong CSRF token is refused');
    const badOrigin = await request('POST', '/api/login', { ...form, 'X-CSRF-Token': csrf, Origin: 'http://evil.example' }, body);
    assert.equal(badOrigin.status, 403, 'a foreign Origin is refused');
    const noCookie = await request('POST', '/api/login', { 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrf, Cookie: kc }, body);
    assert.equal(noCookie.status, 403, 'a token without its session is refused');
    const ok = await request('POST', '/api/login', { ...form, 'X-CSRF-Token': csrf }, body);
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).operator, all.name);
    const noLogin = await request('GET', '/api/runs', { Cookie: kc });
    assert.equal(noLogin.status, 401, 'the API needs a session');
    // A code, no English sentence beside it: the page has its words.
    assert.deepEqual(Object.keys(JSON.parse(noLogin.body)), ['error'], `a refusal is its code alone: ${noLogin.body}`);
    const traversal = await request('GET', '/..%2f..%2fetc%2fpasswd');
    assert.equal(traversal.status, 404);

    // kiosk-browser: the key reaches Chromium through a page in a private
    // folder, never its arguments (any user reads /proc/PID/cmdline).
    const lb = path.join(WORK, 'launcher');
    mkdirSync(path.join(lb, 'xdg'), { recursive: true, mode: 0o700 });
    const fake = path.join(lb, 'chromium');
    writeFileSync(fake, '#!/bin/sh\nprintf "%s\\n" "$@" >"$LB/argv"\nfor a; do :; done\ncp "${a#file://}" "$LB/open.html"\n');
    chmodSync(fake, 0o755);
    const run = spawnSync(path.join(process.env.CS_SRC, 'kiosk', 'kiosk-browser'), [process.env.KS_KEYFILE],
      { env: { ...process.env, LB: lb, CARDSTATION_BROWSER: fake, XDG_RUNTIME_DIR: path.join(lb, 'xdg') }, encoding: 'utf8', timeout: 60000 });
    assert.equal(run.status, 0, `kiosk-browser ran: ${run.stderr}`);
    const argv = readFileSync(path.join(lb, 'argv'), 'utf8');
    assert.ok(!argv.includes(KEY), 'the key is not on the browser\'s command line');
    assert.match(argv, /--kiosk\n/);
    assert.match(argv, /file:\/\/.*\/open\.html\n$/);

    const b = await browser();
    const { page } = b;
    try {
      // A browser without the key gets the page, and nothing of the API.
      await page.goto(URL0);
      await page.locator('#s-nokey').waitFor();
      assert.match(await page.locator('#s-nokey').innerText(), /専用ブラウザー/);
      await snap(page, 'no-key');
      // kiosk-browser's forwarding page hands the key over.
      await page.goto('about:blank');
      copyFileSync(path.join(lb, 'open.html'), path.join(WORK, 'open.html'));
      await page.goto('file://' + path.join(WORK, 'open.html'));
      await page.locator('#s-login').waitFor();
      assert.equal(new URL(page.url()).hash, '', 'the page dropped the key from its address');
      assert.equal(await page.getAttribute('html', 'lang'), 'ja');
      assert.equal((await page.locator('#login-form button').innerText()).trim(), 'ログイン');
      // The name screen shows no menu and no ログアウト (issue 13: the
      // CSS had overridden [hidden]).
      for (const sel of ['#nav', '#nav button', '#logout']) {
        assert.equal(await page.locator(sel).first().isVisible(), false, `${sel} hidden on the login screen`);
        assert.equal(await page.locator(sel).first().boundingBox(), null, `${sel} takes no room on the login screen`);
      }
      await snap(page, 'login-ja');
      // Every word the page can show is in Japanese (and in English).
      const judge = ['cs_verify_judge.c', 'cs_verify.c'].map((f) => readFileSync(path.join(process.env.CS_SRC, 'station', 'engine', f), 'utf8')).join('\n');
      const vcodes = new Set();
      for (const m of judge.matchAll(/CS_VL_[A-Z]+,\s*(?:[^",;]*\?\s*)?"([a-z0-9-]+)"(?:\s*:\s*"([a-z0-9-]+)")?/g)) {
        vcodes.add(m[1]); if (m[2]) vcodes.add(m[2]);
      }
      vcodes.delete('use'); // the uses of the key: technical, English only
      assert.ok(vcodes.size >= 25 && vcodes.has('pin-mistyped') && vcodes.has('pin-refused'), `verify's codes read: ${[...vcodes]}`);
      // Every error the kiosk answers with (kiosk/*.c: its replies, the
      // codes it picks, busy or readers) has the page's words (err.<code>),
      // and no reply carries an English sentence of its own: the last
      // argument is NULL or another layer's detail, never a literal.
      const kdir = path.join(process.env.CS_SRC, 'kiosk');
      const ecodes = new Set(), sentences = [];
      for (const f of readdirSync(kdir).filter((n) => n.endsWith('.c'))) {
        const src = readFileSync(path.join(kdir, f), 'utf8');
        for (const m of src.matchAll(/ks_reply_error\((?:&rq|rq),([^;]*?)\);/gs)) {
          if (/^\s*(const|char|unsigned|ks_req|enum)\b/.test(m[1])) continue; // its definition
          for (const c of m[1].matchAll(/"([a-z-]+)"/g)) ecodes.add(c[1]);
          if (/"\s*$/.test(m[1])) sentences.push(`${f}: ${m[1].trim()}`); // the code is never last
        }
        for (const m of src.matchAll(/\bcode = "([a-z-]+)"/g)) ecodes.add(m[1]);
      }
      for (const c of ['no-admin-mail', 'live-cert', 'puk-needed', 'busy', 'readers', 'other-card', 'bad-run', 'no-question', 'csrf', 'import'])
        assert.ok(ecodes.has(c), `the kiosk's codes read (${c}): ${[...ecodes]}`);
      assert.deepEqual(sentences, [], 'replies with an English sentence beside their code');
      const missing = await page.evaluate(async ([vcodes, ecodes]) => {
        const src = (await (await fetch('/app.js')).text()) + (await (await fetch('/')).text());
        const keys = new Set();
        for (const m of src.matchAll(/data-i18n(?:-ph)?="([^"]+)"/g)) keys.add(m[1]);
        for (const m of src.matchAll(/\bt\('([a-z0-9.-]+)'/g)) keys.add(m[1]);
        // Keys made at run time from a state or a kind.
        for (const k of ['st.waiting', 'st.reading', 'st.confirm', 'st.writing', 'st.checking', 'st.done', 'st.failed',
          'st.remove', 'verdict.ok', 'verdict.warn', 'verdict.fail', 'guard.last.pin', 'guard.last.puk',
          'guard.lasttext.pin', 'guard.lasttext.puk', 'guard.unknown.puk', 'guard.unknowntext.puk',
          'guard.blocked.pin', 'guard.blocked.puk',
          'login.bad', 'login.norole', 'login.account', 'st.refused', 'st.skipped', 'engine.then',
          'err.puk-refused.n', 'err.puk-refused.0', 'ho.pinwrong.head', 'letter.resettitle', 'letter.resetpinis',
          'notice.lost', 'notice.returned', 'notice.wiped', 'notice.issued', 'notice.retired', 'notice.other',
          'notice.skipped']) keys.add(k);
        // Every verification reason the engine can give (its codes, read
        // from its source by the test): rendered by code from the page's
        // dictionary (vr.<code>).
        for (const c of vcodes) keys.add('vr.' + c);
        for (const c of ecodes) keys.add('err.' + c);
        for (const m of src.matchAll(/'(err\.[a-z-]+)'/g)) keys.add(m[1]);
        // 'st.' + state: a prefix, its keys are listed above.
        return [...keys].filter((k) => !k.endsWith('.') && (!window.KS_TEXT.ja[k] || !window.KS_TEXT.en[k]));
      }, [[...vcodes], [...ecodes]]);
      assert.deepEqual(missing, [], 'words without a Japanese or English text');
      await page.click('#lang');
      await page.locator('#login-form button', { hasText: 'Log in' }).waitFor();
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
      await login(page, 'all');
      await snap(page, 'start-empty');
      // Nobody touches the screen: the server logs the operator out.
      await page.locator('#s-login').waitFor({ timeout: 30000 });
      await page.locator('#login-why', { hasText: '操作がなかった' }).waitFor();
      await snap(page, 'idle-logout');
      const after = await page.evaluate(async () => (await fetch('/api/runs')).status);
      assert.equal(after, 401, 'the idle operator is logged out on the server too');
      assert.deepEqual(b.problems.filter((p) => !/401|403|Content Security Policy|inline script/i.test(p)), []);
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },

  // Who may do what: each role's screen shows its own work only; a wrong
  // password and an account without a role are told so in Japanese.
  async roles() {
    const b = await browser();
    const { page } = b;
    try {
      await page.goto(LAUNCH);
      await page.locator('#s-login').waitFor();
      await page.fill('#op-user', acct('enc').user);
      await page.fill('#op-pass', 'not-the-password');
      await page.press('#op-pass', 'Enter');
      await page.locator('#login-why', { hasText: 'パスワードが違います' }).waitFor();
      await snap(page, 'wrong-password');
      await page.fill('#op-user', acct('none').user);
      await page.fill('#op-pass', acct('none').pw);
      await page.press('#op-pass', 'Enter');
      await page.locator('#login-why', { hasText: '担当が登録されていません' }).waitFor();
      await snap(page, 'no-role');

      // The administrator imports the download; nothing else.
      await login(page, 'adm');
      assert.deepEqual(await navShown(page), ['start'], 'the administrator: import');
      await page.locator('#found button').first().click();
      await page.locator('#records tbody tr').first().waitFor();
      await snap(page, 'role-admin-inspect');
      await page.click('#do-import');
      await page.locator('#runs tbody tr').first().waitFor();
      assert.equal(await page.locator('#start-dlg[open]').count(), 0, 'the administrator does not encode');
      assert.equal(await page.locator('#runs [data-run]').count(), 0, 'no run to continue for the administrator');
      await snap(page, 'role-admin');
      await logout(page);

      // Encoding: the run to continue, without the institution PUK; no import.
      await login(page, 'enc');
      assert.deepEqual(await navShown(page), ['start', 'encode', 'handover'], 'encoding: runs, encoding, handover');
      assert.equal(await page.locator('#import-part').isVisible(), false, 'no import for encoding');
      await page.locator('#runs [data-run]').first().click();
      await page.locator('#start-dlg[open]').waitFor();
      assert.equal(await page.locator('#start-puk').isVisible(), false, 'the institution PUK is the administrator\'s');
      await snap(page, 'role-encode');
      await page.click('#start-cancel');
      await logout(page);

      // The service desk: the desk only; what it does not show, the server refuses.
      await login(page, 'desk', '#s-desk');
      assert.deepEqual(await navShown(page), ['desk'], 'the service desk: the desk only');
      await snap(page, 'role-desk');
      const denied = await page.evaluate(async () => {
        const { csrf } = await (await fetch('/api/session')).json();
        const r = await fetch('/api/import', { method: 'POST', body: 'dir=/x',
          headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' } });
        return [r.status, (await r.json()).error];
      });
      assert.deepEqual(denied, [403, 'role'], 'the desk may not import');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },

  // Import a download, encode three cards with printed numbers, see the
  // progress and the summary.
  async encode() {
    const b = await browser();
    const { page } = b;
    try {
      await login(page, 'all');
      await importAndStart(page, 4, 1, PUK);
      await page.locator('#run-count', { hasText: '0 / 3' }).waitFor();
      await snap(page, 'encode-waiting');
      const seen = new Set();
      for (let i = 1; i <= 3; i++) {
        const r = await encodeCard(page, i, `S-2024-000${i}`, { snap: i === 1 });
        seen.add(r.holder);
        // Done and still in the reader: 次の方 is not them (issue 13).
        assert.notEqual((await page.locator('#next-holder').innerText()).trim(), r.holder,
          '次の方 never shows someone already done');
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
      await login(page, 'all');
      // The institution's PUK lets the station rewrite a half-written card.
      await importAndStart(page, 4, 1, '0123456789abcdef');
      const holder = await encodeCard(page, 1, 'S-2024-0001', { cardsim: ['--pull-after', '60'], expectFail: true });
      await page.locator('.reader.out-failed').waitFor({ timeout: CARD_T });
      const text = await page.locator('.reader.out-failed .rreason').innerText();
      assert.ok(text.trim().length > 0, 'the failure says why');
      // In Japanese, by the engine's code; OpenSC's own words only as the
      // detail in parentheses (issue 13).
      assert.doesNotMatch(text.replace(/\([^)]*\)/g, ''), /\b[a-z]{2,} [a-z]{2,}\b/, `the failure in Japanese: ${text}`);
      // The run view carries that failure as a code `cardstation codes`
      // lists, with its parameters as an object: no English to parse.
      const view = await page.evaluate(async () => (await fetch('/api/state', { cache: 'no-store' })).json());
      const line = view.readers.find((r) => r.outcome && r.reason_code);
      assert.ok(line, `a failed reader line with a code: ${JSON.stringify(view.readers)}`);
      const listed = JSON.parse(spawnSync(process.env.CS_BIN, ['codes', '--json'], { encoding: 'utf8' }).stdout);
      for (const [c, p] of [[line.reason_code, line.reason_params], [line.code, line.params]]) {
        if (c === null) continue;
        assert.ok(typeof listed[c] === 'string', `code ${c} is one that cardstation codes lists`);
        assert.ok(p !== null && typeof p === 'object' && !Array.isArray(p), `params of ${c} as an object: ${JSON.stringify(p)}`);
      }
      await snap(page, 'encode-failed');
      // Paused now, the run's end lists who waits for which card: the
      // holder waits for the card left half written for them, in
      // Japanese from the engine's code (issue 10).
      const chip = view.readers[0].chip_serial;
      assert.ok(chip, `the pulled card's chip serial is in the view: ${JSON.stringify(view.readers[0])}`);
      await page.click('#pause');
      await runEnded(page);
      await page.locator('#sum-wait-list li').first().waitFor();
      const waits = await page.locator('#sum-wait-list li').allInnerTexts();
      assert.equal(waits.length, 1, `one holder waits: ${waits}`);
      assert.match(await page.locator('#sum-wait-list li').first().getAttribute('data-code'), /^run\.waits-for-card(-printed)?$/);
      assert.ok(waits[0].includes(holder) && waits[0].includes(chip), `the holder and the card are named: ${waits[0]}`);
      assert.match(waits[0], /を待っています/, `the wait in Japanese: ${waits[0]}`);
      assert.doesNotMatch(waits[0], /\b[a-z]{2,} [a-z]{2,}\b/, `no English sentence: ${waits[0]}`);
      assert.match(await page.locator('#sum-wait h3').innerText(), /自分のカードを待っている方/);
      await snap(page, 'encode-paused-waiting');
      // The half-written card at the desk: no PIN reset, and its journal
      // state comes as a code the page words from the catalogue (issue 13).
      tb('tb_swap', '0', card(1));
      await page.click('#nav [data-screen=desk]');
      await page.locator('#desk-reader option').first().waitFor({ state: 'attached' });
      await page.click('#desk-pin');
      await page.locator('#pin-dlg[open]').waitFor({ timeout: CARD_T });
      await page.fill('#pin-new', '24681357');
      await page.fill('#pin-new2', '24681357');
      await page.fill('#pin-puk', '0123456789abcdef');
      await page.press('#pin-puk', 'Enter');
      const refusal = page.locator('#toast.bad', { hasText: '台帳で「書きかけ」' });
      await Promise.race([page.locator('#last-dlg[open]').waitFor({ timeout: CARD_T }), refusal.waitFor({ timeout: CARD_T })]);
      if (await page.locator('#last-dlg[open]').count()) await page.click('#last-go');
      await refusal.waitFor({ timeout: CARD_T });
      assert.doesNotMatch(await page.locator('#toast').innerText(), /partial|state\./, 'no English state word');
      await snap(page, 'desk-partial-refused');
      tb('tb_remove', '0');
      await page.click('#nav [data-screen=encode]');
      // The run goes on: the list belongs to the run that ended.
      await page.click('#sum-back');
      await page.locator('#runs [data-run]').first().click();
      await page.locator('#start-dlg[open]').waitFor();
      await page.fill('#start-puk', '0123456789abcdef');
      await page.click('#start-go');
      await page.locator('#s-encode').waitFor();
      await page.locator('#summary').waitFor({ state: 'hidden' });
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

  // Handover, as the office divides the work: the administrator imports
  // the download, the encoding operator writes the card, and at handover
  // the holder mistypes the PIN twice (the card makes them wait, then
  // the page asks before the last try), then types it right; the operator
  // records how the holder was identified, and `cardstation log handovers`
  // shows and exports it.
  async handover() {
    const b = await browser();
    const { page } = b;
    try {
      await login(page, 'adm');
      await page.locator('#found button').first().click();
      await page.locator('#records tbody tr').first().waitFor();
      await page.click('#do-import');
      await page.locator('#runs tbody tr').first().waitFor();
      await logout(page);
      await login(page, 'enc');
      await page.locator('#runs [data-run]').first().click();
      await page.locator('#start-dlg[open]').waitFor();
      await page.click('#start-go');
      await page.locator('#s-encode').waitFor();
      const { holder, pin } = await encodeCard(page, 1, 'S-2024-0001');
      await runEnded(page);
      // The counter's screen: 1280x800. The keypad, 確認 and the result
      // are all on it without scrolling (issue 13).
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.click('#nav [data-screen=handover]');
      await page.locator('#ho-reader option').first().waitFor({ state: 'attached' });
      await inViewport(page, '#ho-verify', 'the 確認 button');
      // A mistyped PIN: the holder's own with one digit wrong (a secret too).
      const wrong = String((Number(pin[0]) + 1) % 10) + pin.slice(1);
      appendFileSync(path.join(WORK, 'pins.seen'), wrong + '\n');
      for (const k of wrong) await page.click(`#keypad [data-key="${k}"]`);
      assert.equal(await page.locator('#pin-dots').innerText(), '●'.repeat(wrong.length));
      await snap(page, 'handover-keypad');
      await page.click('#ho-verify');
      await page.locator('#ho-result .verdict').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#ho-result .wrongpin').innerText(), /PINが違います.*残り 2 回/);
      // A mistyped PIN is not "this card cannot be handed out".
      assert.doesNotMatch(await page.locator('#ho-result').innerText(), /渡せません/);
      assert.equal((await page.locator('#ho-result .verdict > .big').first().innerText()).trim(), 'PINが違います');
      await inViewport(page, '#ho-result .verdict', 'the result of a wrong PIN');
      await inViewport(page, '#ho-verify', 'the 確認 button beside the result');
      await page.screenshot({ path: path.join(ART, 'handover-wrong-pin-1280x800.png') });
      assert.equal(await page.locator('#pin-dots').innerText(), '', 'the PIN leaves the page');
      assert.equal(await page.locator('#ho-id-form').isVisible(), false, 'no handover for a card that did not sign');
      // The card waits before it takes the next PIN; the page says so.
      await page.locator('#ho-wait', { hasText: '秒お待ちください' }).waitFor();
      assert.equal(await page.locator('#ho-verify').isDisabled(), true);
      await snap(page, 'handover-wrong-pin-wait');
      await page.locator('#ho-wait').waitFor({ state: 'hidden', timeout: 15000 });
      // Wrong again, on the keyboard this time.
      await page.locator('body').click({ position: { x: 5, y: 300 } });
      await page.keyboard.type(wrong);
      await page.keyboard.press('Enter');
      await page.locator('#ho-result .wrongpin', { hasText: '残り 1 回' }).waitFor({ timeout: CARD_T });
      await page.locator('#ho-wait').waitFor({ state: 'hidden', timeout: 25000 });
      // The last try: the page asks before the PIN goes.
      await page.locator('#ho-result').evaluate((e) => e.replaceChildren());
      await page.locator('body').click({ position: { x: 5, y: 300 } });
      await page.keyboard.type(pin);
      await page.keyboard.press('Enter');
      await page.locator('#last-dlg[open]').waitFor();
      assert.match(await page.locator('#last-dlg').innerText(), /あと1回/);
      await snap(page, 'handover-last-try');
      await page.click('#last-go');
      await page.locator('#ho-result .verdict.v-ok').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#ho-result').innerText(), /署名できました/);
      await inViewport(page, '#ho-result .verdict', 'the handover result');
      await inViewport(page, '#ho-verify', 'the 確認 button');
      await page.screenshot({ path: path.join(ART, 'handover-ok-1280x800.png') });
      // Every reason in Japanese: no English sentence on the screen.
      for (const li of await page.locator('#ho-result .reasons li').allInnerTexts())
        assert.doesNotMatch(li, /\b(the|card|certificate|signed|journal)\b/i, `an English reason: ${li}`);
      // How the holder was identified.
      await page.locator('#ho-id-form').waitFor();
      await snap(page, 'handover-ok');
      await page.click('#ho-id-save');
      await page.locator('#toast', { hasText: '本人確認の方法を選んでください' }).waitFor();
      await page.check('#ho-id-methods input[value=photo-id]');
      await page.fill('#ho-id-note', '運転免許証で確認');
      await snap(page, 'handover-identity');
      await page.click('#ho-id-save');
      await page.locator('#toast', { hasText: '本人確認を記録しました' }).waitFor();
      await page.locator('#ho-id-form').waitFor({ state: 'hidden' });
      await snap(page, 'handover-recorded');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }

    // The journal keeps it; `cardstation log handovers` shows and exports it.
    const enc = acct('enc');
    const log = (...a) => spawnSync(process.env.CS_BIN, ['log', ...a], { encoding: a.includes('--csv-cp932') ? 'latin1' : 'utf8' });
    const j = log('handovers', '--json');
    assert.equal(j.status, 0, j.stderr);
    const rows = JSON.parse(j.stdout);
    assert.equal(rows.length, 1, 'one handover');
    assert.equal(rows[0].method, 'photo-id');
    assert.equal(rows[0].note, '運転免許証で確認');
    assert.equal(rows[0].pin_checked, true, 'the holder\'s PIN signed on the card');
    assert.equal(rows[0].printed_no, 'S-2024-0001');
    assert.equal(rows[0].operator, enc.user, 'recorded by the account logged in');
    assert.ok(rows[0].holder && rows[0].cert_serial, 'holder and certificate named');
    const text = log('handovers');
    assert.match(text.stdout, new RegExp(`photo-id.*PIN checked yes.*operator ${enc.user}.*note 運転免許証で確認`));
    const csv = spawnSync(process.env.CS_BIN, ['log', 'handovers', '--csv-cp932']);
    const sheet = new TextDecoder('shift_jis').decode(csv.stdout);
    assert.match(sheet, /^event,at,run,card,chip_serial,printed_no,holder,cert_serial,method,pin_checked,verdict,operator,note\r\n/);
    assert.match(sheet, /,photo-id,yes,OK,[^,]+,運転免許証で確認\r\n$/);
    const iss = JSON.parse(log('--json').stdout);
    assert.equal(iss[0].operator, enc.user, 'the issuance names the encoding account');
    appendFileSync(path.join(ART, 'handovers.txt'), text.stdout);
  },

  // Service desk: find the holder, verify the card, mark it lost and take
  // the revocation TSV; export the journal as CSV.
  async desk() {
    const b = await browser();
    const { page } = b;
    try {
      await login(page, 'all');
      await importAndStart(page, 1, 0, '0123456789abcdef');
      const { holder } = await encodeCard(page, 1, 'S-2024-0001');
      await runEnded(page);
      // The service desk's own account from here on.
      await logout(page);
      await login(page, 'desk', '#s-desk');
      assert.deepEqual(await navShown(page), ['desk']);
      await page.locator('#desk-reader option').first().waitFor({ state: 'attached' });
      await page.click('#desk-verify');
      await page.locator('#desk-result .verdict.v-ok').waitFor({ timeout: CARD_T });
      await snap(page, 'desk-verify');
      const family = holder.split(/[ 　]/)[0];
      await page.fill('#search-q', family);
      await page.press('#search-q', 'Enter');
      await page.locator('#hits tbody tr').first().waitFor();
      assert.match(await page.locator('#hits tbody tr').first().innerText(), /S-2024-0001/);
      // The journal's word for the outcome, in Japanese (the API keeps 'verified').
      assert.match(await page.locator('#hits tbody tr').first().innerText(), /確認済み/);
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
      // The verdict on screen is read again: the card is lost now.
      await page.locator('#desk-result li[data-code="card-lost"]').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#desk-result').innerText(), /紛失として登録されています/);
      await snap(page, 'desk-lost');
      // The card comes back. The confirmation names the card and its
      // holder; a mistyped institution PUK, sent with Enter: the card
      // refuses it and nothing changes.
      await page.click('#desk-wipe');
      await page.locator('#wipe-dlg[open]').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#wipe-who').innerText(), new RegExp(holder.replace(/\s+/g, '\\s*')));
      assert.match(await page.locator('#wipe-ids').innerText(), /S-2024-0001/);
      assert.match(await page.locator('#wipe-ids').innerText(), /4B000001/);
      assert.equal(await page.locator('#wipe-live').isVisible(), false, 'a lost card has nothing live to decide on');
      await snap(page, 'desk-wipe-dialog');
      await page.fill('#wipe-puk', 'fedcba9876543210');
      await page.press('#wipe-puk', 'Enter');
      // The card has not said how many PUK tries it has left: it may be
      // the last, so the page asks first (issue 12: never spent unasked).
      await page.locator('#last-dlg[open]').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#last-dlg').innerText(), /残り回数が分かりません/);
      const wrongAnswer = page.waitForResponse((r) => r.url().endsWith('/api/wipe'), { timeout: CARD_T });
      await page.click('#last-go');
      // The engine's failure travels as its code and parameters (the
      // card's own count: the IsoApplet's PUK has 5 tries), and the page
      // says it in Japanese from the engine's catalogue (issue 13).
      const wrong = await (await wrongAnswer).json();
      assert.equal(wrong.code, 'desk.puk-wrong', `the desk's failure has its code: ${JSON.stringify(wrong)}`);
      assert.equal(wrong.params.tries, '4', 'and the tries left as a parameter');
      await page.locator('#toast.bad', { hasText: 'PUK が違います。PUK の残りは 4 回で、使い切るとロックされます。何も変更していません' })
        .waitFor({ timeout: CARD_T });
      await page.click('#desk-wipe');
      await page.locator('#wipe-dlg[open]').waitFor({ timeout: CARD_T });
      await page.fill('#wipe-puk', PUK);
      await page.press('#wipe-puk', 'Enter');
      await page.locator('#desk-wait', { hasText: '秒お待ちください' }).waitFor();
      assert.equal(await page.locator('#desk-wipe').isDisabled(), true);
      assert.equal(await page.inputValue('#wipe-puk'), '', 'the held-back PUK leaves the page too');
      await snap(page, 'desk-puk-wait');
      await page.locator('#desk-wait').waitFor({ state: 'hidden', timeout: 15000 });
      // Wiped with the right PUK for re-issue; the verdict is read again.
      await page.click('#desk-wipe');
      await page.locator('#wipe-dlg[open]').waitFor({ timeout: CARD_T });
      await page.fill('#wipe-puk', PUK);
      await page.press('#wipe-puk', 'Enter');
      await page.locator('#desk-done', { hasText: '初期化しました' }).waitFor({ timeout: CARD_T });
      assert.equal(await page.inputValue('#wipe-puk'), '', 'the PUK field is cleared');
      assert.equal(await page.locator('#desk-result li[data-code="card-lost"]').count(), 0, 'the old verdict is gone');
      await snap(page, 'desk-wiped');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },
  // A run with two readers, as the office works it (issue 13): the start
  // dialog does not take an empty institution PUK; the printed-number box
  // names and highlights the reader it asks for; このカードを使わない is
  // no failure; a finished card and a card marked lost, put in during the
  // run, get a clear warning, not a holder and not a 失敗.
  async refused() {
    const b = await browser();
    const { page } = b;
    const api = (method, p, fields) => page.evaluate(async ([m, p, f]) => {
      const { csrf } = await (await fetch('/api/session')).json();
      const r = await fetch(p, m === 'GET' ? {} : { method: m, body: new URLSearchParams(f || {}),
        headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' } });
      const text = await r.text();
      let json = null; try { json = JSON.parse(text); } catch { json = null; }
      return { status: r.status, json };
    }, [method, p, fields]);
    try {
      await page.setViewportSize({ width: 1280, height: 800 });
      await login(page, 'all');
      await page.locator('#found button').first().click();
      await page.locator('#records tbody tr').nth(3).waitFor();
      // Names stay on one line beside the long serials.
      const rows = await page.locator('#records tbody tr').all();
      let longest = 0;
      for (const row of rows) {
        const [serial, name] = [row.locator('td').nth(0), row.locator('td').nth(1)];
        longest = Math.max(longest, (await serial.innerText()).trim().length);
        const lh = await name.evaluate((e) => parseFloat(getComputedStyle(e).lineHeight));
        const h = await name.evaluate((e) => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; });
        assert.equal(h, 1, `the name ${await name.innerText()} is on one line (line height ${lh})`);
      }
      assert.ok(longest >= 38, `a serial of ${longest} digits is in the table`);
      await snap(page, 'inspect-1280');
      await page.click('#do-import');
      await page.locator('#start-dlg[open]').waitFor();
      // An empty institution PUK is refused, by the page and by the server.
      await page.click('#start-go');
      await page.locator('#start-why', { hasText: '機関のPUK' }).waitFor();
      assert.equal(await page.locator('#start-dlg[open]').count(), 1, 'the dialog stays open');
      const runId = (await api('GET', '/api/runs')).json.runs.at(-1).id;
      const bare = await api('POST', '/api/run/start', { run_id: String(runId) });
      assert.deepEqual([bare.status, bare.json.error], [400, 'puk-needed'], 'the server refuses it too');
      await snap(page, 'start-puk-needed');
      // Enter in the PUK field starts the run.
      await page.fill('#start-puk', PUK);
      appendFileSync(path.join(WORK, 'pins.seen'), PUK + '\n');
      await page.press('#start-puk', 'Enter');
      await page.locator('#s-encode').waitFor();
      await page.locator('#run-count', { hasText: '0 / 3' }).waitFor();
      // The engine's words come by code from its own catalogue, in the
      // session's language: no English step line on the Japanese screen.
      const ja = (await api('GET', '/api/codes?lang=ja')).json.codes;
      const en = (await api('GET', '/api/codes?lang=en')).json.codes;
      assert.equal(en['reader.insert'], 'insert a card');
      assert.ok(ja['reader.insert'] && !/[a-z]{3}/.test(ja['reader.insert']), `reader.insert in Japanese: ${ja['reader.insert']}`);
      await page.locator('.reader[data-reader="0"] .rtext', { hasText: ja['reader.insert'] }).waitFor();
      for (const txt of await page.locator('.reader .rtext').allInnerTexts())
        assert.doesNotMatch(txt, /insert a card/, 'no English step line');

      // A card in the second reader: the box says リーダー 2 and that
      // reader is highlighted.
      tb('tb_swap', '1', card(1));
      await page.locator('#confirm-form').waitFor({ state: 'visible', timeout: CARD_T });
      assert.match(await page.locator('#confirm-reader').innerText(), /リーダー 2/);
      assert.match(await page.locator('#confirm-label').innerText(), /リーダー 2/);
      assert.deepEqual(await page.locator('.reader.asking').evaluateAll((es) => es.map((e) => e.dataset.reader)), ['1']);
      await snap(page, 'two-readers-ask');
      // このカードを使わない: no failure, the holder goes back to the queue.
      await page.click('#skip');
      await page.locator('.reader.out-skipped[data-reader="1"]').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('.reader.out-skipped .rnotice').innerText(), /使わなかった/);
      let st = (await api('GET', '/api/state')).json;
      assert.equal(st.session.failed, 0, 'a card left out is not a failure');
      assert.equal(st.failures.length, 0);
      assert.equal(await page.locator('.reader.out-failed').count(), 0);
      await snap(page, 'skipped');
      // The card goes in again and is written.
      const { holder } = await encodeCard(page, 1, 'S-2024-0001', { reader: 1 });
      await page.locator('#run-count', { hasText: '1 / 3' }).waitFor();
      assert.notEqual((await page.locator('#next-holder').innerText()).trim(), holder, '次の方 is not the holder just done');
      tb('tb_remove', '1');

      // The finished card, put into the first reader by mistake.
      const queued = (await api('GET', '/api/state')).json.progress.queued;
      tb('tb_swap', '0', card(1));
      await page.locator('#enc-warn [data-notice="issued"]').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#enc-warn').innerText(), /リーダー 1：このカードはすでに発行済み/);
      await page.locator('.reader.out-refused[data-reader="0"]').waitFor();
      st = (await api('GET', '/api/state')).json;
      assert.equal(st.session.failed, 0, 'a finished card is no failure');
      assert.equal(st.progress.queued, queued, 'and took no holder from the queue');
      assert.ok(!st.readers[0].holder, 'no holder shown for it');
      await snap(page, 'warn-issued');
      tb('tb_remove', '0');

      // The holder reports the card lost at the desk meanwhile (the
      // journal only: the run keeps the readers).
      const iss = journalSql("SELECT i.id FROM issuances i JOIN cards c " +
        "ON c.id = i.card_id WHERE c.printed_no = 'S-2024-0001' AND i.outcome = 'verified'");
      assert.match(iss, /^[0-9]+$/, 'the issuance of the card just written');
      const lost = await api('POST', '/api/lost', { issuance: iss, reason: '1' });
      assert.equal(lost.status, 200, 'marked lost during the run');
      tb('tb_swap', '0', card(1));
      await page.locator('#enc-warn [data-notice="lost"]').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#enc-warn').innerText(), /紛失として登録されています/);
      st = (await api('GET', '/api/state')).json;
      assert.equal(st.session.failed, 0, 'a lost card is no failure');
      assert.equal(st.progress.queued, queued, 'and took no holder from the queue');
      await snap(page, 'warn-lost');
      // The run ends: one done, nothing failed.
      await page.click('#pause');
      await runEnded(page);
      await page.locator('#sum-text', { hasText: '完了 1 枚、失敗 0 件' }).waitFor();
      assert.equal(await page.locator('#sum-fail tbody tr').count(), 0);
      await snap(page, 'refused-summary');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },

  // PIN reset at the desk (issue 10): the holder types a new PIN twice, or
  // a random one goes to a letter; the card then signs with it (OpenSC and
  // OpenSSL judge), not with the old one. Then the card comes back while
  // its certificate is live: the wipe makes the UPKI revocation line
  // (affiliationChanged), and the journal has it revoked.
  async pinreset() {
    const b = await browser();
    const { page } = b;
    const NEWPIN = '24681357';
    try {
      await login(page, 'all');
      await importAndStart(page, 1, 0, PUK);
      const { holder, pin } = await encodeCard(page, 1, 'S-2024-0001');
      await runEnded(page);
      await logout(page);
      await login(page, 'desk', '#s-desk');
      await page.locator('#desk-reader option').first().waitFor({ state: 'attached' });
      appendFileSync(path.join(WORK, 'pins.seen'), NEWPIN + '\n');
      // The holder types the new PIN; twice, and a typo is caught.
      await page.click('#desk-pin');
      await page.locator('#pin-dlg[open]').waitFor({ timeout: CARD_T });
      assert.match(await page.locator('#pin-who').innerText(), new RegExp(holder.replace(/\s+/g, '\\s*')));
      assert.match(await page.locator('#pin-ids').innerText(), /S-2024-0001/);
      await page.fill('#pin-new', NEWPIN);
      await page.fill('#pin-new2', NEWPIN.slice(0, -1) + '9');
      await page.fill('#pin-puk', PUK);
      await page.press('#pin-puk', 'Enter');
      await page.locator('#toast.bad', { hasText: '2回入力したPINが違います' }).waitFor();
      assert.equal(await page.locator('#pin-dlg[open]').count(), 1, 'the dialog stays for the PINs again');
      await page.fill('#pin-new', NEWPIN);
      await page.fill('#pin-new2', NEWPIN);
      await page.fill('#pin-puk', PUK);
      await snap(page, 'pin-reset-dialog');
      await page.press('#pin-puk', 'Enter');
      // The card's PUK count is not known: the page asks first.
      await page.locator('#last-dlg[open]').waitFor({ timeout: CARD_T });
      await page.click('#last-go');
      await page.locator('#desk-done', { hasText: '新しいPINを設定しました' }).waitFor({ timeout: CARD_T });
      for (const id of ['#pin-new', '#pin-new2', '#pin-puk']) assert.equal(await page.inputValue(id), '', `${id} cleared`);
      await snap(page, 'pin-reset-done');
      assert.equal(signsWith(0, pin), false, 'the old PIN no longer opens the key');
      assert.equal(signsWith(0, NEWPIN), true, 'the card signs with the new PIN (pkcs11-tool, openssl)');
      const v = await page.evaluate(async (p) => {
        const { csrf } = await (await fetch('/api/session')).json();
        const r = await fetch('/api/verify', { method: 'POST', body: new URLSearchParams({ reader: '0', pin: p }),
          headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' } });
        return r.json();
      }, NEWPIN);
      assert.equal(v.verdict, 'OK', 'verify says OK with the new PIN');

      // A random PIN for a letter, shown once.
      await page.click('#desk-pin');
      await page.locator('#pin-dlg[open]').waitFor({ timeout: CARD_T });
      await page.check('#pin-form input[value=random]');
      assert.equal(await page.locator('#pin-new').isVisible(), false);
      await page.fill('#pin-puk', PUK);
      await page.press('#pin-puk', 'Enter');
      // A right PUK does not tell the count either: asked again.
      await page.locator('#last-dlg[open]').waitFor({ timeout: CARD_T });
      await page.click('#last-go');
      await page.locator('#s-letter').waitFor({ timeout: CARD_T });
      assert.equal((await page.locator('#l-title').innerText()).trim(), '新しいPINのお知らせ');
      const rnd = (await page.locator('#l-pin').innerText()).trim();
      assert.match(rnd, /^[0-9]{6,8}$/);
      appendFileSync(path.join(WORK, 'pins.seen'), rnd + '\n');
      await snap(page, 'pin-reset-letter');
      await page.click('#l-done');
      await page.locator('#s-desk').waitFor();
      assert.equal(await page.locator('#l-pin').innerText(), '', 'the PIN leaves the page');
      assert.equal(signsWith(0, rnd), true, 'the card signs with the letter\'s PIN');
      const notes = journalSql("SELECT operator FROM events WHERE kind = 'card.pin-reset' ORDER BY id");
      assert.deepEqual(notes.split('\n'), [acct('desk').user, acct('desk').user], 'two resets journaled with the desk account');

      // The server holds the page to the card it named, and to a choice
      // for a live certificate: nothing changes without them.
      const deskPost = (p, f) => page.evaluate(async ([p, f]) => {
        const { csrf } = await (await fetch('/api/session')).json();
        const r = await fetch(p, { method: 'POST', body: new URLSearchParams(f),
          headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' } });
        return { status: r.status, json: await r.json() };
      }, [p, f]);
      const swapped = await deskPost('/api/pin-reset', { reader: '0', puk: PUK, chip: '4790-5040-4B00FFFF', confirm_last: '1',
        new_pin: '13572468', new_pin2: '13572468' });
      assert.deepEqual([swapped.status, swapped.json.error], [409, 'other-card'], 'a card other than the one named is not touched');
      const undecided = await deskPost('/api/wipe', { reader: '0', puk: PUK, confirm_last: '1' });
      assert.deepEqual([undecided.status, undecided.json.error], [409, 'live-cert'], 'a live certificate needs the operator\'s choice');
      assert.equal(undecided.json.code, 'desk.live-refuse', 'the engine\'s code travels with it');
      assert.equal(undecided.json.params.holder, holder, 'and the holder as a parameter');
      assert.equal(undecided.json.certs.length, 1, 'the live certificate is named');
      assert.equal(undecided.json.certs[0].holder, holder);
      assert.equal(signsWith(0, rnd), true, 'neither request changed the card');
      // The card comes back, its certificate still live: the wipe asks,
      // and makes the revocation line (affiliationChanged by default).
      await page.click('#desk-wipe');
      await page.locator('#wipe-dlg[open]').waitFor({ timeout: CARD_T });
      await page.locator('#wipe-live').waitFor();
      assert.equal(await page.inputValue('#wipe-reason'), '3', 'affiliationChanged by default');
      await page.fill('#wipe-puk', PUK);
      await snap(page, 'returned-live-dialog');
      const tsvWait = page.waitForEvent('download');
      await page.press('#wipe-puk', 'Enter');
      await page.locator('#last-dlg[open]').waitFor({ timeout: CARD_T });
      await page.click('#last-go');
      const tsv = await tsvWait;
      const tsvPath = path.join(ART, 'returned-revocation.tsv');
      await tsv.saveAs(tsvPath);
      const line = readFileSync(tsvPath, 'latin1');
      assert.match(line, /\r\n$/, 'CRLF');
      const cols = line.replace(/\r\n$/, '').split('\t');
      assert.equal(cols.length, 15, 'fifteen columns');
      assert.match(cols[3], /^[0-9]+$/, 'column 4 is the serial');
      assert.equal(cols[4], '3', 'reason affiliationChanged');
      assert.equal(cols[9], 'pki-admin@academe.example.ac.jp', 'column 10 the administrator');
      await page.locator('#desk-done', { hasText: '失効申請TSV' }).waitFor({ timeout: CARD_T });
      await snap(page, 'returned-wiped');
      const out = journalSql(
        `SELECT i.outcome, c.state FROM issuances i JOIN cards c ON c.id = i.card_id WHERE i.cert_serial = '${cols[3]}'`);
      assert.equal(out, 'revoked|returned', 'the journal has the certificate revoked and the card returned');
      assert.equal(signsWith(0, rnd), false, 'no key of the holder signs any more');
    } catch (e) { await lastWords(page); throw e; } finally { await b.close(); }
  },
};

// On failure: what the screen and the server showed.
async function lastWords(page) {
  try {
    await snap(page, 'FAILED');
    console.error('toast at failure:', await page.locator('#toast').innerText().catch(() => ''));
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
