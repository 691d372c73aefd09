// api.mjs STORY - the kiosk's stories told over plain HTTP, no browser.
//
//   access    operators log in through PAM (right and wrong passwords, an
//             account without a role); each role may use exactly its API
//             routes, checked route by route against the server
//   attacker  a program on the same machine without this start's key
//             tries everything while a PIN letter waits and an issued card
//             sits in the reader; afterwards the operator's session, the
//             letter, the card's PIN tries and the journal are as they were
//   server_lost  (PostgreSQL) the journal's server restarted mid-run
//
// Started by story.sh with KS_URL, KS_LAUNCH (address + key), the
// accounts of accounts.sh, KS_DL, KS_WORK, TB_LIB. Every wait is on an
// event the server sends, with a time limit; nothing sleeps.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { Client, raw, form } from './client.mjs';

const URL0 = process.env.KS_URL;
const LAUNCH = process.env.KS_LAUNCH;
const WORK = process.env.KS_WORK;
const CARD_T = 90000;
// The institution PUK: the card profile takes one, and an operator who
// may type it must (issue 13).
const PUK = '0123456789abcdef';
const acct = (r) => ({ user: process.env[`KS_USER_${r}`], pw: process.env[`KS_PW_${r}`], name: process.env[`KS_NAME_${r}`] });

function tb(...args) {
  const r = spawnSync('bash', ['-c', 'source "$TB_LIB"; "$@"', 'tb', ...args],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 });
  assert.equal(r.status, 0, `tb ${args.join(' ')} failed`);
}

// Start a run with body, put images[i] into reader i, answer each
// reader's printed-number question (S-0001, S-0002), wait for both cards
// done, then pause the run so that the readers are free for the desk.
async function twoCardsThenPause(op, es, body, images) {
  // Every view is numbered, later ones higher (the page keeps the newest:
  // a GET's answer may come after a later event's view).
  const seqs = [];
  es.waiters.push({ type: 'state', pred: (s) => { seqs.push(s.seq); return false; }, resolve: () => {} });
  const asking = (i) => es.wait('state', (s) => s.readers && s.readers[i] && s.readers[i].confirm, CARD_T, `reader ${i} asks`);
  const a0 = asking(0), a1 = asking(1);
  const st = await op.post('/api/run/start', body);
  assert.equal(st.status, 200, st.body);
  images.forEach((img, i) => tb('tb_swap', String(i), path.join(WORK, img)));
  await a0; await a1;
  const done = es.wait('state', (s) => s.progress && s.progress.done === 2, CARD_T, 'two cards done');
  assert.equal((await op.post('/api/run/answer', { reader: '0', printed: 'S-0001' })).status, 200);
  assert.equal((await op.post('/api/run/answer', { reader: '1', printed: 'S-0002' })).status, 200);
  await done;
  const now = await op.get('/api/state');
  assert.equal(now.status, 200, now.body);
  assert.ok(seqs.length > 2 && seqs.every((q, i) => Number.isInteger(q) && (i === 0 || q > seqs[i - 1])),
    `the views' numbers rise: ${seqs}`);
  assert.ok(now.json.seq > seqs[seqs.length - 1], `a GET after the events is newer: ${now.json.seq} after ${seqs}`);
  const ended = es.wait('end', () => true, CARD_T, 'run paused');
  assert.equal((await op.post('/api/run/control', { action: 'pause' })).status, 200);
  await ended;
  es.close();
}

async function operator(role) {
  const c = await new Client(URL0).unlock(LAUNCH);
  assert.equal((await c.session()).status, 200);
  const a = acct(role);
  const res = await c.login(a.user, a.pw);
  assert.equal(res.status, 200, `${role} logs in: ${res.body}`);
  return c;
}

