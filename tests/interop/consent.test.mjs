// Consent through elicitation with the official SDK client: corral's policy
// says "ask", corral asks the client with its own elicitation/create, and
// the client's handler answers each of the four choices (and declines).
// The child is server-everything; its `echo` tool is what gets called.
//
// helpers.mjs builds sessions whose policy allows every call, so the
// sessions here are built by hand, each with its own state directory
// (XDG_STATE_HOME) so remembered decisions and pins are per test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORRAL, DIRECT, RT, childSpecs, textOf } from './helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const skip = DIRECT ? 'consent is corral\'s own: nothing to test with DIRECT=1' : false;
const CHOICES = ['allow once', 'allow for this session', 'always allow', 'deny'];
const TOOL = 'everything__echo';

/** A temp dir with the config (policy `policy`) and a state directory. */
function makeDirs(policy = { default: 'ask' }, extra = {}) {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'corral-consent-')));
  const dirs = { tmp, state: join(tmp, 'state'), config: join(tmp, 'corral.json') };
  const cfg = {
    // In corral's default (strict) sandbox like the other interop files:
    // the installed packages read-only, nothing else of ours.
    mcpServers: { everything: { ...childSpecs({}).everything, sandbox: { ro: [HERE] }, ...extra } },
    // Only elicitation: no terminal or desktop dialog of whoever runs this.
    corral: { consent: { channels: ['elicitation'] } },
  };
  if (policy) cfg.corral.policy = policy;
  writeFileSync(dirs.config, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  return dirs;
}

/**
 * Start corral on dirs with an SDK client whose elicitation handler
 * records the request and answers with reply(params).
 */
async function open(dirs, reply) {
  const seen = [];
  const client = new Client(
    { name: 'corral-consent-interop', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } } },
  );
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    seen.push(req.params);
    return reply(req.params);
  });
  const env = { ...process.env, XDG_STATE_HOME: dirs.state };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  const t = new StdioClientTransport({
    command: CORRAL, args: ['serve', '-c', dirs.config], env, cwd: dirs.tmp, stderr: 'pipe',
  });
  let stderr = '';
  t.stderr?.on('data', (d) => { stderr += d.toString(); });
  try {
    await client.connect(t, { timeout: RT });
  } catch (e) {
    e.message += `\n--- corral stderr ---\n${stderr}`;
    throw e;
  }
  return {
    client,
    seen,
    get stderr() { return stderr; },
    call: (message) => client.callTool({ name: TOOL, arguments: { message } }, undefined, { timeout: RT }),
    close: () => client.close().catch(() => {}),
  };
}

/** Run fn(session, dirs), adding corral's stderr to a failure; always close. */
async function withConsent(dirs, reply, fn) {
  const s = await open(dirs, reply);
  try {
    return await fn(s);
  } catch (e) {
    if (e && typeof e === 'object') e.message += `\n--- corral stderr ---\n${s.stderr.slice(-4000)}`;
    throw e;
  } finally {
    await s.close();
  }
}

const answer = (decision) => () => ({ action: 'accept', content: { decision } });

/** The prompt corral shows for `echo` with these arguments, from the tool as listed. */
async function expectedMessage(s, args) {
  const { tools } = await s.client.listTools(undefined, { timeout: RT });
  const def = tools.find((t) => t.name === TOOL);
  assert.ok(def, `${TOOL} not listed`);
  let m = `[corral] Server "everything" wants to run the tool ${def.title ? `"${def.title}" (echo)` : '"echo"'}.\n`;
  m += `Arguments: ${JSON.stringify(args)}\n`;
  if (def.annotations) {
    const bools = Object.entries(def.annotations).filter(([, v]) => typeof v === 'boolean');
    m += `Annotations:${bools.map(([k, v]) => ` ${k}=${v}`).join('')}\n`;
  }
  return m;
}

/** The elicitation request is corral's own: its prompt and one required enum. */
function assertPrompt(params, message) {
  assert.match(params.message, /wants to run the tool/);
  assert.equal(params.message, message);
  assert.equal(params.mode ?? 'form', 'form');
  assert.deepEqual(params.requestedSchema, {
    type: 'object',
    properties: { decision: { type: 'string', title: 'Decision', enum: CHOICES } },
    required: ['decision'],
  });
}

const denyText = (config) =>
  `corral denied ${TOOL}: you answered deny (elicitation). Call it again to be asked again, or allow it in the policy in ${config}.`;

test('allow once: the call runs; the next call asks again', { skip }, async () => {
  const dirs = makeDirs();
  try {
    await withConsent(dirs, answer('allow once'), async (s) => {
      const r = await s.call('once');
      assert.equal(r.isError, undefined, JSON.stringify(r));
      assert.equal(textOf(r), 'Echo: once');
      assert.equal(s.seen.length, 1);
      assertPrompt(s.seen[0], await expectedMessage(s, { message: 'once' }));
      const r2 = await s.call('twice');
      assert.equal(textOf(r2), 'Echo: twice');
      assert.equal(s.seen.length, 2, 'allow once must not cover the next call');
      assert.ok(s.seen[1].message.includes('Arguments: {"message":"twice"}'), s.seen[1].message);
    });
    assert.equal(existsSync(join(dirs.state, 'corral', 'consent.json')), false);
  } finally {
    rmSync(dirs.tmp, { recursive: true, force: true });
  }
});

