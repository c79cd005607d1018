// The seed's WebSocket examples (DiceDB's WebSocket document) with the real tools, against a
// running corekv: the wscat session, and the browser snippet in headless Chromium.
//
// env: WS_PORT (corekv's --ws-port on 127.0.0.1), CHROMIUM (default /usr/bin/chromium).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const WS_PORT = Number(process.env.WS_PORT);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WSCAT = path.join(__dirname, 'node_modules', '.bin', 'wscat');

if (!WS_PORT) throw new Error('WS_PORT is required');

// Runs wscat with `args`, typing `lines` one by one as the previous reply arrives; resolves
// with everything it printed. With `lines`, wscat runs on a pseudo-terminal (util-linux
// `script`), as a person runs it: prompt, "Connected", "< " before each reply.
function wscat(args, lines, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const quoted = [WSCAT, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const child = lines.length
      ? spawn('script', ['-qfec', quoted, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(WSCAT, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let sent = 0;
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`wscat timed out; output so far:\n${out}`));
    }, timeoutMs);
    const next = () => {
      if (sent < lines.length) {
        child.stdin.write(lines[sent++] + '\r');
      } else {
        child.stdin.write('\x03'); // Ctrl+C, as the seed's session ends
        child.stdin.end();
      }
    };
    child.stdout.on('data', (d) => {
      const before = (out.match(/< /g) || []).length;
      out += d.toString();
      const after = (out.match(/< /g) || []).length;
      if (/Connected/.test(out) && sent === 0) next();
      else if (after > before) next();
    });
    child.stderr.on('data', (d) => { out += d.toString(); });
    child.on('exit', () => { clearTimeout(timer); resolve(out); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

test('wscat session from the seed: SET foo bar, GET foo', async () => {
  // wscat -c ws://localhost:8379, then typing the two commands (stdin is a pipe here).
  const out = await wscat(['--no-color', '-c', `ws://localhost:${WS_PORT}`], ['SET foo bar', 'GET foo']);
  assert.match(out, /< "OK"/, out);
  assert.match(out, /< "bar"/, out);
});

test('wscat --execute sends commands and prints the JSON replies', async () => {
  const out = await wscat(
    ['-c', `ws://127.0.0.1:${WS_PORT}/ws`, '-x', 'SET seed:n 41', '-x', 'INCR seed:n', '-x', 'MGET foo seed:n nope', '-w', '1'],
    [],
  );
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  assert.deepEqual(lines.slice(-3), ['"OK"', '42', '["bar","42",null]'], out);
});

// The seed's snippet, verbatim but for the address, in a page served on localhost.
function seedPage(port) {
  return `<!doctype html><html><body><pre id="log"></pre><script>
const log = (...a) => { console.log(...a); document.getElementById('log').textContent += a.join(' ') + '\\n'; };
const ws = new WebSocket('ws://127.0.0.1:${port}/ws');
ws.onopen = function() { log('Connected to WebSocket server');
// Set a key
ws.send('SET mykey "Hello, WebSocket!"');
ws.send('GET mykey');};
ws.onmessage = function(event) { log('Received:', event.data);
  if (event.data === '"Hello, WebSocket!"') ws.close(1000, 'done'); };
ws.onerror = function(error) { log('WebSocket Error:', String(error)); };
ws.onclose = function(event) { log('WebSocket connection closed:', event.code, event.reason); window.__done = true; };
</script></body></html>`;
}

test("the seed's JavaScript snippet in headless Chromium", async () => {
  const { chromium } = require('playwright-core');
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(seedPage(WS_PORT));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const pagePort = server.address().port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ], // playwright gives every launch a fresh temporary --user-data-dir of its own
  });
  try {
    const page = await browser.newPage();
    const messages = [];
    page.on('console', (m) => messages.push(m.text()));
    await page.goto(`http://127.0.0.1:${pagePort}/`);
    await page.waitForFunction(() => window.__done === true, null, { timeout: 15000 });
    assert.deepEqual(messages, [
      'Connected to WebSocket server',
      'Received: "OK"',
      'Received: "Hello, WebSocket!"',
      'WebSocket connection closed: 1000 done',
    ]);
    // A page from a foreign origin is refused (HTTP 403): the browser reports an error.
    const foreign = await browser.newPage();
    const errors = [];
    foreign.on('console', (m) => errors.push(m.text()));
    await foreign.route('http://foreign.example/', (route) => route.fulfill({
      contentType: 'text/html',
      body: `<script>const ws = new WebSocket('ws://127.0.0.1:${WS_PORT}/');
ws.onopen = () => console.log('open'); ws.onclose = (e) => { console.log('closed ' + e.code); window.__done = true; };</script>`,
    }));
    await foreign.goto('http://foreign.example/');
    await foreign.waitForFunction(() => window.__done === true, null, { timeout: 15000 });
    assert.ok(!errors.includes('open'), errors.join('\n'));
    assert.ok(errors.includes('closed 1006'), errors.join('\n'));
  } finally {
    await browser.close();
    server.close();
  }
});
