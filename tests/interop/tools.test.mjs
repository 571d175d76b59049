// Initialize, tools/list and tools/call through corral, with
// server-everything, server-filesystem, server-memory and the probe server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DIRECT, NAME_RE, LEAK_VAR, RT, FILE_TEXT,
  openSession, openDirect, textOf, withoutName, until,
} from './helpers.mjs';
import { PROBE_TOOLS, ODD_NAME, LONG_NAME } from './probe-server.mjs';

// Tools server-everything registers only after initialization, given the
// client's roots / sampling / elicitation capabilities.
const EVERYTHING_LATE = ['get-roots-list', 'trigger-sampling-request', 'trigger-elicitation-request', 'trigger-url-elicitation'];
const CHILDREN = ['everything', 'fs', 'memory', 'probe'];

// tools: one shared session for the tests below.
let s;
before(async () => {
  s = await openSession({ children: CHILDREN });
  await s.waitTools('everything', ['echo', ...EVERYTHING_LATE]);
});
after(async () => { await s?.close(); });

test('initialize: serverInfo and capabilities', () => {
  const c = s.client('everything');
  const caps = c.getServerCapabilities();
  if (!DIRECT) {
    assert.equal(c.getServerVersion()?.name, 'corral');
  }
  assert.equal(caps.tools?.listChanged, true, `tools.listChanged in ${JSON.stringify(caps)}`);
  assert.equal(caps.prompts?.listChanged, true, `prompts.listChanged in ${JSON.stringify(caps)}`);
  assert.equal(caps.resources?.listChanged, true, `resources.listChanged in ${JSON.stringify(caps)}`);
  assert.ok(caps.logging, `logging in ${JSON.stringify(caps)}`);
  assert.ok(caps.completions, `completions in ${JSON.stringify(caps)}`);
});

test('initialize: resources.subscribe of the children is in the union', () => {
  const caps = s.client('everything').getServerCapabilities();
  assert.equal(caps.resources?.subscribe, true, JSON.stringify(caps));
});

test('tools/list: one page, prefixed names of every child, valid and unique', async () => {
  const r = await s.client('everything').listTools(undefined, { timeout: RT });
  assert.equal(r.nextCursor, undefined, 'tools/list must return a single page');
  const names = r.tools.map((t) => t.name);
  if (!DIRECT) {
    for (const n of [
      'everything__echo', 'everything__get-structured-content', 'everything__trigger-long-running-operation',
      'everything__trigger-sampling-request', 'everything__get-roots-list',
      'fs__read_text_file', 'fs__list_allowed_directories', 'fs__write_file',
      'memory__create_entities', 'memory__read_graph',
      'probe__block', 'probe__cancellations',
    ]) assert.ok(names.includes(n), `${n} missing from ${JSON.stringify(names)}`);
    assert.equal(new Set(names).size, names.length, `duplicate names in ${JSON.stringify(names)}`);
    for (const n of names) assert.match(n, NAME_RE);
  } else {
    assert.ok(names.includes('echo'));
  }
});

for (const alias of ['everything', 'fs', 'memory', 'probe']) {
  test(`tools/list: ${alias} definitions equal the direct ones except name`, async () => {
    const d = await openDirect(alias);
    try {
      let direct;
      if (alias === 'everything') {
        await until(async () => {
          direct = (await d.client.listTools(undefined, { timeout: RT })).tools;
          return EVERYTHING_LATE.every((n) => direct.some((t) => t.name === n));
        }, { what: 'late everything tools (direct)' });
      } else {
        direct = (await d.client.listTools(undefined, { timeout: RT })).tools;
      }
      const viaCorral = (await s.client(alias).listTools(undefined, { timeout: RT })).tools;
      for (const dt of direct) {
        if (alias === 'probe' && (dt.name === ODD_NAME || dt.name === LONG_NAME)) continue;
        const ct = viaCorral.find((t) => t.name === s.tool(alias, dt.name));
        assert.ok(ct, `${s.tool(alias, dt.name)} missing`);
        assert.deepStrictEqual(withoutName(ct), withoutName(dt), `definition of ${dt.name} changed`);
      }
      // Every tool of the child, and nothing else, carries its prefix (the
      // probe's two unsanitary names may be renamed some other way).
      const mine = new Set(viaCorral.filter((t) => DIRECT || t.name.startsWith(`${alias}__`) ||
        (alias === 'probe' && t.description?.startsWith('probe: '))));
      assert.equal(mine.size, direct.length,
        `number of ${alias} tools: ${JSON.stringify([...mine].map((t) => t.name))}`);
    } finally {
      await d.close();
    }
  });
}

test('tools/list: optional tool fields (_meta, icons, annotations, title) pass through', async () => {
  const r = await s.client('probe').listTools(undefined, { timeout: RT });
  const t = r.tools.find((x) => x.name === s.tool('probe', 'block'));
  assert.ok(t, 'probe block tool');
  assert.deepStrictEqual(withoutName(t), withoutName(PROBE_TOOLS.find((x) => x.name === 'block')));
});

