'use strict';
// Ferry's Node agent: loads a function's handler once and serves calls over a Unix socket.
// Speaks runtimes/AGENT-PROTOCOL.md: JSON lines both ways, one call at a time. No dependencies.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const CAP = Number(process.env.FERRY_OUTPUT_CAP_BYTES || 1048576);
// What this agent does beyond the base protocol, announced in `ready` (see AGENT-PROTOCOL.md).
const FEATURES = ['load-from'];

/** Thrown by a function whose failure a retry cannot mend (bad input): the call is not retried. */
class Final extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'Final';
  }
}

/** Copies a folder's files and folders into `to`, modes kept (fs.cp is still experimental in Node 20). */
function copyTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst);
    else if (entry.isFile()) fs.copyFileSync(src, dst);
  }
}

function capped() {
  const parts = [];
  let size = 0;
  let truncated = false;
  return {
    write(chunk) {
      let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      const room = CAP - size;
      if (buf.length > room) {
        truncated = true;
        buf = buf.subarray(0, Math.max(room, 0));
      }
      if (buf.length > 0) {
        parts.push(buf);
        size += buf.length;
      }
    },
    value: () => Buffer.concat(parts).toString('utf8'),
    get truncated() {
      return truncated;
    },
  };
}

/** `index.js`, `index.js:handler` or `node index.js` → { file, name }. */
function handlerSpec(run) {
  let words = run.trim().split(/\s+/);
  if (words.length > 1 && !/\.(c|m)?js(:|$)/.test(words[0])) words = words.slice(1);
  const [file, name] = (words[0] || 'index.js').split(':');
  return { file, name: name || 'handler' };
}

async function loadHandler(codeDir, run) {
  const { file, name } = handlerSpec(run);
  const full = path.resolve(codeDir, file);
  let mod;
  try {
    mod = require(full);
  } catch (err) {
    if (err && err.code === 'ERR_REQUIRE_ESM') mod = await import(pathToFileURL(full).href);
    else throw err;
  }
  const fn = typeof mod === 'function' ? mod : mod[name] || (mod.default && (typeof mod.default === 'function' ? mod.default : mod.default[name]));
  if (typeof fn !== 'function') throw new Error(`${file} exports no function "${name}"`);
  return fn;
}

function asResult(value) {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

async function main() {
  const sock = net.createConnection(process.env.FERRY_AGENT_SOCKET);
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('close', () => process.exit(0));
  const send = (msg) => sock.write(JSON.stringify(msg) + '\n');

  let handler = null;
  let loadError = null;
  const codeDir = process.env.FERRY_CODE_DIR || '/ws';
  const run = process.env.FERRY_HANDLER || '';
  if (!run) {
    loadError = { code: 'HANDLER_NOT_LOADED', message: 'no function loaded yet' };
    send({ type: 'ready', ok: true, loaded: false, pid: process.pid, features: FEATURES });
  } else {
    try {
      handler = await loadHandler(codeDir, run);
      send({ type: 'ready', ok: true, pid: process.pid, features: FEATURES });
    } catch (err) {
      loadError = { code: 'HANDLER_LOAD_FAILED', message: String((err && err.message) || err) };
      send({ type: 'ready', ok: false, error: loadError, features: FEATURES });
    }
  }

  async function load(msg) {
    try {
      // The node staged the code in a read-only folder: a copy here is far cheaper than a `docker cp`.
      if (msg.from) copyTree(String(msg.from), codeDir);
      handler = await loadHandler(codeDir, String(msg.handler || 'index.js'));
      loadError = null;
      send({ type: 'loaded', ok: true });
    } catch (err) {
      loadError = { code: 'HANDLER_LOAD_FAILED', message: String((err && err.message) || err) };
      send({ type: 'loaded', ok: false, error: loadError });
    }
  }

  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);
  const queue = [];
  let busy = false;

  async function runCall(msg) {
    const { callId, attempt, executionId, params } = msg;
    if (loadError) {
      send({ type: 'result', callId, ok: false, error: loadError, stdout: '', stderr: '', truncated: false });
      return;
    }
    const out = capped();
    const err = capped();
    process.stdout.write = (chunk, ...rest) => {
      out.write(chunk);
      const cb = rest.find((a) => typeof a === 'function');
      if (cb) cb();
      return true;
    };
    process.stderr.write = (chunk, ...rest) => {
      err.write(chunk);
      const cb = rest.find((a) => typeof a === 'function');
      if (cb) cb();
      return true;
    };
    const ctx = {
      callId,
      executionId,
      attempt,
      params,
      Final,
      // A fraction 0..1, or an object such as { current: 3, total: 10 }.
      progress: (value) => send({ type: 'progress', callId, value: value !== null && typeof value === 'object' ? value : Number(value) }),
      metrics: (values) => send({ type: 'metrics', callId, values }),
      log: (...args) => send({ type: 'log', callId, line: args.map(String).join(' ') }),
    };
    const reply = { type: 'result', callId };
    try {
      reply.result = asResult(await handler(params, ctx));
      reply.ok = true;
    } catch (e) {
      reply.ok = false;
      reply.error = { code: 'FUNCTION_ERROR', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
      if (e instanceof Final) reply.error.final = true;
      err.write(e instanceof Error && e.stack ? e.stack + '\n' : String(e) + '\n');
    } finally {
      process.stdout.write = realOut;
      process.stderr.write = realErr;
    }
    reply.stdout = out.value();
    reply.stderr = err.value();
    reply.truncated = out.truncated || err.truncated;
    send(reply);
  }

  async function drain() {
    if (busy) return;
    busy = true;
    while (queue.length > 0) {
      const msg = queue.shift();
      if (msg.type === 'load') await load(msg);
      else await runCall(msg);
    }
    busy = false;
  }

  let buffered = '';
  sock.setEncoding('utf8');
  sock.on('data', (data) => {
    buffered += data;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        realErr('ferry agent: unreadable line ignored\n');
        continue;
      }
      if (msg.type !== 'call' && msg.type !== 'load') {
        realErr(`ferry agent: unknown message type ${JSON.stringify(msg.type)} ignored\n`);
        continue;
      }
      queue.push(msg);
    }
    void drain();
  });
}

main().catch((err) => {
  process.stderr.write(`ferry agent: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
