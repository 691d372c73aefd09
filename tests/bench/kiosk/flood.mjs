// flood.mjs - the kiosk under the floods of issue 12, measured against the
// kiosk without load.
//
//   node flood.mjs                 the benchmark (flood.sh starts it)
//   node flood.mjs sse N           load: N clients that each open
//                                  /api/events and reconnect the moment
//                                  they are refused or dropped
//   node flood.mjs slow N          load: N slow half-open requests (one
//                                  header line a second, never finished),
//                                  reopened when the server drops them
//   node flood.mjs silent N        load: N connections that send nothing
//
// The operator (with the key, logged in) reloads the page again and again:
// the page and its three files, /api/session and /api/state, in parallel,
// each on a new connection (a reload after idle connections were closed:
// the worst case). Phases: idle, SSE flood, slow flood, silent
// connections. For each: reload times (median, p95, max), failed reloads,
// and the kiosk's peak threads, RSS and open descriptors from /proc. The load runs in its own process
// so that its work does not delay the operator's measurements.
//
// Environment (flood.sh): KS_URL, KS_LAUNCH, KS_PID, KS_USER_all,
// KS_PW_all, BENCH_SECONDS (per phase, default 20), BENCH_SSE (1000),
// BENCH_SLOW (80), BENCH_REPORT (where the table goes too).
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, raw } from '../../e2e/kiosk/client.mjs';

const URL0 = process.env.KS_URL;
const u = new URL(URL0);

// --- load ------------------------------------------------------------------
function sseLoad(n) {
  const head = `GET /api/events HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\n` +
    'Cache-Control: no-cache\r\n\r\n';
  let answered = 0, streamed = 0;
  const one = () => {
    const s = net.connect({ host: u.hostname, port: Number(u.port) });
    let first = true;
    s.on('connect', () => s.write(head));
    s.on('data', (d) => {
      if (first) { first = false; answered++; if (/^HTTP\/1\.1 200/.test(d.toString('latin1'))) streamed++; }
    });
    s.on('error', () => {});
    s.on('close', () => setImmediate(one));
  };
  for (let i = 0; i < n; i++) one();
  setInterval(() => process.stdout.write(JSON.stringify({ answered, streamed }) + '\n'), 1000);
}

// silent: connect and say nothing at all.
function slowLoad(n, silent) {
  let opened = 0;
  const one = () => {
    const s = net.connect({ host: u.hostname, port: Number(u.port) });
    let t = null;
    opened++;
    s.on('connect', () => {
      if (silent) return;
      s.write(`GET / HTTP/1.1\r\nHost: ${u.host}\r\n`);
      t = setInterval(() => s.write(`X-Slow-${opened}: x\r\n`), 1000);
    });
    s.on('error', () => {});
    s.on('close', () => { clearInterval(t); setImmediate(one); });
  };
  for (let i = 0; i < n; i++) one();
  setInterval(() => process.stdout.write(JSON.stringify({ opened }) + '\n'), 1000);
}

// --- measuring -------------------------------------------------------------
const pid = process.env.KS_PID;
function proc() {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const num = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(st) || [])[1]);
  return { threads: num('Threads'), rss: num('VmRSS'), fds: readdirSync(`/proc/${pid}/fd`).length };
}

async function reload(op, keyCookie) {
  const t0 = performance.now();
  const files = ['/', '/app.js', '/i18n.js', '/style.css'].map((p) => raw(URL0, 'GET', p, { Cookie: keyCookie }, null, 10000));
  const rs = await Promise.all([...files, op.get('/api/session'), op.get('/api/state')].map((p) => p.catch((e) => ({ status: 0, body: String(e) }))));
  const ms = performance.now() - t0;
  const bad = rs.filter((r) => r.status !== 200);
  return { ms, ok: bad.length === 0, why: bad.map((r) => `${r.status} ${String(r.body).slice(0, 60)}`).join('; ') };
}

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

async function phase(name, op, keyCookie, load, seconds) {
  let child = null, last = '';
  if (load) {
    child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...load], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => { last = d.trim().split('\n').pop(); });
    // The flood is on once the first connections were refused or held.
    await new Promise((resolve) => child.stdout.once('data', resolve));
  }
  const times = [], fails = [];
  let peak = proc();
  const sampler = setInterval(() => {
    const p = proc();
    peak = { threads: Math.max(peak.threads, p.threads), rss: Math.max(peak.rss, p.rss), fds: Math.max(peak.fds, p.fds) };
  }, 50);
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const r = await reload(op, keyCookie);
    times.push(r.ms);
    if (!r.ok) fails.push(r.why);
    await new Promise((res) => setTimeout(res, 200)); // pacing: the operator reloads, not a load generator
  }
  clearInterval(sampler);
  if (child) child.kill('SIGKILL');
  return { name, n: times.length, fails, med: pct(times, 0.5), p95: pct(times, 0.95), max: Math.max(...times), peak, load: last };
}