// Route -> the roles that may use it, with arguments that change nothing
// (no card in the reader, runs and issuances that do not exist).
const ROUTES = [
  ['GET', '/api/state', null, ['enc']],
  ['GET', '/api/readers', null, ['enc', 'desk']],
  ['GET', '/api/runs', null, ['enc', 'adm']],
  ['GET', '/api/folders', null, ['adm']],
  ['GET', '/api/codes?lang=ja', null, ['enc', 'desk', 'adm']],
  ['POST', '/api/inspect', { dir: '/nonexistent' }, ['adm']],
  ['POST', '/api/import', { dir: '/nonexistent' }, ['adm']],
  ['POST', '/api/run/start', { run_id: '999999' }, ['enc']],
  ['POST', '/api/run/answer', { reader: '0', printed: 'X-1' }, ['enc']],
  ['POST', '/api/run/control', { action: 'pause' }, ['enc']],
  ['POST', '/api/letter', { id: '00' }, ['enc']],
  ['POST', '/api/handover', { card_id: '1', method: 'photo-id' }, ['enc']],
  ['GET', '/api/search?q=x', null, ['desk']],
  ['GET', '/api/export.csv', null, ['desk']],
  ['POST', '/api/verify', { reader: '0' }, ['enc', 'desk']],
  ['POST', '/api/lost', { issuance: '999999' }, ['desk']],
  ['POST', '/api/wipe', { reader: '0', puk: '0123456789abcdef' }, ['desk']],
  ['POST', '/api/pin-reset', { reader: '0', puk: '0123456789abcdef', new_pin: '24681357', new_pin2: '24681357' }, ['desk']],
];

