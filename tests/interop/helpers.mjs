// Shared helpers for corral's interop tests.
//
// Modes:
//   default   the SDK client talks to `$CORRAL serve -c <config>`, which runs
//             the children; tool and prompt names are `<alias>__<name>`.
//   DIRECT=1  one SDK client per child, connected straight to it, with plain
//             names. Used to check what the reference servers do on their
//             own; the same tests then run against corral.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const DIRECT = process.env.DIRECT === '1';
export const CORRAL = resolve(HERE, process.env.CORRAL || '../../build/corral');
export const MODE = DIRECT ? 'direct' : 'corral';
export const PROBE = join(HERE, 'probe-server.mjs');
/** Per-request timeout for the SDK (ms). */
export const RT = 8000;
export const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** A variable set in corral's own environment that children must not see. */
export const LEAK_VAR = 'CORRAL_INTEROP_MUST_NOT_LEAK';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Absolute path of an installed package's (first) bin entry point. */
export function binOf(pkg) {
  const pj = require.resolve(`${pkg}/package.json`);
  const meta = JSON.parse(readFileSync(pj, 'utf8'));
  const bin = typeof meta.bin === 'string' ? meta.bin : Object.values(meta.bin)[0];
  return join(dirname(pj), bin);
}

/** Poll `fn` until it returns a truthy value; return that value. */
export async function until(fn, { timeout = 5000, interval = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(interval);
  }
}

/** Text of all text content blocks of a tool result, joined. */
export const textOf = (res) =>
  (res?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

/**
 * Child server specs by alias. `dirs` holds the temp paths of a session.
 */
export function childSpecs(dirs) {
  const node = process.execPath;
  return {
    everything: {
      command: node,
      args: [binOf('@modelcontextprotocol/server-everything'), 'stdio'],
    },
    fs: {
      command: node,
      args: [binOf('@modelcontextprotocol/server-filesystem'), dirs.fsdir],
    },
    memory: {
      command: node,
      args: [binOf('@modelcontextprotocol/server-memory')],
      env: { MEMORY_FILE_PATH: dirs.memfile },
    },
    probe: {
      command: node,
      args: [PROBE],
      env: { PROBE_MARK: 'probe-mark-value' },
      cwd: dirs.cwd,
    },
  };
}

export const FILE_TEXT = 'hello from corral interop\nsecond line: ünïcödé ✓\n';

function makeDirs() {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'corral-interop-')));
  const dirs = {
    tmp,
    fsdir: join(tmp, 'fsroot'),
    extra: join(tmp, 'extra-root'),
    cwd: join(tmp, 'probe-cwd'),
    memfile: join(tmp, 'memory.jsonl'),
    config: join(tmp, 'corral.json'),
  };
  for (const d of [dirs.fsdir, dirs.extra, dirs.cwd]) mkdirSync(d, { recursive: true });
  dirs.file = join(dirs.fsdir, 'hello.txt');
  writeFileSync(dirs.file, FILE_TEXT);
  // As root corral runs sandboxed servers as uid 65534: let it write here.
  if (process.getuid && process.getuid() === 0) {
    for (const d of [dirs.tmp, dirs.fsdir, dirs.extra, dirs.cwd]) chmodSync(d, 0o777);
    chmodSync(dirs.file, 0o666);
  }
  return dirs;
}

export const CLIENT_CAPS = {
  roots: { listChanged: true },
  sampling: {},
  elicitation: { form: {}, url: {} },
};

/**
 * Record of everything the client's handlers saw, shared by all clients of a
 * session (one in corral mode, one per child in direct mode).
 */
function makeRecorder() {
  return {
    rootsCalls: [], // timestamps
    sampling: [], // params
    elicit: [], // params
    logs: [], // notifications/message params
    toolListChanged: 0,
    errors: [], // client.onerror
  };
}

