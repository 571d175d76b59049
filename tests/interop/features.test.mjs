// Resources, resource templates, prompts and completion through corral.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { DIRECT, RT, openSession, openDirect, binOf, until } from './helpers.mjs';

const DOCS = join(dirname(binOf('@modelcontextprotocol/server-everything')), 'docs');

async function listAll(client, method, key) {
  const out = [];
  let cursor;
  for (let i = 0; i < 50; i++) {
    const r = await client[method](cursor ? { cursor } : undefined, { timeout: RT });
    out.push(...r[key]);
    cursor = r.nextCursor;
    if (!cursor) return out;
  }
  throw new Error(`${method}: too many pages`);
}

// resources, prompts, completion: one shared session for the tests below.
let s;
let d; // direct connection to server-everything, for comparisons
before(async () => {
  s = await openSession({ children: ['everything', 'fs', 'memory'] });
  d = await openDirect('everything');
});
after(async () => {
  await s?.close();
  await d?.close();
});

test('resources/list keeps URIs and fields', async () => {
  const got = await listAll(s.client('everything'), 'listResources', 'resources');
  const want = await listAll(d.client, 'listResources', 'resources');
  assert.ok(want.length > 0);
  for (const r of want) {
    assert.deepStrictEqual(got.find((x) => x.uri === r.uri), r, `resource ${r.uri}`);
  }
  assert.ok(got.some((r) => r.uri === 'demo://resource/static/document/features.md'));
});

test('resources/read of a static document returns the file', async () => {
  const uri = 'demo://resource/static/document/features.md';
  const r = await s.client('everything').readResource({ uri }, { timeout: RT });
  assert.equal(r.contents.length, 1);
  assert.equal(r.contents[0].uri, uri);
  assert.equal(r.contents[0].mimeType, 'text/markdown');
  assert.equal(r.contents[0].text, readFileSync(join(DOCS, 'features.md'), 'utf8'));
});

test('resources/read of templated text and blob resources', async () => {
  const c = s.client('everything');
  const t = await c.readResource({ uri: 'demo://resource/dynamic/text/3' }, { timeout: RT });
  assert.equal(t.contents[0].uri, 'demo://resource/dynamic/text/3');
  assert.match(t.contents[0].text, /^Resource 3: This is a plaintext resource created at /);
  const b = await c.readResource({ uri: 'demo://resource/dynamic/blob/2' }, { timeout: RT });
  assert.equal(b.contents[0].uri, 'demo://resource/dynamic/blob/2');
  assert.match(Buffer.from(b.contents[0].blob, 'base64').toString(), /^Resource 2: This is a base64 blob created at /);
});

test('resources/read of an unknown URI is an error', async () => {
  await assert.rejects(
    s.client('everything').readResource({ uri: 'demo://no/such/resource' }, { timeout: RT }),
    (e) => typeof e.code === 'number' && e.code < 0,
  );
});

test('resources/subscribe: notifications/resources/updated arrive', async () => {
  const c = s.client('everything');
  const uri = 'demo://resource/dynamic/text/1';
  const seen = [];
  c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => seen.push(n.params));
  assert.deepStrictEqual(await c.subscribeResource({ uri }, { timeout: RT }), {});
  const on = await c.callTool({ name: s.tool('everything', 'toggle-subscriber-updates'), arguments: {} }, undefined, { timeout: RT });
  assert.match(on.content[0].text, /^Started/);
  try {
    await until(() => seen.length > 0, { timeout: 3000, what: 'notifications/resources/updated' });
    assert.deepStrictEqual(seen[0], { uri });
  } finally {
    await c.callTool({ name: s.tool('everything', 'toggle-subscriber-updates'), arguments: {} }, undefined, { timeout: RT });
    await c.unsubscribeResource({ uri }, { timeout: RT });
  }
});

test('resources/templates/list equals the direct one', async () => {
  const got = await listAll(s.client('everything'), 'listResourceTemplates', 'resourceTemplates');
  const want = await listAll(d.client, 'listResourceTemplates', 'resourceTemplates');
  assert.equal(want.length, 2);
  for (const t of want) {
    assert.deepStrictEqual(got.find((x) => x.uriTemplate === t.uriTemplate), t, `template ${t.uriTemplate}`);
  }
});

test('prompts/list has prefixed names, other fields untouched', async () => {
  const got = await listAll(s.client('everything'), 'listPrompts', 'prompts');
  const want = await listAll(d.client, 'listPrompts', 'prompts');
  assert.ok(want.length >= 4);
  for (const p of want) {
    const name = s.prompt('everything', p.name);
    assert.deepStrictEqual(got.find((x) => x.name === name), { ...p, name }, `prompt ${name}`);
  }
});

test('prompts/get with arguments', async () => {
  const c = s.client('everything');
  const r = await c.getPrompt({ name: s.prompt('everything', 'args-prompt'), arguments: { city: 'Paris', state: 'TX' } }, { timeout: RT });
  assert.deepStrictEqual(r.messages, [{ role: 'user', content: { type: 'text', text: "What's weather in Paris, TX?" } }]);
  const simple = await c.getPrompt({ name: s.prompt('everything', 'simple-prompt') }, { timeout: RT });
  assert.equal(simple.messages[0].content.text, 'This is a simple prompt without arguments.');
});

test('prompts/get with an embedded resource', async () => {
  const r = await s.client('everything').getPrompt(
    { name: s.prompt('everything', 'resource-prompt'), arguments: { resourceType: 'Text', resourceId: '4' } },
    { timeout: RT });
  assert.equal(r.messages.length, 2);
  assert.equal(r.messages[1].content.type, 'resource');
  assert.equal(r.messages[1].content.resource.uri, 'demo://resource/dynamic/text/4');
});

test('prompts/get of an unknown prompt is error -32602', async () => {
  await assert.rejects(
    s.client('everything').getPrompt({ name: s.prompt('everything', 'no-such-prompt') }, { timeout: RT }),
    (e) => { assert.equal(e.code, -32602, e.message); return true; },
  );
});

test('completion/complete for a prompt argument (exposed prompt name)', async () => {
  const c = s.client('everything');
  const ref = { type: 'ref/prompt', name: s.prompt('everything', 'completable-prompt') };
  const r1 = await c.complete({ ref, argument: { name: 'department', value: 'E' } }, { timeout: RT });
  assert.deepStrictEqual(r1.completion.values, ['Engineering']);
  const r2 = await c.complete({
    ref, argument: { name: 'name', value: '' }, context: { arguments: { department: 'Sales' } },
  }, { timeout: RT });
  assert.deepStrictEqual(r2.completion.values, ['David', 'Eve', 'Frank']);
});

test('completion/complete for a resource template', async () => {
  const r = await s.client('everything').complete({
    ref: { type: 'ref/resource', uri: 'demo://resource/dynamic/text/{resourceId}' },
    argument: { name: 'resourceId', value: '7' },
  }, { timeout: RT });
  assert.deepStrictEqual(r.completion.values, ['7']);
});