const stories = {
  async access() {
    const c = await new Client(URL0).unlock(LAUNCH);
    assert.equal((await c.session()).status, 200);
    const enc = acct('enc');
    // Wrong password, unknown account, empty password, no role.
    let r = await c.login(enc.user, enc.pw + 'x');
    assert.equal(r.status, 401, 'a wrong password is refused');
    assert.equal(r.json.error, 'bad-login');
    r = await c.login('kst-nobody-here', 'whatever1');
    assert.equal(r.status, 401, 'an unknown account is refused the same way');
    assert.equal(r.json.error, 'bad-login');
    r = await c.login(enc.user, '');
    assert.equal(r.status, 400, 'an empty password never reaches PAM');
    r = await c.login(acct('none').user, acct('none').pw);
    assert.equal(r.status, 403, 'an account in no role group is not an operator');
    assert.equal(r.json.error, 'no-role');
    r = await c.get('/api/state');
    assert.equal(r.status, 401, 'after all that nobody is logged in');
    // The right password.
    r = await c.login(enc.user, enc.pw);
    assert.equal(r.status, 200);
    assert.equal(r.json.account, enc.user, 'the account PAM settled on');
    assert.equal(r.json.operator, enc.name, 'the full name from the account');
    assert.deepEqual(r.json.roles, ['encode']);

    // Each role: exactly its routes.
    const expectRoles = { enc: ['encode'], desk: ['desk'], adm: ['admin'], all: ['encode', 'desk', 'admin'] };
    for (const role of ['enc', 'desk', 'adm', 'all']) {
      const op = await operator(role);
      assert.deepEqual((await op.session()).json.roles, expectRoles[role]);
      for (const [method, p, fields, who] of ROUTES) {
        const res = await op.req(method, p, { fields });
        const allowed = role === 'all' || who.includes(role);
        const refused = res.status === 403 && res.json && res.json.error === 'role';
        assert.equal(refused, !allowed, `${role} ${method} ${p}: ${allowed ? 'allowed' : 'refused'} (got ${res.status} ${res.body.slice(0, 120)})`);
      }
      // The institution PUK of a run is the administrator's.
      if (role === 'enc') {
        const res = await op.post('/api/run/start', { run_id: '999999', puk: '0123456789abcdef' });
        assert.equal(res.status, 403, 'an encoding operator cannot set the institution PUK');
        assert.equal(res.json.error, 'role');
      }
      // The event stream is for logged-in operators.
      const es = op.events();
      await es.wait('hello', () => true, 10000, `${role}'s stream opens`);
      es.close();
      assert.equal((await op.post('/api/logout', {})).status, 200);
      assert.equal((await op.get('/api/runs')).status, 401, `${role} is logged out`);
    }
    console.log('access: PAM login right/wrong/no role; role matrix of', ROUTES.length, 'routes x 4 accounts');
  },

  async attacker() {
    // The operator encodes one card: a PIN letter waits for their session,
    // the issued card stays in the reader.
    const op = await operator('all');
    // The page names folders: only those inside --import-root are read, by
    // where they lead once links are followed (a copy of the download sits
    // outside the root; a link to it, a path through "..", and a folder
    // inside whose zips are links out are all refused).
    const outside = path.join(WORK, 'outside');
    const media = path.join(WORK, 'media');
    cpSync(process.env.KS_DL, outside, { recursive: true });
    symlinkSync(outside, path.join(media, 'usb', 'link'));
    mkdirSync(path.join(media, 'usb', 'zips'));
    for (const f of readdirSync(outside)) symlinkSync(path.join(outside, f), path.join(media, 'usb', 'zips', f));
    for (const dir of [outside, path.join(media, 'usb', 'link'), path.join(media, '..', 'outside'), path.join(media, 'usb', 'zips'), '/']) {
      for (const route of ['/api/inspect', '/api/import']) {
        const res = await op.post(route, { dir });
        assert.equal(res.status, 403, `${route} ${dir}: refused (${res.status} ${res.body.slice(0, 120)})`);
        assert.equal(res.json.error, 'outside-roots');
      }
    }
    assert.equal((await op.get('/api/runs')).json.runs.length, 0, 'no run was imported from outside');
    // A folder inside the root whose two archives are swapped: refused
    // whole with the engine's code and parameters (the page renders them
    // from the catalogue), no English sentence to show.
    const swapped = path.join(media, 'usb', 'swapped');
    mkdirSync(swapped);
    cpSync(path.join(process.env.KS_DL, 'clientAll.zip'), path.join(swapped, 'clientAllPin.zip'));
    cpSync(path.join(process.env.KS_DL, 'clientAllPin.zip'), path.join(swapped, 'clientAll.zip'));
    for (const [route, error] of [['/api/inspect', 'refused'], ['/api/import', 'import']]) {
      const res = await op.post(route, { dir: swapped });
      assert.equal(res.status, 422, `${route} swapped: ${res.body}`);
      assert.equal(res.json.error, error, res.body);
      assert.equal(res.json.code, 'bundle.swapped', res.body);
      assert.equal(res.json.params.certs, path.join(swapped, 'clientAll.zip'), res.body);
    }
    assert.equal((await op.get('/api/runs')).json.runs.length, 0, 'no run was imported from the swapped pair');
    assert.equal((await op.post('/api/inspect', { dir: process.env.KS_DL })).status, 200, 'a folder inside the root is read');
    const es = op.events();
    await es.wait('hello', () => true, 10000, 'stream');
    const imp = await op.post('/api/import', { dir: process.env.KS_DL });
    assert.equal(imp.status, 200, imp.body);
    const runId = imp.json.run_id;
    const asking = es.wait('state', (s) => s.readers && s.readers[0] && s.readers[0].confirm, CARD_T, 'card number asked');
    assert.equal((await op.post('/api/run/start', { run_id: String(runId), puk: PUK })).status, 200);
    tb('tb_swap', '0', path.join(WORK, 'card1.img'));
    await asking;
    const lettered = es.wait('state', (s) => s.letters_waiting === 1, CARD_T, 'letter waits');
    const ended = es.wait('end', () => true, CARD_T, 'run ends');
    assert.equal((await op.post('/api/run/answer', { reader: '0', printed: 'S-2024-0001' })).status, 200);
    await lettered;
    await ended;
    es.close();
    const st = await op.get('/api/state');
    assert.equal(st.json.letters.length, 1, 'the operator sees their letter');
    const letterId = st.json.letters[0].id;
    const before = await op.post('/api/verify', { reader: '0' });
    assert.equal(before.status, 200, before.body);
    assert.equal(before.json.verdict, 'OK');
    const tries0 = before.json.pin_tries;
    assert.ok(tries0 >= 2, `the card has its PIN tries (${tries0})`);
    const sid = op.cookies.ks_sid;

    // --- the attacker: no key -------------------------------------------------
    const A = (m, p, h = {}, b = null) => raw(URL0, m, p, h, b);
    const nokey = (res, what) => {
      assert.equal(res.status, 403, `${what}: refused (${res.status} ${res.body.slice(0, 80)})`);
      assert.match(res.body, /no-key/, `${what}: for want of the key`);
      assert.equal(res.headers['set-cookie'], undefined, `${what}: no cookie handed out`);
      assert.doesNotMatch(res.body, new RegExp(letterId), `${what}: no letter id`);
      assert.equal(res.headers.connection, 'close', `${what}: the connection is not kept`);
    };
    const postH = { 'Content-Type': 'application/x-www-form-urlencoded' };
    nokey(await A('GET', '/api/session'), 'session');
    nokey(await A('GET', '/api/state'), 'state');
    nokey(await A('GET', '/api/runs'), 'runs');
    nokey(await A('GET', '/api/search?q=a'), 'search');
    nokey(await A('GET', '/api/export.csv'), 'export');
    nokey(await A('GET', '/api/export.csv?enc=utf8', { Cookie: `ks_sid=${sid}` }), 'export with a stolen session cookie');
    nokey(await A('GET', '/api/events'), 'events');
    nokey(await A('POST', '/api/letter', postH, form({ id: letterId })), 'the letter, id known');
    nokey(await A('POST', '/api/letter', { ...postH, Cookie: `ks_sid=${sid}` }, form({ id: letterId })), 'the letter with a stolen session cookie');
    for (let i = 0; i < 3; i++) nokey(await A('POST', '/api/verify', postH, form({ reader: '0', pin: '000000' })), `verify ${i + 1}`);
    for (let i = 0; i < 6; i++) nokey(await A('POST', '/api/wipe', postH, form({ reader: '0', puk: 'ffffffffffffffff' })), `wipe ${i + 1}`);
    for (let i = 0; i < 3; i++) nokey(await A('POST', '/api/pin-reset', postH, form({ reader: '0', puk: 'ffffffffffffffff', new_pin: '111111', new_pin2: '111111' })), `PIN reset ${i + 1}`);
    nokey(await A('POST', '/api/login', postH, form({ user: acct('all').user, password: 'guess-1' })), 'login');
    for (let i = 0; i < 10; i++) nokey(await A('GET', '/api/session'), `session slot ${i + 1}`);
    const guess = 'a'.repeat(64);
    nokey(await A('GET', '/api/state', { Cookie: `ks_key=${guess}` }), 'a guessed key cookie');
    nokey(await A('GET', '/api/state', { 'X-Kiosk-Key': guess }), 'a guessed key header');
    nokey(await A('POST', '/api/key', { 'X-Kiosk-Key': guess }), 'trading a guessed key');
    nokey(await A('POST', '/api/lost', postH, form({ issuance: '1' })), 'lost');
    nokey(await A('POST', '/api/run/control', postH, form({ action: 'cancel' })), 'cancel the run');
    // Only the page's own files answer, and they say nothing.
    const page = await A('GET', '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers.connection, 'close');

    // --- nothing happened -----------------------------------------------------
    const s2 = await op.session();
    assert.equal(s2.json.account, acct('all').user, 'the operator is still logged in (no eviction)');
    assert.equal(op.cookies.ks_sid, sid, 'with the same session');
    // Another page with the key, another session: the letter is not theirs.
    const other = await operator('enc');
    const ost = await other.get('/api/state');
    assert.equal(ost.json.letters.length, 0, 'another session sees no letter id');
    assert.equal(ost.json.letters_waiting, 1, 'only that one waits');
    const steal = await other.post('/api/letter', { id: letterId });
    assert.equal(steal.status, 403, 'another session cannot fetch it');
    assert.equal(steal.json.error, 'not-yours');
    const letter = await op.post('/api/letter', { id: letterId });
    assert.equal(letter.status, 200, 'the letter is still there, for its session');
    assert.match(letter.json.pin, /^[0-9]{6,8}$/);
    appendFileSync(path.join(WORK, 'pins.seen'), letter.json.pin + '\n');
    assert.equal((await op.post('/api/letter', { id: letterId })).status, 410, 'once');
    const after = await op.post('/api/verify', { reader: '0' });
    assert.equal(after.json.pin_tries, tries0, 'no PIN try was spent');
    assert.equal(after.json.verdict, 'OK', 'the card is as issued, not wiped');

    // The guard, with the key: a wrong PIN, then the card waits.
    // A mistyped PIN: the holder's own with one digit wrong (a secret too).
    const wrong = String((Number(letter.json.pin[0]) + 1) % 10) + letter.json.pin.slice(1);
    appendFileSync(path.join(WORK, 'pins.seen'), wrong + '\n');
    const w1 = await op.post('/api/verify', { reader: '0', pin: wrong });
    assert.equal(w1.status, 200);
    assert.equal(w1.json.pin_tries, tries0 - 1, 'the wrong PIN cost one try');
    assert.ok(w1.json.next_try_ms > 0, 'and says when the next may come');
    const w2 = await op.post('/api/verify', { reader: '0', pin: letter.json.pin });
    assert.equal(w2.status, 429, 'the next PIN at once is held back');
    assert.equal(w2.json.error, 'wait');
    assert.ok(w2.json.retry_ms > 0 && w2.json.retry_ms <= 5000);
    const w3 = await op.post('/api/verify', { reader: '0' });
    assert.equal(w3.json.pin_tries, tries0 - 1, 'the held-back PIN never reached the card');

    const log = spawnSync(process.env.CS_BIN, ['log', '--json'], { encoding: 'utf8' });
    const rows = JSON.parse(log.stdout);
    assert.equal(rows.length, 1, 'one issuance in the journal');
    assert.equal(rows[0].outcome, 'verified');
    assert.equal(rows[0].operator, acct('all').user, 'the journal names the account');
    console.log('attacker: 33 requests without the key, all refused; letter, session, card and journal unchanged');
  },
};

// Two desk verifies on two readers at the same moment, many times: each
// reports its own card (the PKCS#15 TokenInfo serial the station wrote is
// the card's chip serial), never its neighbour's.
stories.two_desks = async () => {
  const op = await operator('all');
  const es = op.events();
  await es.wait('hello', () => true, 10000, 'stream');
  const imp = await op.post('/api/import', { dir: process.env.KS_DL });
  assert.equal(imp.status, 200, imp.body);
  await twoCardsThenPause(op, es, { run_id: String(imp.json.run_id), puk: PUK }, ['card1.img', 'card2.img']);
  const want = ['4790-5040-4B000001', '4790-5040-4B000002'];
  for (let round = 0; round < 10; round++) {
    const reps = await Promise.all([0, 1].map((i) => op.post('/api/verify', { reader: String(i) })));
    reps.forEach((rep, i) => {
      assert.equal(rep.status, 200, rep.body);
      assert.equal(rep.json.chip_serial, want[i], `round ${round}: reader ${i}'s card`);
      assert.equal((rep.json.pkcs15_serial || '').toUpperCase(), want[i].replace(/-/g, ''),
        `round ${round}: reader ${i} reports its own token, not its neighbour's (${rep.json.pkcs15_serial})`);
      assert.equal(rep.json.verdict, 'OK', `round ${round}: reader ${i}: ${rep.body.slice(0, 200)}`);
    });
  }
  // The card was read by a child of its own (`cardstation __desk`): the
  // kiosk, a threaded server, never loaded OpenSC.
  const maps = readFileSync(`/proc/${process.env.KS_PID}/maps`, 'utf8');
  assert.ok(maps.includes('libmicrohttpd'), 'the maps read are the kiosk\'s');
  assert.ok(!/opensc/i.test(maps), 'the kiosk process has OpenSC mapped');
  // One shape for a report: the command line's `verify --json` and the
  // kiosk's desk answer say the same of the same card, member by member.
  const kv = await op.post('/api/verify', { reader: '0' });
  const cli = spawnSync(process.env.CS_BIN, ['verify', '--reader', process.env.KS_READER,
    '--ca', path.join(process.env.KS_DL, 'ca.pem'), '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const fromKiosk = kv.json;
  assert.equal(typeof fromKiosk.next_try_ms, 'number', 'the kiosk adds when the next PIN may come');
  delete fromKiosk.next_try_ms;
  assert.ok(fromKiosk.certificates.length > 0 && fromKiosk.journal.card_known, 'a report with a card and its journal');
  assert.deepEqual(fromKiosk, JSON.parse(cli.stdout), 'verify --json and the kiosk report differ');
  console.log('two_desks: 10 rounds of two verifies at once, each its own card; OpenSC never in the kiosk; one report shape');
};

// A run mixing card families started at the kiosk: each profile that takes
// an institution PUK has its own field (puk.NAME, as the command line's
// --puk PROFILE=...), the plain PUK serves the others; a profile left
// without any is refused at start, naming it. The PIV token written in the
// run carries its own PUK (8 digits), judged by yubico-piv-tool.
stories.mixed_puks = async () => {
  const PIV_PUK = '73519284';
  appendFileSync(path.join(WORK, 'pins.seen'), PIV_PUK + '\n');
  const op = await operator('all');
  const es = op.events();
  await es.wait('hello', () => true, 10000, 'stream');
  const imp = await op.post('/api/import', { dir: process.env.KS_DL });
  assert.equal(imp.status, 200, imp.body);
  const runs = await op.get('/api/runs');
  const profs = Object.fromEntries((runs.json.puk_profiles || []).map((p) => [p.name, p]));
  assert.deepEqual(profs.isoapplet, { name: 'isoapplet', length: 16, charset: 'hex' }, runs.body);
  assert.deepEqual(profs.piv, { name: 'piv', length: 8, charset: 'digits' }, runs.body);
  const runId = String(imp.json.run_id);
  const lacking = await op.post('/api/run/start', { run_id: runId, 'puk.piv': PIV_PUK });
  assert.equal(lacking.status, 400, lacking.body);
  assert.equal(lacking.json.error, 'puk-needed');
  assert.match(lacking.body, /isoapplet/, 'the refusal names the profile without a PUK');
  const enc = await operator('enc');
  const notAdmin = await enc.post('/api/run/start', { run_id: runId, 'puk.piv': PIV_PUK });
  assert.equal(notAdmin.status, 403, 'a profile PUK is the administrator\'s too');
  tb('tb_card_create', path.join(WORK, 'piv.img'), '00BC614E', '--applet', 'piv');
  await twoCardsThenPause(op, es, { run_id: runId, puk: PUK, 'puk.piv': PIV_PUK }, ['card1.img', 'piv.img']);
  // The token's PUK is the PIV one: it changes the PUK to itself; the
  // factory PUK is refused.
  const r1 = spawnSync('bash', ['-c', 'source "$TB_LIB"; tb_reader 1'], { encoding: 'utf8' }).stdout.trim();
  const yk = (...a) => spawnSync('yubico-piv-tool', ['-r', r1, ...a], { encoding: 'utf8' });
  assert.notEqual(yk('-a', 'change-puk', '-P', '12345678', '-N', '12345678').status, 0, 'the factory PUK still works');
  const good = yk('-a', 'change-puk', '-P', PIV_PUK, '-N', PIV_PUK);
  assert.equal(good.status, 0, `the PIV PUK typed at the kiosk is not the token's: ${good.stderr}`);
  const rows = JSON.parse(spawnSync(process.env.CS_BIN, ['log', '--json'], { encoding: 'utf8' }).stdout);
  assert.equal(rows.filter((r) => r.outcome === 'verified').length, 2, 'two cards verified');
  console.log('mixed_puks: a PUK per card profile at the kiosk; the PIV token took its own');
};

// The journal's server restarted in the middle of a run at the kiosk
// (PostgreSQL only: own-server.sh restarts the story's own server when
// asked). The run's connection is cut: the kiosk says so in its log and
// in the run view (journal.lost, the page's banner), waits for the
// server, and goes on; the next card is written and
// journaled, the desk's search answers, and the chain is whole.
stories.server_lost = async () => {
  assert.ok(process.env.CS_PG_CTL, 'the story needs a server of its own (own-server.sh)');
  const op = await operator('all');
  const es = op.events();
  await es.wait('hello', () => true, 10000, 'stream');
  const imp = await op.post('/api/import', { dir: process.env.KS_DL });
  assert.equal(imp.status, 200, imp.body);
  const asking = (i) => es.wait('state', (s) => s.readers && s.readers[i] && s.readers[i].confirm, CARD_T, `reader ${i} asks`);
  const done = (n) => es.wait('state', (s) => s.progress && s.progress.done === n, CARD_T, `${n} card(s) done`);
  let a = asking(0);
  assert.equal((await op.post('/api/run/start', { run_id: String(imp.json.run_id), puk: PUK })).status, 200);
  tb('tb_swap', '0', path.join(WORK, 'card1.img'));
  await a;
  let d = done(1);
  assert.equal((await op.post('/api/run/answer', { reader: '0', printed: 'S-0001' })).status, 200);
  await d;
  // The run view says the server is gone while a connection waits for
  // it, then that it is back (CS_EV_JOURNAL: the page's banner).
  const lostSeen = es.wait('state', (s) => s.journal && s.journal.lost && s.journal.code === 'journal.server-lost',
    CARD_T, 'the run view says the journal server is lost');
  const backSeen = es.wait('state', (s) => s.journal && !s.journal.lost && s.journal.outages >= 1 &&
    s.journal.code === 'journal.server-back', CARD_T, 'the run view says the journal server is back');
  // The server goes away and comes back (every session cut).
  const restart = spawnSync('bash', ['-c', 'echo restart >"$CS_PG_CTL/req"; read -r a <"$CS_PG_CTL/ack"; [ "$a" = ok ]'],
    { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120000 });
  assert.equal(restart.status, 0, 'the server restarted');
  // The desk's search, on a connection of its own, answers at once.
  const found = await op.get('/api/search?field=printed&q=S-0001');
  assert.equal(found.status, 200, found.body);
  assert.match(found.body, /4790-5040-4B000001/, 'the first card is found after the restart');
  // The run goes on: the next card is claimed, written and journaled.
  a = asking(1);
  tb('tb_swap', '1', path.join(WORK, 'card2.img'));
  await a;
  d = done(2);
  assert.equal((await op.post('/api/run/answer', { reader: '1', printed: 'S-0002' })).status, 200);
  await d;
  const lost = await lostSeen;
  assert.ok(lost.journal.params && lost.journal.params.journal, 'the banner names the server');
  await backSeen;
  const ended = es.wait('end', () => true, CARD_T, 'run paused');
  assert.equal((await op.post('/api/run/control', { action: 'pause' })).status, 200);
  await ended;
  es.close();
  const log = readFileSync(path.join(process.env.KS_ART, 'kiosk.log'), 'utf8');
  assert.match(log, /\[journal\.server-lost\]/, 'the kiosk said it lost the server');
  assert.match(log, /\[journal\.server-back\]/, 'and that it was back');
  const rows = JSON.parse(spawnSync(process.env.CS_BIN, ['log', '--json'], { encoding: 'utf8' }).stdout);
  assert.deepEqual(rows.filter((r) => r.outcome === 'verified').map((r) => r.chip_serial).sort(),
    ['4790-5040-4B000001', '4790-5040-4B000002'], 'both cards verified in the journal, each once');
  const check = spawnSync(process.env.CS_BIN, ['log', 'check'], { encoding: 'utf8' });
  assert.equal(check.status, 0, `log check: ${check.stdout}${check.stderr}`);
  console.log('server_lost: the server restarted mid-run; the kiosk waited, the run went on, the chain is whole');
};

const name = process.argv[2];
if (!stories[name]) { console.error(`no story ${name}`); process.exit(2); }
try {
  await stories[name]();
  console.log(`kiosk story ${name}: passed`);
} catch (e) {
  console.error(`kiosk story ${name}: FAILED\n`, e);
  process.exit(1);
}
