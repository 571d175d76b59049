// The remote-server suite, run by remote.test.mjs and remote-sse.test.mjs.
// A remote server through corral: server-everything in its streamableHttp
// mode on loopback is corral's child "everything", reached over Streamable
// HTTP, and the same again in its sse mode over the legacy HTTP+SSE
// transport; the SDK client talks to corral on stdio. The same checks as for a
// stdio child: lists equal the server's own, calls, progress, cancellation,
// sampling, elicitation, roots, resources, prompts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  CLIENT_CAPS, DIRECT, RT, SAMPLING_TEXT, openSession, startEverythingHttp, textOf, sleep,
} from './helpers.mjs';

const T = { timeout: 30000 };
const skip = DIRECT && 'corral only';
const isAbort = (e) => e?.name === 'AbortError' || /AbortError|aborted/.test(String(e?.message));

// Registers the suite for one transport: mode is 'streamableHttp' or 'sse'.
export function suite(mode) {
  let s;
  let direct; // the SDK's own HTTP client to another instance of the server
  let dsrv;
  before(async () => {
    if (DIRECT) return;
    s = await openSession({ children: [], remote: ['everything'], remoteMode: mode });
    await s.waitTools('everything', ['echo', 'trigger-long-running-operation', 'trigger-sampling-request']);
    dsrv = await startEverythingHttp(mode);
    direct = new Client({ name: 'direct', version: '1' }, { capabilities: structuredClone(CLIENT_CAPS) });
    const url = new URL(dsrv.url);
    await direct.connect(mode === 'sse' ? new SSEClientTransport(url) : new StreamableHTTPClientTransport(url), { timeout: RT });
  });
  after(async () => {
    try { await direct?.close(); } catch { /* ignore */ }
    dsrv?.stop();
    await s?.close();
  });

  test(`remote (${mode}): tools, prompts and resources equal the server's own, prefixed`, { ...T, skip }, async () => {
    const mine = await s.client('everything').listTools(undefined, { timeout: RT });
    const theirs = await direct.listTools(undefined, { timeout: RT });
    const strip = (t) => ({ ...t, name: t.name.replace(/^everything__/, '') });
    assert.deepStrictEqual(mine.tools.map(strip).sort((a, b) => a.name.localeCompare(b.name)),
      theirs.tools.sort((a, b) => a.name.localeCompare(b.name)));
    const mp = await s.client('everything').listPrompts(undefined, { timeout: RT });
    const tp = await direct.listPrompts(undefined, { timeout: RT });
    assert.deepStrictEqual(mp.prompts.map((p) => p.name.replace(/^everything__/, '')).sort(),
      tp.prompts.map((p) => p.name).sort());
    const mr = await s.client('everything').listResources(undefined, { timeout: RT });
    const tr = await direct.listResources(undefined, { timeout: RT });
    assert.deepStrictEqual(mr.resources.map((r) => r.uri).sort(), tr.resources.map((r) => r.uri).sort());
  });

  test(`remote (${mode}): tools/call echo and get-sum`, { ...T, skip }, async () => {
    assert.equal(textOf(await s.call('everything', 'echo', { message: 'over http' })), 'Echo: over http');
    assert.equal(textOf(await s.call('everything', 'get-sum', { a: 2, b: 40 })), 'The sum of 2 and 40 is 42.');
  });

  test(`remote (${mode}): progress notifications reach onprogress with the client's token`, { ...T, skip }, async () => {
    const seen = [];
    const res = await s.call('everything', 'trigger-long-running-operation', { duration: 1, steps: 3 },
      { onprogress: (p) => seen.push(p) });
    assert.equal(textOf(res), 'Long running operation completed. Duration: 1 seconds, Steps: 3.');
    assert.ok(seen.length >= 2, JSON.stringify(seen));
    for (const [i, p] of seen.entries()) assert.deepStrictEqual([p.progress, p.total], [i + 1, 3]);
  });

  test(`remote (${mode}): cancel after the first progress; nothing follows; the server still answers`, { ...T, skip }, async () => {
    const errorsBefore = s.rec.errors.length;
    const ac = new AbortController();
    const seen = [];
    const p = s.call('everything', 'trigger-long-running-operation', { duration: 1.5, steps: 3 }, {
      signal: ac.signal,
      onprogress: (x) => { seen.push(x); ac.abort(); },
    });
    await assert.rejects(p, isAbort);
    assert.equal(seen.length, 1);
    await sleep(1600);
    const unexpected = s.rec.errors.slice(errorsBefore)
      .filter((e) => !/progress notification for an unknown token/.test(String(e)));
    assert.deepStrictEqual(unexpected, []);
    assert.equal(textOf(await s.call('everything', 'echo', { message: 'still here' })), 'Echo: still here');
  });

  test(`remote (${mode}): sampling/createMessage from the server reaches the client and the answer goes back`, { ...T, skip }, async () => {
    const before = s.rec.sampling.length;
    const res = await s.call('everything', 'trigger-sampling-request', { prompt: 'ping', maxTokens: 17 });
    assert.equal(s.rec.sampling.length, before + 1);
    assert.equal(s.rec.sampling[before].maxTokens, 17);
    assert.ok(textOf(res).includes(SAMPLING_TEXT), textOf(res));
  });

  test(`remote (${mode}): elicitation/create arrives prefixed and the answer goes back`, { ...T, skip }, async () => {
    const before = s.rec.elicit.length;
    s.state.elicitReply = () => ({ action: 'accept', content: { name: 'Ada Lovelace' } });
    try {
      const res = await s.call('everything', 'trigger-elicitation-request', {});
      assert.equal(s.rec.elicit.length, before + 1);
      assert.equal(s.rec.elicit[before].message, s.elicitMessage('everything', 'Please provide inputs for the following fields:'));
      assert.ok(textOf(res).includes('- Name: Ada Lovelace'), textOf(res));
    } finally {
      s.state.elicitReply = () => ({ action: 'decline' });
    }
  });

  test(`remote (${mode}): roots/list from the server is answered with the client's roots`, { ...T, skip }, async () => {
    await s.waitTools('everything', ['get-roots-list'], 10000);
    const uri = pathToFileURL(s.dirs.fsdir).href;
    const text = textOf(await s.call('everything', 'get-roots-list'));
    assert.ok(text.includes(uri), text);
  });

  test(`remote (${mode}): resources/read and prompts/get`, { ...T, skip }, async () => {
    const c = s.client('everything');
    const t = await c.readResource({ uri: 'demo://resource/dynamic/text/3' }, { timeout: RT });
    assert.match(t.contents[0].text, /^Resource 3: This is a plaintext resource created at /);
    const r = await c.getPrompt({ name: s.prompt('everything', 'args-prompt'), arguments: { city: 'Paris', state: 'TX' } }, { timeout: RT });
    assert.deepStrictEqual(r.messages, [{ role: 'user', content: { type: 'text', text: "What's weather in Paris, TX?" } }]);
  });
}
