// client.mjs - the kiosk's HTTP API without a browser: what the stories
// told over plain HTTP (api.mjs) and the flood benchmark use.
//
// A Client keeps its cookies (ks_key once it traded the key, ks_sid) and
// its session's CSRF token, as the page does. raw() is one request with
// exactly the headers given: the attacker's view.
import http from 'node:http';

export function raw(base, method, p, headers = {}, body = null, timeout = 30000) {
  const u = new URL(p, base);
  return new Promise((resolve, reject) => {
    const rq = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method,
      agent: false, headers: { Host: u.host, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'), bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    rq.setTimeout(timeout, () => rq.destroy(new Error(`${method} ${p}: no answer in ${timeout} ms`)));
    rq.on('error', reject);
    if (body != null) rq.write(body);
    rq.end();
  });
}

export const form = (fields) => new URLSearchParams(fields).toString();

export class Client {
  constructor(base) { this.base = base; this.cookies = {}; this.csrf = ''; }
  cookieHeader() {
    const c = Object.entries(this.cookies).map(([k, v]) => `${k}=${v}`).join('; ');
    return c ? { Cookie: c } : {};
  }
  keep(res) {
    for (const sc of res.headers['set-cookie'] || []) {
      const [kv] = sc.split(';');
      const i = kv.indexOf('=');
      this.cookies[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return res;
  }
  async req(method, p, { headers = {}, fields = null } = {}) {
    const h = { ...this.cookieHeader(), ...headers };
    let body = null;
    if (method === 'POST') {
      h['X-CSRF-Token'] = this.csrf;
      h['Content-Type'] = 'application/x-www-form-urlencoded';
      body = form(fields || {});
    }
    const res = this.keep(await raw(this.base, method, p, h, body));
    try { res.json = JSON.parse(res.body); } catch { res.json = null; }
    return res;
  }
  get(p) { return this.req('GET', p); }
  post(p, fields) { return this.req('POST', p, { fields }); }
  // The launch address's key, traded for the cookie as the page does.
  async unlock(launch) {
    const key = new URL(launch).hash.replace(/^#k=/, '');
    const res = this.keep(await raw(this.base, 'POST', '/api/key', { 'X-Kiosk-Key': key }));
    if (res.status !== 200) throw new Error(`key refused: ${res.status} ${res.body}`);
    return this;
  }
  async session() {
    const res = await this.get('/api/session');
    if (res.status === 200) this.csrf = res.json.csrf;
    return res;
  }
  async login(user, password) {
    const res = await this.post('/api/login', { user, password });
    if (res.status === 200) this.csrf = res.json.csrf;
    return res;
  }
  // Waits on the event stream for an event whose data satisfies pred;
  // resolves with the data. The stream stays open until close().
  events() {
    const u = new URL('/api/events', this.base);
    const waiters = [];
    let buf = '';
    const stream = { waiters, close: () => {} };
    const rq = http.get({ host: u.hostname, port: u.port, path: u.pathname, agent: false,
      headers: { Host: u.host, ...this.cookieHeader(), Accept: 'text/event-stream' } }, (res) => {
      stream.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          const type = (/^event: (.*)$/m.exec(block) || [])[1];
          const data = (/^data: (.*)$/m.exec(block) || [])[1];
          if (!type) continue;
          let obj = null;
          try { obj = JSON.parse(data); } catch { obj = null; }
          for (const w of waiters.slice()) {
            if (w.type === type && w.pred(obj)) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(obj); }
          }
        }
      });
    });
    rq.on('error', () => {});
    stream.close = () => rq.destroy();
    stream.wait = (type, pred, timeout, what) => new Promise((resolve, reject) => {
      const w = { type, pred, resolve };
      w.timer = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`no ${type} event: ${what}`)); }, timeout);
      waiters.push(w);
    });
    return stream;
  }
}