function makeClient(rec, state) {
  const client = new Client(
    { name: 'corral-interop', version: '1.0.0' },
    { capabilities: structuredClone(CLIENT_CAPS) },
  );
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    rec.rootsCalls.push(Date.now());
    return { roots: state.roots.map((r) => ({ ...r })) };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    rec.sampling.push(req.params);
    return state.samplingReply(req.params);
  });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    rec.elicit.push(req.params);
    return state.elicitReply(req.params);
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    rec.logs.push(n.params);
  });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    rec.toolListChanged++;
  });
  client.onerror = (e) => rec.errors.push(e);
  return client;
}

export const SAMPLING_TEXT = 'sampled-by-interop-client';

/**
 * Open a session with the given children.
 *   corral mode: one corral process, one client.
 *   direct mode: one client per child.
 */
/** A free TCP port on loopback. */
async function freePort() {
  const net = await import('node:net');
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/**
 * server-everything in its streamableHttp mode on a free loopback port:
 * { url, stop() }.
 */
// mode: 'streamableHttp', or 'sse' for the legacy HTTP+SSE transport.
export async function startEverythingHttp(mode = 'streamableHttp') {
  const { spawn } = await import('node:child_process');
  const port = await freePort();
  const proc = spawn(process.execPath, [binOf('@modelcontextprotocol/server-everything'), mode], {
    env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (d) => { log += d.toString(); });
  await until(() => /listening on port|running on port/.test(log), { timeout: 10000, what: `server-everything (${mode}) to listen` });
  return {
    url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`,
    get log() { return log; },
    stop() { proc.kill('SIGTERM'); },
  };
}

export async function openSession({ children = ['everything', 'fs', 'memory'], roots, remote = [], remoteMode = 'streamableHttp' } = {}) {
  const dirs = makeDirs();
  const specs = childSpecs(dirs);
  const rec = makeRecorder();
  const state = {
    // `roots`: a function of the session's dirs giving one directory, or
    // nothing for the default (the filesystem child's own directory).
    roots: roots
      ? [{ uri: pathToFileURL(roots(dirs)).href, name: 'extra' }]
      : [{ uri: pathToFileURL(dirs.fsdir).href, name: 'fsroot' }],
    samplingReply: () => ({
      model: 'interop-model',
      role: 'assistant',
      stopReason: 'endTurn',
      content: { type: 'text', text: SAMPLING_TEXT },
    }),
    elicitReply: () => ({ action: 'decline' }),
  };
  const clients = new Map(); // alias -> client
  const transports = [];
  const remotes = []; // HTTP servers started for `remote` children
  let stderr = '';
  const s = {
    mode: MODE,
    dirs,
    rec,
    state,
    children,
    transports,
    get stderr() { return stderr; },
    client(alias) {
      const c = DIRECT ? clients.get(alias) : clients.get('*');
      if (!c) throw new Error(`no client for ${alias}`);
      return c;
    },
    /** Exposed name of a child's tool or prompt. */
    tool(alias, name) { return DIRECT ? name : `${alias}__${name}`; },
    prompt(alias, name) { return DIRECT ? name : `${alias}__${name}`; },
    /** Expected `logger` of a child's log message. */
    logger(alias, orig) {
      if (DIRECT) return orig;
      return orig === undefined ? alias : `${alias}/${orig}`;
    },
    /** Expected elicitation message. */
    elicitMessage(alias, msg) { return DIRECT ? msg : `[${alias}] ${msg}`; },
    call(alias, name, args = {}, opts = {}) {
      return s.client(alias).callTool(
        { name: s.tool(alias, name), arguments: args }, undefined, { timeout: RT, ...opts });
    },
    /** Wait until tools/list shows all `names` of `alias`; return the list. */
    async waitTools(alias, names, timeout = 5000) {
      return until(async () => {
        const r = await s.client(alias).listTools(undefined, { timeout: RT });
        const have = new Set(r.tools.map((t) => t.name));
        return names.every((n) => have.has(s.tool(alias, n))) && r;
      }, { timeout, what: `tools ${names.join(', ')} of ${alias}` });
    },
    /** Replace the client's roots and tell the server(s). */
    async setRoots(list) {
      state.roots = list;
      for (const c of new Set(clients.values())) await c.sendRootsListChanged();
    },
    async close() {
      for (const c of new Set(clients.values())) {
        try { await c.close(); } catch { /* ignore */ }
      }
      for (const r of remotes) r.stop();
      rmSync(dirs.tmp, { recursive: true, force: true });
    },
    remotes,
  };

  const collect = (t) => t.stderr?.on('data', (d) => {
    stderr += d.toString();
    if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024);
  });

  if (DIRECT) {
    for (const alias of children) {
      const spec = specs[alias];
      const t = new StdioClientTransport({
        command: spec.command, args: spec.args, env: spec.env, cwd: spec.cwd, stderr: 'pipe',
      });
      collect(t);
      const c = makeClient(rec, state);
      await c.connect(t, { timeout: RT });
      clients.set(alias, c);
      transports.push(t);
    }
  } else {
    if (!existsSync(CORRAL)) {
      throw new Error(`corral binary not found at ${CORRAL} (build it with make, or set CORRAL; DIRECT=1 tests the servers alone)`);
    }
    // Consent is covered by its own tests; here every call is allowed.
    const cfg = { mcpServers: {}, corral: { policy: { default: 'allow' } } };
    // Children run in corral's default (strict) sandbox: they see the
    // installed packages and this suite read-only and the session's temp
    // directory writable, nothing else of ours.
    const sandbox = { ro: [HERE], rw: [dirs.tmp] };
    for (const alias of children) cfg.mcpServers[alias] = { ...specs[alias], sandbox };
    // Remote children: the same server, reached over Streamable HTTP
    // (or the legacy HTTP+SSE transport).
    for (const alias of remote) {
      const srv = await startEverythingHttp(remoteMode);
      remotes.push(srv);
      cfg.mcpServers[alias] = { type: remoteMode === 'sse' ? 'sse' : 'http', url: srv.url };
    }
    writeFileSync(dirs.config, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    const t = new StdioClientTransport({
      command: CORRAL,
      args: ['serve', '-c', dirs.config],
      env: { ...process.env, [LEAK_VAR]: 'leaked' },
      cwd: dirs.tmp,
      stderr: 'pipe',
    });
    collect(t);
    const c = makeClient(rec, state);
    try {
      await c.connect(t, { timeout: RT });
    } catch (e) {
      e.message += `\n--- corral stderr ---\n${stderr}`;
      for (const r of remotes) r.stop();
      rmSync(dirs.tmp, { recursive: true, force: true });
      throw e;
    }
    clients.set('*', c);
    transports.push(t);
  }
  return s;
}

/** A direct client to one child (for comparisons in corral mode). */
export async function openDirect(alias) {
  const dirs = makeDirs();
  const spec = childSpecs(dirs)[alias];
  const rec = makeRecorder();
  const state = {
    roots: [{ uri: pathToFileURL(dirs.fsdir).href, name: 'fsroot' }],
    samplingReply: () => ({ model: 'm', role: 'assistant', content: { type: 'text', text: 'x' } }),
    elicitReply: () => ({ action: 'decline' }),
  };
  const t = new StdioClientTransport({
    command: spec.command, args: spec.args, env: spec.env, cwd: spec.cwd, stderr: 'pipe',
  });
  t.stderr?.on('data', () => {});
  const client = makeClient(rec, state);
  await client.connect(t, { timeout: RT });
  return {
    client,
    rec,
    async close() {
      try { await client.close(); } catch { /* ignore */ }
      rmSync(dirs.tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Run `fn(s)` with a fresh session; on failure append the tail of corral's
 * stderr to the error; always close.
 */
export async function withSession(opts, fn) {
  const s = await openSession(opts);
  try {
    return await fn(s);
  } catch (e) {
    if (e && typeof e === 'object' && s.stderr) {
      try { e.message += `\n--- stderr tail ---\n${s.stderr.slice(-4000)}`; } catch { /* ignore */ }
    }
    throw e;
  } finally {
    await s.close();
  }
}

/** Tool definition without its name, for comparisons. */
export const withoutName = ({ name, ...rest }) => rest;