async function bench() {
  const secs = Number(process.env.BENCH_SECONDS || 20);
  const nsse = Number(process.env.BENCH_SSE || 1000), nslow = Number(process.env.BENCH_SLOW || 80);
  const op = await new Client(URL0).unlock(process.env.KS_LAUNCH);
  await op.session();
  const login = await op.login(process.env.KS_USER_all, process.env.KS_PW_all);
  if (login.status !== 200) throw new Error('the operator cannot log in: ' + login.body);
  const keyCookie = `ks_key=${op.cookies.ks_key}`;
  const idle = proc();
  const out = [];
  out.push(await phase('idle', op, keyCookie, null, secs));
  out.push(await phase(`${nsse} SSE streams`, op, keyCookie, ['sse', String(nsse)], secs));
  out.push(await phase(`${nslow} slow requests`, op, keyCookie, ['slow', String(nslow)], secs));
  out.push(await phase(`${nsse} silent conns`, op, keyCookie, ['silent', String(nsse)], secs));
  // How long until the kiosk is back at rest: descriptors of the
  // flood's connections closed (checked every 100 ms, at most 10 s).
  const t0 = performance.now();
  let settled = proc();
  while (settled.fds > idle.fds + 4 && performance.now() - t0 < 10000) {
    await new Promise((res) => setTimeout(res, 100));
    settled = proc();
  }
  const settleMs = performance.now() - t0;
  // The operator is still logged in after both floods.
  const s = await op.session();
  const base = out[0];
  const lines = [];
  lines.push(`# kiosk under flood, ${new Date().toISOString()}, ${secs} s per phase; operator reload = page + 3 files + session + state, 6 new connections`);
  lines.push(`# kiosk at rest: ${idle.threads} threads, ${Math.round(idle.rss / 1024)} MiB RSS, ${idle.fds} fds; after the floods: ${settled.threads} threads, ${Math.round(settled.rss / 1024)} MiB, ${settled.fds} fds (back in ${settleMs.toFixed(0)} ms)`);
  lines.push('phase                 reloads failed  median ms  p95 ms  max ms  p95/idle  peak threads  peak RSS MiB  peak fds  load');
  for (const r of out) {
    lines.push(`${r.name.padEnd(21)} ${String(r.n).padStart(7)} ${String(r.fails.length).padStart(6)} ${r.med.toFixed(1).padStart(10)} ${r.p95.toFixed(1).padStart(7)} ${r.max.toFixed(1).padStart(7)} ${(r.p95 / base.p95).toFixed(2).padStart(9)} ${String(r.peak.threads).padStart(13)} ${(r.peak.rss / 1024).toFixed(1).padStart(13)} ${String(r.peak.fds).padStart(9)}  ${r.load}`);
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  if (process.env.BENCH_REPORT) appendFileSync(process.env.BENCH_REPORT, text);
  // A benchmark fails only on a wrong answer: a reload that did not come
  // back whole, a flood that got a stream, the operator logged out, or
  // threads that grew with the load (the daemons' limits are what bounds
  // them, so the peak must stay under them).
  let bad = 0;
  for (const r of out) {
    if (r.fails.length) { console.error(`${r.name}: ${r.fails.length} reloads failed: ${r.fails[0]}`); bad++; }
    if (r.max > 1000) { console.error(`${r.name}: a reload took ${r.max.toFixed(0)} ms (over a second)`); bad++; }
    if (r.peak.threads > idle.threads + 40) { console.error(`${r.name}: ${r.peak.threads} threads`); bad++; }
  }
  const sse = JSON.parse(out[1].load || '{}');
  if (sse.streamed) { console.error(`${sse.streamed} flood streams were served`); bad++; }
  if (!s.json || s.json.account !== process.env.KS_USER_all) { console.error('the operator lost the session'); bad++; }
  if (settled.fds > idle.fds + 4) { console.error(`${settled.fds} descriptors still open after the floods`); bad++; }
  process.exit(bad ? 1 : 0);
}

const [mode, n] = process.argv.slice(2);
if (mode === 'sse') sseLoad(Number(n));
else if (mode === 'slow') slowLoad(Number(n), false);
else if (mode === 'silent') slowLoad(Number(n), true);
else bench().catch((e) => { console.error(e); process.exit(1); });