test('allow for this session: later calls run without a prompt; a new session asks again', { skip }, async () => {
  const dirs = makeDirs();
  try {
    await withConsent(dirs, answer('allow for this session'), async (s) => {
      assert.equal(textOf(await s.call('a')), 'Echo: a');
      assert.equal(textOf(await s.call('b')), 'Echo: b');
      assert.equal(textOf(await s.call('c')), 'Echo: c');
      assert.equal(s.seen.length, 1);
      assertPrompt(s.seen[0], await expectedMessage(s, { message: 'a' }));
    });
    assert.equal(existsSync(join(dirs.state, 'corral', 'consent.json')), false);
    await withConsent(dirs, answer('deny'), async (s) => {
      const r = await s.call('d');
      assert.equal(r.isError, true);
      assert.equal(s.seen.length, 1, 'a new session must ask again');
    });
  } finally {
    rmSync(dirs.tmp, { recursive: true, force: true });
  }
});

test('always allow: remembered in consent.json (0600) and across a restart no prompt', { skip }, async () => {
  const dirs = makeDirs();
  const file = join(dirs.state, 'corral', 'consent.json');
  try {
    await withConsent(dirs, answer('always allow'), async (s) => {
      assert.equal(textOf(await s.call('a')), 'Echo: a');
      assertPrompt(s.seen[0], await expectedMessage(s, { message: 'a' }));
      assert.equal(textOf(await s.call('b')), 'Echo: b');
      assert.equal(s.seen.length, 1);
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const store = JSON.parse(readFileSync(file, 'utf8'));
    const pins = JSON.parse(readFileSync(join(dirs.state, 'corral', 'pins.json'), 'utf8'));
    assert.equal(store.always.length, 1, JSON.stringify(store));
    assert.equal(store.always[0].server, 'everything');
    assert.equal(store.always[0].tool, 'echo');
    assert.equal(store.always[0].name, TOOL);
    assert.equal(store.always[0].pin, pins.servers.everything.tools.echo.hash);
    // A handler that would deny: never asked.
    await withConsent(dirs, answer('deny'), async (s) => {
      const r = await s.call('c');
      assert.equal(r.isError, undefined, JSON.stringify(r));
      assert.equal(textOf(r), 'Echo: c');
      assert.equal(s.seen.length, 0, 'a remembered always must not ask');
    });
  } finally {
    rmSync(dirs.tmp, { recursive: true, force: true });
  }
});

test('deny: an isError result that says so; the next call asks again', { skip }, async () => {
  const dirs = makeDirs();
  try {
    await withConsent(dirs, answer('deny'), async (s) => {
      const r = await s.call('no');
      assert.equal(r.isError, true, JSON.stringify(r));
      assert.deepEqual(r.content, [{ type: 'text', text: denyText(dirs.config) }]);
      assertPrompt(s.seen[0], await expectedMessage(s, { message: 'no' }));
      const r2 = await s.call('no again');
      assert.equal(r2.isError, true);
      assert.equal(s.seen.length, 2);
    });
  } finally {
    rmSync(dirs.tmp, { recursive: true, force: true });
  }
});

test('decline and cancel deny like "deny"', { skip }, async () => {
  for (const action of ['decline', 'cancel']) {
    const dirs = makeDirs();
    try {
      await withConsent(dirs, () => ({ action }), async (s) => {
        const r = await s.call(action);
        assert.equal(r.isError, true, `${action}: ${JSON.stringify(r)}`);
        assert.equal(textOf(r), denyText(dirs.config));
        assert.equal(s.seen.length, 1);
      });
    } finally {
      rmSync(dirs.tmp, { recursive: true, force: true });
    }
  }
});

test('no policy at all asks too (the built-in default); a global allow asks nobody', { skip }, async () => {
  let dirs = makeDirs(null);
  try {
    await withConsent(dirs, answer('allow once'), async (s) => {
      assert.equal(textOf(await s.call('built-in')), 'Echo: built-in');
      assert.equal(s.seen.length, 1);
    });
  } finally {
    rmSync(dirs.tmp, { recursive: true, force: true });
  }
  dirs = makeDirs({ default: 'allow' });
  try {
    await withConsent(dirs, answer('deny'), async (s) => {
      assert.equal(textOf(await s.call('allowed')), 'Echo: allowed');
      assert.equal(s.seen.length, 0);
    });
  } finally {
    rmSync(dirs.tmp, { recursive: true, force: true });
  }
});

test('trust_annotations: server-everything\'s read-only echo runs without a prompt', { skip }, async () => {
  const dirs = makeDirs({ default: 'ask' }, { trust_annotations: true });
  try {
    await withConsent(dirs, answer('deny'), async (s) => {
      const { tools } = await s.client.listTools(undefined, { timeout: RT });
      assert.equal(tools.find((t) => t.name === TOOL)?.annotations?.readOnlyHint, true,
        'server-everything\'s echo is expected to be readOnlyHint');
      assert.equal(textOf(await s.call('trusted')), 'Echo: trusted');
      assert.equal(s.seen.length, 0);
    });
  } finally {
    rmSync(dirs.tmp, { recursive: true, force: true });
  }
});