test('tools/list: names that are not allowed are sanitized and still callable', { skip: DIRECT && 'corral only' }, async () => {
  const r = await s.client('probe').listTools(undefined, { timeout: RT });
  for (const [desc, want] of [['probe: odd name', 'odd ok'], ['probe: long name', 'long ok']]) {
    const t = r.tools.find((x) => x.description === desc);
    assert.ok(t, `tool "${desc}" missing from ${JSON.stringify(r.tools.map((x) => x.name))}`);
    assert.match(t.name, NAME_RE);
    const res = await s.client('probe').callTool({ name: t.name, arguments: {} }, undefined, { timeout: RT });
    assert.equal(textOf(res), want);
  }
});

test('tools/call everything echo', async () => {
  const res = await s.call('everything', 'echo', { message: 'hi from interop ✓' });
  assert.deepStrictEqual(res, { content: [{ type: 'text', text: 'Echo: hi from interop ✓' }] });
});

test('tools/call fs read_text_file of the temp file', async () => {
  const res = await s.call('fs', 'read_text_file', { path: s.dirs.file });
  assert.equal(res.isError, undefined, textOf(res));
  assert.equal(textOf(res), FILE_TEXT);
  assert.deepStrictEqual(res.structuredContent, { content: FILE_TEXT });
});

test('tools/call fs write_file then list_directory', async () => {
  const path = join(s.dirs.fsdir, 'written.txt');
  const res = await s.call('fs', 'write_file', { path, content: 'written via corral\n' });
  assert.notEqual(res.isError, true, textOf(res));
  assert.equal(readFileSync(path, 'utf8'), 'written via corral\n');
  const ls = await s.call('fs', 'list_directory', { path: s.dirs.fsdir });
  assert.match(textOf(ls), /\[FILE\] hello\.txt/);
  assert.match(textOf(ls), /\[FILE\] written\.txt/);
});

test('tools/call memory create_entities + read_graph round trip', async () => {
  const entity = { name: 'corral-interop-entity', entityType: 'test', observations: ['made by the interop suite'] };
  const created = await s.call('memory', 'create_entities', { entities: [entity] });
  assert.notEqual(created.isError, true, textOf(created));
  const graph = await s.call('memory', 'read_graph', {});
  assert.deepStrictEqual(graph.structuredContent?.entities?.find((e) => e.name === entity.name), entity);
  assert.ok(textOf(graph).includes(entity.name));
  // MEMORY_FILE_PATH came through the config's env.
  assert.ok(existsSync(s.dirs.memfile), 'memory file at MEMORY_FILE_PATH');
  assert.ok(readFileSync(s.dirs.memfile, 'utf8').includes(entity.name));
});

test('tools/call structuredContent passes through verbatim', async () => {
  const res = await s.call('everything', 'get-structured-content', { location: 'Chicago' });
  assert.deepStrictEqual(res.structuredContent, { temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 });
  assert.deepStrictEqual(JSON.parse(textOf(res)), res.structuredContent);
});

test('tools/call a 3 MiB result arrives intact', async () => {
  const n = 3 * 1024 * 1024;
  const res = await s.call('probe', 'big', { bytes: n });
  const text = textOf(res);
  assert.equal(text.length, n);
  const unit = '0123456789abcdef'.repeat(64) + '\n';
  let want = '';
  while (want.length < n) want += unit;
  assert.ok(text === want.slice(0, n), 'content differs');
});

test('unknown tool names are a JSON-RPC error -32602', async () => {
  if (DIRECT) {
    // A direct McpServer answers with an isError result instead.
    const res = await s.call('everything', 'no-such-tool');
    assert.equal(res.isError, true);
    return;
  }
  const c = s.client('everything');
  for (const name of ['everything__no-such-tool', 'nosuchalias__echo', 'echo', '']) {
    await assert.rejects(
      c.callTool({ name, arguments: {} }, undefined, { timeout: RT }),
      (e) => {
        assert.equal(e.code, -32602, `tool "${name}": ${e.message}`);
        return true;
      },
      `tool "${name}" should be rejected`,
    );
  }
  // Still usable afterwards.
  assert.equal(textOf(await s.call('everything', 'echo', { message: 'after' })), 'Echo: after');
});

test('children get their config env and cwd, not corral\'s environment', async () => {
  const info = JSON.parse(textOf(await s.call('probe', 'info')));
  assert.equal(info.env.PROBE_MARK, 'probe-mark-value');
  assert.equal(info.cwd, s.dirs.cwd);
  assert.ok(info.env.PATH, 'PATH');
  if (!DIRECT) {
    assert.equal(info.env[LEAK_VAR], undefined, `${LEAK_VAR} leaked into the child`);
    // The sandbox adds TMPDIR (its own /tmp) to the allow-list.
    const allowed = /^(PATH|HOME|USER|LANG|LC_[A-Z_]+|TZ|TERM|TMPDIR|PROBE_MARK)$/;
    const extra = Object.keys(info.env).filter((k) => !allowed.test(k));
    assert.deepStrictEqual(extra, [], 'unexpected variables in the child environment');
  }
});

test('server-everything get-env sees only the clean environment', { skip: DIRECT && 'corral only' }, async () => {
  const env = JSON.parse(textOf(await s.call('everything', 'get-env')));
  assert.equal(env[LEAK_VAR], undefined);
  assert.ok(env.PATH);
});
