/* app.js - the operator's screen. Plain DOM, no framework, no inline code
 * (the server's Content-Security-Policy forbids it). Secrets typed here
 * (the holder's PIN, a run's PUK, the operator's password) go to the
 * server in a POST body only and are cleared from the page right after
 * (a PIN or PUK waits for the operator's answer when the card has one try
 * left, then goes or is dropped).
 *
 * The launcher opens the page with this start's key in the address's
 * fragment (#k=...): the page trades it for a cookie and removes it from
 * the address. The server decides what each account's roles may do; the
 * page only leaves out what they may not. */
'use strict';
(function () {
  const S = { csrf: '', operator: null, account: null, roles: [], lang: 'ja', idle: 600, run: null,
    letters: [], waiting: -1, es: null, hoCard: null,
    features: {}, records: null, dir: '', pin: '', lastPing: 0, screen: '', pukNeeded: false, deskRep: null };
  const has = (role) => S.roles.includes(role);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  };

  function t(key, vars) {
    let s = (KS_TEXT[S.lang] || KS_TEXT.ja)[key] || KS_TEXT.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace('{' + k + '}', v);
    return s;
  }
  /* The engine's messages travel as a code with parameters (the run
   * view's code/params/advice/detail, reason_*, end_*). Their words are the
   * engine's catalogue in the session's language (GET /api/codes): one
   * source for each sentence; the page fills in the parameters. The other
   * program's words (detail) stay as they came, beside the sentence. */
  function codeText(code, params) {
    const tpl = (S.codes || {})[code];
    if (tpl == null) return null;
    /* A journal state word travels as its code (state.card.partial):
     * the catalogue's word, as the engine's renderer does. */
    const word = (v) => (/^state\./.test(v) && (S.codes || {})[v] != null ? S.codes[v] : v);
    return tpl.replace(/\{([A-Za-z0-9_]+)\}/g, (m, k) => (params && params[k] != null ? word(String(params[k])) : m));
  }
  function engineText(o, prefix, fallback) {
    const main = o[prefix + 'code'] ? codeText(o[prefix + 'code'], o[prefix + 'params']) : null;
    if (main == null) return fallback || '';
    const d = o[prefix + 'detail'], a = o[prefix + 'advice'];
    const advice = a ? codeText(a, o[prefix + 'params']) : null;
    return main + (d ? ' (' + d + ')' : '') + (advice ? t('engine.then') + advice : '');
  }
  /* A journal state word (a run's open/done/cancelled, an issuance's
   * verified/revoked/...) in the session's language: the catalogue's
   * state.<kind>.<word>; the API keeps the journal's English word. */
  function stateText(kind, word) {
    return codeText('state.' + kind + '.' + word) || word || '';
  }
  /* A refused record: the problem's sentence in the session's language
   * (code problem.<name>); the engine's own sentence, which names the
   * file or field, in English only. */
  function problemText(r) {
    const ja = S.lang !== 'en' ? codeText('problem.' + r.problem) : null;
    return ja || r.reason || '';
  }
  async function loadCodes() {
    try { S.codes = (await get('/api/codes?lang=' + S.lang)).codes || {}; } catch (e) { S.codes = {}; }
  }
  function translate() {
    document.documentElement.lang = S.lang;
    document.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
    document.querySelectorAll('[data-i18n-ph]').forEach((e) => { e.placeholder = t(e.dataset.i18nPh); });
    $('lang').textContent = t('lang');
  }

  /* --- talking to the server ------------------------------------------ */
  class ApiError extends Error {
    constructor(status, body) { super(body.error || String(status)); this.status = status; this.body = body; }
  }
  async function get(path) {
    const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new ApiError(r.status, body);
    return body;
  }
  async function post(path, fields) {
    const r = await fetch(path, { method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'X-CSRF-Token': S.csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields || {}) });
    const body = await r.json().catch(() => ({}));
    if (r.status === 401 && body.error === 'login') showLogin();
    if (!r.ok) throw new ApiError(r.status, body);
    return body;
  }
  let toastTimer = null;
  function toast(text, bad) {
    const b = $('toast');
    b.textContent = text;
    b.className = 'toast noprint' + (bad ? ' bad' : '');
    b.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { b.hidden = true; }, bad ? 8000 : 4000);
  }
  /* The server's answers carry a code (error): the words are this page's
   * dictionary's (i18n.js), in the session's language. A failure of the
   * engine (the desk's lost, wipe and PIN reset) carries the engine's
   * message too (code, params, advice, detail): its words are the
   * catalogue's (GET /api/codes), like the run's. The server sends no
   * sentence of its own: a detail (another layer's words naming what went
   * wrong: the journal's, the inspection's, the engine's) goes in
   * parentheses after the page's words. */
  function errText(e) {
    const b = (e && e.body) || {};
    if (b.code && codeText(b.code, b.params) != null) return engineText(b, '');
    const code = b.error ? 'err.' + b.error : '';
    if (b.error === 'puk-refused' && b.tries >= 0) return t(b.tries === 0 ? 'err.puk-refused.0' : 'err.puk-refused.n', { n: b.tries });
    const d = b.detail ? ' (' + b.detail + ')' : '';
    if (code && KS_TEXT.ja[code]) return t(code) + d;
    return t('err.generic') + (b.error || (e && e.message ? e.message : e)) + d;
  }
  function fail(e) {
    toast(errText(e), true);
  }

  /* --- screens --------------------------------------------------------- */
  function show(name) {
    S.screen = name;
    document.querySelectorAll('.screen').forEach((s) => { s.hidden = s.id !== 's-' + name; });
    document.querySelectorAll('#nav button').forEach((b) => b.classList.toggle('on', b.dataset.screen === name));
    if (name === 'start') loadStart();
    if (name === 'encode') { renderRun(); focusConfirm(); }
    if (name === 'handover' || name === 'desk') loadReaders();
  }
  function showLogin(why) {
    S.operator = null; S.account = null; S.roles = []; S.letters = []; S.waiting = -1; S.hoCard = null;
    if (S.es) { S.es.close(); S.es = null; }
    $('nav').hidden = true; $('logout').hidden = true; $('who').textContent = '';
    renderLetters([]);
    $('login-why').textContent = why ? t(why) : '';
    show('login');
    $('op-user').value = ''; $('op-pass').value = '';
    $('op-user').focus();
  }
  /* Only what the account's roles may do is on the screen; the server
   * refuses the rest anyway. */
  function applyRoles() {
    const may = { start: has('encode') || has('admin'), encode: has('encode'), handover: has('encode'), desk: has('desk') };
    document.querySelectorAll('#nav button').forEach((b) => { b.hidden = !may[b.dataset.screen]; });
    $('import-part').hidden = !has('admin');
    $('start-puk-part').hidden = !has('admin');
    $('sum-csv').hidden = !has('desk');
    return may;
  }
  function loggedIn() {
    loadCodes().then(() => { if (S.screen === 'encode') renderRun(); });
    $('nav').hidden = false; $('logout').hidden = false;
    $('who').textContent = S.operator + ' (' + S.account + ')';
    const may = applyRoles();
    listen();
    if (has('encode')) refreshState();
    show(has('encode') && S.run && S.run.active ? 'encode' : may.start ? 'start' : 'desk');
  }
  function takeSession(s) {
    S.csrf = s.csrf; S.lang = s.lang || S.lang; S.idle = s.idle_s;
    S.operator = s.operator; S.account = s.account; S.roles = s.roles || [];
  }

  /* --- start: runs and import ------------------------------------------ */
  async function loadStart() {
    try {
      const [runs, folders] = await Promise.all([get('/api/runs'),
        has('admin') ? get('/api/folders') : Promise.resolve({ folders: [] })]);
      S.pukNeeded = !!runs.puk_needed;
      S.pukProfiles = runs.puk_profiles || [];
      const tb = $('runs').tBodies[0];
      tb.replaceChildren();
      for (const r of runs.runs.slice().reverse()) {
        const p = r.progress, usable = p.total - p.refused;
        const btn = r.state === 'open' && has('encode') ? el('button', { type: 'button', class: 'primary', text: t('start.continue'),
          'data-run': r.id, onclick: () => askStart(r) }) : null;
        tb.append(el('tr', {}, el('td', { text: r.id }), el('td', { text: (r.created || '').replace('T', ' ').slice(0, 16) }),
          el('td', { class: 'path', text: r.folder || '' }), el('td', { text: p.done + ' / ' + usable }),
          el('td', { text: stateText('run', r.state) }), el('td', {}, btn)));
      }
      $('runs-empty').hidden = runs.runs.length > 0;
      const dl = $('folders'), ul = $('found');
      dl.replaceChildren(); ul.replaceChildren();
      for (const f of folders.folders) {
        dl.append(el('option', { value: f.dir }));
        ul.append(el('li', {}, el('button', { type: 'button', class: 'link', text: f.dir,
          onclick: () => { $('imp-dir').value = f.dir; inspect(); } })));
      }
    } catch (e) { fail(e); }
  }
  async function inspect() {
    const dir = $('imp-dir').value.trim();
    if (!dir) return;
    $('verdict').hidden = true;
    try {
      const res = await post('/api/inspect', { dir });
      S.dir = dir;
      const s = res.summary;
      $('verdict-sum').textContent = t('start.usable', { u: s.usable, r: s.refused, n: s.records });
      const tb = $('records').tBodies[0];
      tb.replaceChildren();
      for (const r of res.records) {
        tb.append(el('tr', { class: r.ok ? 'ok' : 'bad' }, el('td', { class: 'mono', text: r.serial || '-' }),
          el('td', { text: r.holder || '-' }), el('td', { text: r.mail || '-' }), el('td', { text: r.profile || '-' }),
          el('td', { text: (r.not_after || '').slice(0, 10) }),
          el('td', { text: r.ok ? t('rec.ok') : r.problem + ': ' + problemText(r) })));
      }
      $('verdict').hidden = false;
      $('do-import').disabled = s.usable === 0;
      $('do-import').focus();
    } catch (e) { fail(e); }
  }
  async function doImport() {
    try {
      $('do-import').disabled = true;
      const res = await post('/api/import', { dir: S.dir });
      toast(t('start.imported', { id: res.run_id }));
      $('verdict').hidden = true;
      await loadStart();
      if (has('encode')) askStart({ id: res.run_id, folder: S.dir });
    } catch (e) { fail(e); $('do-import').disabled = false; }
  }
  let startRun = null;
  function askStart(r) {
    startRun = r;
    $('start-run-name').textContent = '#' + r.id + '  ' + (r.folder || '');
    $('start-pin').value = ''; $('start-puk').value = '';
    /* A run mixing card families: each profile's own PUK besides the
     * one above, as the command line's --puk PROFILE=... */
    const box = $('start-puks');
    box.replaceChildren();
    if ((S.pukProfiles || []).length > 1) {
      for (const p of S.pukProfiles) {
        const id = 'start-puk-' + p.name;
        box.append(el('label', { for: id, text: t('start.pukprofile', { profile: p.name, length: p.length,
          charset: t('start.charset.' + p.charset) }) }),
        el('input', { id, type: 'password', inputmode: p.charset === 'digits' ? 'numeric' : 'text',
          autocomplete: 'off', 'data-profile': p.name }));
      }
    }
    $('start-why').hidden = true;
    $('start-puk-note').hidden = !(S.pukNeeded && !has('admin'));
    $('start-dlg').showModal();
    if (S.pukNeeded && has('admin')) $('start-puk').focus(); else $('start-go').focus();
  }
  /* The institution PUK, when the cards' profile takes one, is not left
   * empty by an operator who may type it: the dialog stays and says so. */
  async function doStart(ev) {
    if (ev) ev.preventDefault();
    const own = [...$('start-puks').querySelectorAll('input')];
    const lacking = own.find((i) => !i.value);
    if (S.pukNeeded && has('admin') && !$('start-puk').value && (own.length === 0 || lacking)) {
      $('start-why').textContent = own.length ? t('start.pukneededfor', { profile: lacking.dataset.profile })
        : t('start.pukneeded');
      $('start-why').hidden = false;
      (own.length ? lacking : $('start-puk')).focus();
      return;
    }
    const f = { run_id: startRun.id };
    if ($('start-pin').value) f.pin = $('start-pin').value;
    if ($('start-puk').value && has('admin')) f.puk = $('start-puk').value;
    for (const i of own) if (i.value && has('admin')) f['puk.' + i.dataset.profile] = i.value;
    $('start-pin').value = ''; $('start-puk').value = '';
    for (const i of own) i.value = '';
    $('start-dlg').close();
    try {
      takeRun(await post('/api/run/start', f));
      show('encode');
    } catch (e) { fail(e); }
  }

  /* --- encoding ---------------------------------------------------------- */
  function confirmReader() {
    const rs = (S.run && S.run.readers) || [];
    return rs.find((r) => r.confirm) || null;
  }
  function focusConfirm() {
    const f = $('printed');
    if (!$('confirm-form').hidden && document.activeElement !== f) f.focus();
  }
  function renderRun() {
    const run = S.run || { readers: [], progress: {}, failures: [], letters: [], session: {} };
    renderLetters(S.letters);
    const p = run.progress || {}, usable = (p.total || 0) - (p.refused || 0);
    $('run-meter').style.width = usable ? Math.round(100 * (p.done || 0) / usable) + '%' : '0';
    $('run-count').textContent = t('enc.count', { d: p.done || 0, t: usable, q: (p.queued || 0) + (p.claimed || 0) });
    const ask = confirmReader();
    /* 次の方: the holder a card is being asked for or written for now;
     * never one whose card is done (or turned away) and waits to be
     * taken out. */
    const busy = (r) => r.holder && !r.outcome && ['reading', 'confirm', 'writing', 'checking'].includes(r.state);
    const shown = ask || run.readers.find(busy) || null;
    $('next-holder').textContent = shown && shown.holder ? shown.holder : (run.active ? t('enc.wait') : '');
    $('next-ids').textContent = shown ? [shown.staff_no, shown.mail].filter(Boolean).join('   ') : '';
    const cf = $('confirm-form');
    const wasHidden = cf.hidden;
    const asked = cf.dataset.reader;
    cf.hidden = !ask;
    if (ask) {
      cf.dataset.reader = ask.index;
      if (wasHidden || asked !== String(ask.index)) { $('printed').value = ''; }
      /* With several readers, which card the number is for. */
      $('confirm-reader').textContent = t('enc.askreader', { n: ask.index + 1, name: ask.name });
      $('confirm-label').textContent = t('enc.scanat', { n: ask.index + 1 });
    }
    const box = $('readers');
    box.replaceChildren();
    const warn = [];
    for (const r of run.readers) {
      const pct = r.steps ? Math.round(100 * r.step / r.steps) : (r.outcome === 'done' ? 100 : 0);
      const state = r.state || 'waiting';
      const turned = r.outcome === 'refused' || r.outcome === 'skipped';
      const head = turned ? t('st.' + r.outcome) + (state === 'remove' ? ' — ' + t('st.remove') : '') :
        (r.outcome && (state === 'remove' || r.outcome === 'failed') ? t('st.' + r.outcome) + ' — ' : '') + t('st.' + state);
      const card = el('div', { class: 'reader st-' + state + (r.outcome ? ' out-' + r.outcome : '') + (ask && ask.index === r.index ? ' asking' : ''),
        'data-reader': r.index },
        el('div', { class: 'rname', text: t('enc.askreader', { n: r.index + 1, name: r.name }) }),
        el('div', { class: 'rstate', text: head }),
        el('div', { class: 'rholder', text: turned ? '' : r.holder || '' }),
        el('div', { class: 'meter' }, el('div')),
        el('div', { class: 'rtext', text: turned ? '' : (r.steps && !['waiting', 'remove', 'failed'].includes(state) ?
          t('enc.step', { s: r.step, n: r.steps }) + '  ' : '') + engineText(r, '', r.text) }));
      card.querySelector('.meter > div').style.width = pct + '%';
      if (turned) {
        /* A card the run turned away: a warning, not a failure. */
        const say = r.outcome === 'skipped' ? t('notice.skipped') :
          KS_TEXT.ja['notice.' + r.notice] ? t('notice.' + r.notice) : t('notice.other');
        card.append(el('div', { class: 'rnotice', text: say }));
        if (r.outcome === 'refused') warn.push(el('p', { 'data-notice': r.notice || 'other', text: t('enc.warnat', { n: r.index + 1 }) + say }));
      }
      if (r.outcome === 'failed') {
        card.append(el('div', { class: 'rreason', text: engineText(r, 'reason_', r.reason) }));
        card.append(el('button', { type: 'button', text: t('enc.retry'),
          onclick: () => post('/api/run/control', { action: 'retry', reader: r.index }).catch(fail) }));
      }
      box.append(card);
    }
    $('enc-warn').replaceChildren(...warn);
    $('enc-warn').hidden = warn.length === 0;
    /* The journal's server is gone: the readers wait for it, not for a
     * fault of theirs (journal.server-lost, in the session's words). */
    const jl = run.journal || {};
    $('enc-journal').hidden = !jl.lost;
    $('enc-journal').textContent = jl.lost ? engineText(jl, '', jl.code) : '';
    $('pause').disabled = !run.active; $('cancel-run').disabled = !run.active;
    const ended = run.ended && !run.active;
    $('summary').hidden = !ended;
    $('next').hidden = ended;
    $('enc-idle').hidden = run.active || ended;
    if (ended) {
      $('sum-text').textContent = t('enc.sumtext', { d: (run.session || {}).done || 0, f: (run.session || {}).failed || 0 });
      $('sum-end').textContent = engineText(run, 'end_', run.end_text);
      /* Who waits for which card (a half-written card, the card a
       * pairing list names): the engine's codes, in the session's words. */
      const waits = run.waiting || [];
      $('sum-wait-list').replaceChildren(...waits.map((w) => el('li', { 'data-code': w.code || '',
        text: engineText(w, '', w.code) })));
      $('sum-wait').hidden = waits.length === 0;
      const tb = $('sum-fail').tBodies[0];
      tb.replaceChildren();
      for (const f of run.failures || [])
        tb.append(el('tr', { class: 'bad' }, el('td', { text: f.holder || '-' }), el('td', { class: 'mono', text: f.cert_serial || '' }),
          el('td', { text: engineText(f, '', f.text) })));
      $('sum-csv').href = '/api/export.csv?run=' + run.run_id;
    }
    if (S.screen === 'encode') focusConfirm();
  }
  async function confirmNumber(ev) {
    ev.preventDefault();
    const v = $('printed').value.trim();
    if (!v) return;
    try {
      await post('/api/run/answer', { reader: $('confirm-form').dataset.reader, printed: v });
      $('printed').value = '';
    } catch (e) { fail(e); }
  }

  /* --- PIN letters: fetched once, printed, cleared ----------------------- */
  function renderLetters(letters) {
    const b = $('letters');
    b.replaceChildren();
    for (const l of letters)
      b.append(el('div', { class: 'letter-note' }, el('span', { text: t('letter.ready', { h: l.holder }) }),
        el('button', { type: 'button', class: 'primary', text: t('letter.open'), 'data-letter': l.id, onclick: () => openLetter(l.id) })));
    b.hidden = letters.length === 0;
  }
  let backFromLetter = 'encode';
  async function openLetter(id) {
    try {
      const l = await post('/api/letter', { id });
      backFromLetter = S.screen === 'letter' ? backFromLetter : S.screen;
      $('l-holder').textContent = l.holder;
      $('l-printed').textContent = l.printed_no || '';
      $('l-mail').textContent = l.mail || '';
      $('l-serial').textContent = l.cert_serial || '';
      $('l-pin').textContent = l.pin;
      $('l-puk').textContent = l.puk || '';
      $('l-puk-row').hidden = !l.puk;
      $('l-title').textContent = t('letter.title'); $('l-pinis').textContent = t('letter.pinis');
      show('letter');
      $('l-print').focus();
    } catch (e) { toast(e.status === 410 ? t('letter.gone') : errText(e), true); }
  }
  function clearLetter() {
    for (const id of ['l-holder', 'l-printed', 'l-mail', 'l-serial', 'l-pin', 'l-puk']) $(id).textContent = '';
    show(backFromLetter || 'encode');
  }

  /* --- handover and desk --------------------------------------------------- */
  async function loadReaders() {
    try {
      const res = await get('/api/readers');
      for (const id of ['ho-reader', 'desk-reader']) {
        const sel = $(id), keep = sel.value;
        sel.replaceChildren(...res.readers.map((n, i) => el('option', { value: i, text: n })));
        if (keep) sel.value = keep;
      }
    } catch (e) { fail(e); }
  }
  function renderPin() { $('pin-dots').textContent = '●'.repeat(S.pin.length); }
  function keypadPress(k) {
    if (k === 'C') S.pin = '';
    else if (k === '⌫') S.pin = S.pin.slice(0, -1);
    else if (k === 'OK') { if (!$('ho-verify').disabled) verify('ho', true); return; }
    else if (S.pin.length < 16) S.pin += k;
    renderPin();
  }
  function buildKeypad() {
    const kp = $('keypad');
    for (const k of ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'C', '0', '⌫'])
      kp.append(el('button', { type: 'button', class: 'key', text: k, 'data-key': k, onclick: () => keypadPress(k) }));
  }
  /* A verification reason in the session's language, by its code; the
   * engine's sentence only where the dictionary has no entry. */
  function reasonText(r) {
    return KS_TEXT.ja['vr.' + r.code] ? t('vr.' + r.code) : r.text;
  }
  function reportView(rep, withPin) {
    let v = rep.verdict || 'FAIL';
    const cert = (rep.certificates || []).find((c) => !c.ca) || {};
    /* A mistyped PIN says so: the card is not "not to be handed out"
     * unless something else is wrong with it. */
    const pinOnly = withPin && rep.login_error && rep.pin_tries > 0 &&
      !(rep.reasons || []).some((r) => r.level === 'FAIL' && r.code !== 'pin-refused');
    if (pinOnly) v = 'WARN';
    const box = el('div', { class: 'verdict v-' + v.toLowerCase() },
      el('div', { class: 'big', text: pinOnly ? t('ho.pinwrong.head') : t('verdict.' + v.toLowerCase()) }),
      el('div', { class: 'holder', text: cert.holder || '' }),
      el('div', { class: 'ids', text: [rep.journal.printed_no, rep.chip_serial, cert.serial].filter(Boolean).join('   ') }));
    if (withPin && !pinOnly) box.append(el('p', { class: 'big', text: cert.signature === 'verified' ? t('ho.signed') : t('ho.notsigned') }));
    if (withPin && rep.login_error) box.append(el('p', { class: 'big wrongpin', text: t('ho.wrongpin', { n: rep.pin_tries }) }));
    const ul = el('ul', { class: 'reasons' });
    for (const r of rep.reasons || []) {
      if (r.code === 'use' && S.lang !== 'en') continue; /* technical detail */
      ul.append(el('li', { class: 'r-' + r.level.toLowerCase(), 'data-code': r.code, text: reasonText(r) }));
    }
    box.append(ul);
    return box;
  }
  /* The guard's answers (ks_guard.c): wait after wrong tries, confirm the
   * card's last try, or say the card is blocked. again() sends the same
   * request with confirm_last=1; the PIN or PUK it holds is dropped when
   * the operator says no. */
  const waits = {};
  function waitFor(where, ms) {
    const p = $(where + '-wait'), until = Date.now() + ms;
    const btns = where === 'ho' ? ['ho-verify'] : ['desk-wipe', 'desk-pin'];
    clearInterval(waits[where]);
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(waits[where]); p.hidden = true;
        btns.forEach((b) => { $(b).disabled = false; });
        return;
      }
      p.textContent = t('guard.wait', { s: left }); p.hidden = false;
      btns.forEach((b) => { $(b).disabled = true; });
    };
    tick();
    waits[where] = setInterval(tick, 250);
  }
  let lastAgain = null;
  function askLast(kind, again, unknown) {
    lastAgain = again;
    $('last-title').textContent = t((unknown ? 'guard.unknown.' : 'guard.last.') + kind);
    $('last-text').textContent = t((unknown ? 'guard.unknowntext.' : 'guard.lasttext.') + kind);
    $('last-dlg').showModal();
    $('last-cancel').focus();
  }
  function guardSays(e, where, again) {
    const b = (e && e.body) || {};
    if (e.status === 429 && b.error === 'wait') { waitFor(where, b.retry_ms || 1000); return true; }
    if (e.status === 409 && b.error === 'last-try') { askLast(b.kind, again); return true; }
    if (e.status === 409 && b.error === 'unknown-tries') { askLast(b.kind, again, true); return true; }
    if (e.status === 409 && b.error === 'blocked') { toast(t('guard.blocked.' + b.kind), true); return true; }
    return false;
  }
  async function verify(where, withPin, pinGiven, confirmLast) {
    const out = $(where + '-result');
    const f = { reader: $(where + '-reader').value || 0 };
    const pin = pinGiven !== undefined ? pinGiven : (withPin ? S.pin : '');
    if (withPin && pin) f.pin = pin;
    if (confirmLast) f.confirm_last = '1';
    S.pin = ''; renderPin();
    if (where === 'ho') { $('ho-id-form').hidden = true; S.hoCard = null; }
    out.hidden = false;
    out.replaceChildren(el('p', { class: 'big', text: '…' }));
    try {
      const rep = await post('/api/verify', f);
      out.replaceChildren(reportView(rep, withPin && f.pin));
      if (where === 'desk') S.deskRep = rep;
      if (rep.next_try_ms > 0) waitFor(where, rep.next_try_ms);
      if (where === 'ho' && rep.journal.card_id > 0 && rep.verdict !== 'FAIL') offerIdCheck(rep);
      delete f.pin;
      return rep;
    } catch (e) {
      out.hidden = true;
      if (!guardSays(e, where, () => verify(where, withPin, pin, true))) fail(e);
    }
    delete f.pin;
    return null;
  }

  /* --- handover: how the holder was identified ------------------------------- */
  function offerIdCheck(rep) {
    S.hoCard = rep.journal.card_id;
    document.querySelectorAll('#ho-id-methods input').forEach((i) => { i.checked = false; });
    $('ho-id-note').value = '';
    $('ho-id-form').hidden = false;
  }
  async function saveIdCheck(ev) {
    ev.preventDefault();
    const m = document.querySelector('#ho-id-methods input:checked');
    if (!m) { toast(t('hoid.pick'), true); return; }
    const f = { card_id: S.hoCard, method: m.value, note: $('ho-id-note').value.trim() };
    try {
      await post('/api/handover', f);
      $('ho-id-form').hidden = true; S.hoCard = null;
      toast(t('hoid.done'));
    } catch (e) { fail(e); }
  }
  async function search(ev) {
    if (ev) ev.preventDefault();
    const q = $('search-q').value.trim(), field = $('search-field').value;
    const qs = new URLSearchParams({ q, field }).toString();
    $('desk-csv').href = '/api/export.csv?' + qs;
    try {
      const res = await get('/api/search?' + qs);
      const tb = $('hits').tBodies[0];
      tb.replaceChildren();
      for (const i of res.issuances.slice().reverse()) {
        const live = i.outcome === 'verified';
        tb.append(el('tr', { class: live ? '' : 'dim' }, el('td', { text: i.holder || '' }), el('td', { class: 'mono', text: i.cert_serial || '' }),
          el('td', { text: i.printed_no || '' }), el('td', { class: 'mono', text: i.chip_serial || '' }), el('td', { text: stateText('outcome', i.outcome) }),
          el('td', { text: (i.finished || i.started || '').replace('T', ' ').slice(0, 16) }),
          el('td', {}, live ? el('button', { type: 'button', class: 'danger', text: t('desk.lost'), 'data-lost': i.id,
            onclick: () => askLost(i) }) : null)));
      }
      $('hits-none').hidden = res.issuances.length > 0;
    } catch (e) { fail(e); }
  }
  let lostIss = null;
  function askLost(i) {
    lostIss = i;
    $('lost-who').textContent = i.holder + '  ' + (i.printed_no || i.chip_serial || '');
    $('lost-comment').value = '';
    $('lost-dlg').showModal();
  }
  async function doLost() {
    const f = { issuance: lostIss.id, reason: $('lost-reason').value, comment: $('lost-comment').value };
    try {
      const r = await fetch('/api/lost', { method: 'POST', credentials: 'same-origin',
        headers: { 'X-CSRF-Token': S.csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(f) });
      if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => ({})));
      const blob = await r.blob();
      const a = el('a', { href: URL.createObjectURL(blob), download: 'revocation-' + lostIss.cert_serial + '.tsv' });
      document.body.append(a); a.click(); a.remove();
      $('lost-dlg').close();
      toast(t('lost.done'));
      search();
      /* The card's verdict on screen was before: read it again. */
      if (!$('desk-result').hidden) verify('desk', false);
    } catch (e) { $('lost-dlg').close(); fail(e); }
  }
  /* Wipe and PIN reset name the card and its holder before anything goes
   * to it: the card in the desk's reader is read first (a verify without
   * PIN), and the server is told which card that was (chip), so a card
   * swapped in meanwhile is refused. */
  function deskDone(...lines) {
    const d = $('desk-done');
    d.replaceChildren(...lines.filter(Boolean).map((x) => el('p', { text: x })));
    d.hidden = lines.length === 0;
  }
  function cardNames(rep, who, ids) {
    const cert = (rep.certificates || []).find((c) => !c.ca && c.holder) || {};
    $(who).textContent = cert.holder ? t('wipe.who', { h: cert.holder }) : t('wipe.nobody');
    $(ids).textContent = t('wipe.ids', { p: rep.journal.printed_no || '-', c: rep.chip_serial || '-' });
    return cert.holder || '';
  }
  let deskCard = null;
  async function askWipe(forceLive, certs) {
    deskDone();
    const rep = forceLive && deskCard ? deskCard.rep : await verify('desk', false);
    if (!rep) return;
    deskCard = { rep, chip: rep.chip_serial || '' };
    cardNames(rep, 'wipe-who', 'wipe-ids');
    const live = forceLive || rep.journal.card_state === 'issued';
    $('wipe-live').hidden = !live;
    $('wipe-live-certs').textContent = (certs || []).map((c) => c.holder + '  ' + c.cert_serial).join('\n');
    document.querySelector('#wipe-live input[value=request]').checked = true;
    $('wipe-reason').value = '3'; $('wipe-comment').value = '';
    $('wipe-puk').value = '';
    $('wipe-dlg').showModal();
    $('wipe-puk').focus();
  }
  function b64bytes(b64) {
    const bin = atob(b64), out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  async function wipe(ev, again) {
    if (ev) ev.preventDefault();
    /* The institution PUK leaves this page only in the request body; the
     * field is cleared at once (the guard's "again" keeps it for the
     * operator's yes). */
    let f = again;
    if (!f) {
      f = { reader: $('desk-reader').value || 0, puk: $('wipe-puk').value, chip: deskCard ? deskCard.chip : '' };
      $('wipe-puk').value = '';
      if (!$('wipe-live').hidden) {
        const live = document.querySelector('#wipe-live input:checked').value;
        f.live = live;
        if (live === 'request') { f.reason = $('wipe-reason').value; f.comment = $('wipe-comment').value.trim(); }
      }
      $('wipe-dlg').close();
    }
    try {
      const rep = await post('/api/wipe', f);
      const lines = [t('wipe.done', { c: rep.chip_serial || '-', k: rep.keys })];
      if (rep.request_b64) {
        const blob = new Blob([b64bytes(rep.request_b64)], { type: 'text/tab-separated-values' });
        const a = el('a', { href: URL.createObjectURL(blob), download: 'revocation-' + (rep.chip_serial || 'card') + '.tsv' });
        document.body.append(a); a.click(); a.remove();
        lines.push(t('wipe.tsv', { n: (rep.ended || []).length }));
      } else if (rep.live === 'revoked') lines.push(t('wipe.marked'));
      await verify('desk', false);
      deskDone(...lines);
      if ($('hits').tBodies[0].rows.length) search();
    } catch (e) {
      const retry = { ...f, confirm_last: '1' };
      if (guardSays(e, 'desk', () => wipe(null, retry))) return;
      if (e.status === 409 && e.body && e.body.error === 'live-cert') { toast(t('err.live-cert'), true); askWipe(true, e.body.certs); return; }
      fail(e);
    } finally { delete f.puk; }
  }
  async function askPinReset() {
    deskDone();
    const rep = await verify('desk', false);
    if (!rep) return;
    deskCard = { rep, chip: rep.chip_serial || '' };
    cardNames(rep, 'pin-who', 'pin-ids');
    for (const id of ['pin-new', 'pin-new2', 'pin-puk']) $(id).value = '';
    document.querySelector('#pin-form input[value=typed]').checked = true;
    $('pin-typed').hidden = false;
    $('pin-dlg').showModal();
    $('pin-new').focus();
  }
  async function pinReset(ev, again) {
    if (ev) ev.preventDefault();
    let f = again;
    if (!f) {
      const random = document.querySelector('#pin-form input[name=pmode]:checked').value === 'random';
      f = { reader: $('desk-reader').value || 0, puk: $('pin-puk').value, chip: deskCard ? deskCard.chip : '' };
      if (!random) {
        const a = $('pin-new').value, b = $('pin-new2').value;
        if (!a || !b) { toast(t('pinr.empty'), true); return; }
        if (a !== b) { $('pin-new').value = ''; $('pin-new2').value = ''; toast(t('pinr.differ'), true); $('pin-new').focus(); return; }
        f.new_pin = a; f.new_pin2 = b;
      }
      for (const id of ['pin-new', 'pin-new2', 'pin-puk']) $(id).value = '';
      $('pin-dlg').close();
    }
    try {
      const rep = await post('/api/pin-reset', f);
      const who = rep.holder || '';
      /* The verdict on screen (say, a blocked PIN) is read again first. */
      const pinNow = rep.pin;
      delete rep.pin;
      await verify('desk', false);
      rep.pin = pinNow;
      if (rep.pin) {
        /* A random PIN: shown once, on the letter, then gone. */
        backFromLetter = 'desk';
        $('l-holder').textContent = who;
        $('l-printed').textContent = rep.printed_no || '';
        $('l-mail').textContent = '';
        $('l-serial').textContent = '';
        $('l-pin').textContent = rep.pin;
        $('l-puk').textContent = ''; $('l-puk-row').hidden = true;
        $('l-title').textContent = t('letter.resettitle'); $('l-pinis').textContent = t('letter.resetpinis');
        delete rep.pin;
        show('letter');
        $('l-print').focus();
      }
      deskDone(t('pinr.done', { h: who }), rep.journal_error ? t('pinr.journal') : null);
    } catch (e) {
      const retry = { ...f, confirm_last: '1' };
      if (!guardSays(e, 'desk', () => pinReset(null, retry))) fail(e);
    } finally { delete f.puk; delete f.new_pin; delete f.new_pin2; }
  }

  /* --- live updates ---------------------------------------------------------- */
  /* GET /api/state is this session's view: its own letters with their
   * ids. Events go to every page and only say how many letters wait. */
  async function refreshState() {
    if (!S.operator || !has('encode')) return;
    try {
      const run = await get('/api/state');
      S.letters = run.letters || []; S.waiting = run.letters_waiting;
      takeRun(run);
      renderRun();
    } catch (e) { /* logged out */ }
  }
  /* A view older than the one shown (a GET answered before the event
   * that came in since) does not undo it: views are numbered. */
  function takeRun(run) {
    if (!S.run || !(run.seq < S.run.seq)) S.run = run;
  }
  function listen() {
    if (S.es) S.es.close();
    const es = new EventSource('/api/events');
    S.es = es;
    es.addEventListener('hello', refreshState);
    es.addEventListener('resync', refreshState);
    es.addEventListener('state', (m) => { takeRun(JSON.parse(m.data)); renderRun();
      if (has('encode') && S.run.letters_waiting !== S.waiting) refreshState();
      if (S.run.active && S.screen === 'start' && confirmReader() && has('encode')) show('encode'); });
    es.addEventListener('end', () => { if (S.operator && has('encode') && S.screen !== 'letter') show('encode'); });
    es.addEventListener('runs', () => { if (S.screen === 'start') loadStart(); });
    es.addEventListener('logout', async () => {
      const s = await get('/api/session').catch(() => null);
      if (s && !s.operator && S.operator) showLogin('login.idle');
    });
  }
  function activity() {
    const now = Date.now();
    if (S.operator && now - S.lastPing > 20000) { S.lastPing = now; post('/api/ping').catch(() => {}); }
  }

  /* --- wiring ------------------------------------------------------------------ */
  /* The key from the launcher's address: traded for an HttpOnly cookie,
   * then gone from the address bar and the history. */
  async function unlock() {
    const m = /^#k=([0-9a-f]{64})$/.exec(location.hash);
    if (!m) return;
    history.replaceState(null, '', location.pathname + location.search);
    await fetch('/api/key', { method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'X-Kiosk-Key': m[1] } }).catch(() => {});
  }
  async function boot() {
    translate();
    buildKeypad();
    document.querySelectorAll('#nav button').forEach((b) => b.addEventListener('click', () => show(b.dataset.screen)));
    $('lang').addEventListener('click', async () => {
      S.lang = S.lang === 'ja' ? 'en' : 'ja'; translate(); renderRun();
      if (S.operator) loadCodes().then(renderRun);
      if (S.operator) post('/api/login', { lang: S.lang }).catch(() => {});
      if (S.screen === 'start') loadStart();
    });
    $('logout').addEventListener('click', async () => { await post('/api/logout').catch(() => {}); showLogin(); });
    $('login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = { user: $('op-user').value.trim(), password: $('op-pass').value, lang: S.lang };
      $('op-pass').value = '';
      $('login-why').textContent = '';
      try {
        const s = await post('/api/login', f);
        takeSession(s); S.lastPing = Date.now();
        loggedIn();
      } catch (e) {
        const why = { 'bad-login': 'login.bad', 'no-role': 'login.norole', account: 'login.account' }[(e.body || {}).error];
        if (why) { $('login-why').textContent = t(why); $('op-pass').focus(); } else fail(e);
      }
      delete f.password;
    });
    $('import-form').addEventListener('submit', (ev) => { ev.preventDefault(); inspect(); });
    $('do-import').addEventListener('click', doImport);
    $('start-form').addEventListener('submit', doStart);
    $('start-cancel').addEventListener('click', () => {
      $('start-pin').value = ''; $('start-puk').value = '';
      $('start-puks').replaceChildren();
      $('start-dlg').close();
    });
    $('confirm-form').addEventListener('submit', confirmNumber);
    $('skip').addEventListener('click', () => post('/api/run/control', { action: 'skip', reader: $('confirm-form').dataset.reader }).catch(fail));
    $('pause').addEventListener('click', () => post('/api/run/control', { action: 'pause' }).catch(fail));
    $('cancel-run').addEventListener('click', () => { if (window.confirm(t('enc.cancelq'))) post('/api/run/control', { action: 'cancel' }).catch(fail); });
    $('sum-back').addEventListener('click', () => show('start'));
    $('l-print').addEventListener('click', () => window.print());
    $('l-done').addEventListener('click', clearLetter);
    $('ho-verify').addEventListener('click', () => verify('ho', true));
    $('ho-id-form').addEventListener('submit', saveIdCheck);
    $('last-go').addEventListener('click', () => { const a = lastAgain; lastAgain = null; $('last-dlg').close(); if (a) a(); });
    $('last-cancel').addEventListener('click', () => { lastAgain = null; $('last-dlg').close(); });
    $('last-dlg').addEventListener('close', () => { lastAgain = null; });
    $('ho-nopin').addEventListener('click', () => { S.pin = ''; verify('ho', false); });
    $('search-form').addEventListener('submit', search);
    $('desk-verify').addEventListener('click', () => verify('desk', false));
    $('desk-wipe').addEventListener('click', () => askWipe(false));
    $('wipe-form').addEventListener('submit', wipe);
    $('wipe-cancel').addEventListener('click', () => { $('wipe-puk').value = ''; $('wipe-dlg').close(); });
    $('desk-pin').addEventListener('click', askPinReset);
    $('pin-form').addEventListener('submit', pinReset);
    $('pin-cancel').addEventListener('click', () => { for (const id of ['pin-new', 'pin-new2', 'pin-puk']) $(id).value = ''; $('pin-dlg').close(); });
    document.querySelectorAll('#pin-form input[name=pmode]').forEach((r) => r.addEventListener('change', () => {
      $('pin-typed').hidden = document.querySelector('#pin-form input[name=pmode]:checked').value !== 'typed'; }));
    $('lost-go').addEventListener('click', doLost);
    $('lost-cancel').addEventListener('click', () => $('lost-dlg').close());
    document.addEventListener('keydown', (ev) => {
      activity();
      if (S.screen === 'handover' && document.activeElement.tagName !== 'INPUT' && document.activeElement.tagName !== 'SELECT') {
        if (/^[0-9]$/.test(ev.key)) { keypadPress(ev.key); ev.preventDefault(); }
        else if (ev.key === 'Backspace') { keypadPress('⌫'); ev.preventDefault(); }
        else if (ev.key === 'Enter' && S.pin) { keypadPress('OK'); ev.preventDefault(); }
      }
    });
    document.addEventListener('pointerdown', activity);
    try {
      await unlock();
      const s = await get('/api/session');
      takeSession(s);
      S.features = await get('/api/features');
      translate();
      if (S.operator) loggedIn(); else showLogin();
    } catch (e) {
      if (e && e.body && e.body.error === 'no-key') { show('nokey'); return; }
      fail(e);
    }
  }
  document.addEventListener('DOMContentLoaded', boot);
})();
