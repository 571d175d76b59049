// Progress, cancellation, server->client requests (sampling, elicitation,
// roots), logging, and shutdown, through corral.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import {
  DIRECT, RT, SAMPLING_TEXT, FILE_TEXT, openSession, withSession, textOf, until, sleep,
} from './helpers.mjs';

const LATE = ['trigger-sampling-request', 'trigger-elicitation-request', 'trigger-url-elicitation', 'get-roots-list'];
const T = { timeout: 20000 };

const isAbort = (e) => e?.name === 'AbortError' || /AbortError|aborted/.test(String(e?.message));

/** Progress notifications that arrive after their response are reported by the
 *  SDK client as "unknown token" errors: the client handles notifications a
 *  microtask later than responses, so the final notification can lose the race
 *  when both arrive in one read. */
const LATE_PROGRESS = /^Error: Received a progress notification for an unknown token: (.*)$/s;
function lateProgress(err) {
  const m = LATE_PROGRESS.exec(String(err));
  return m ? JSON.parse(m[1]).params : null;
}

/** Check the progress seen for a call of `steps` steps. */
function checkProgress(seen, steps, errors) {
  const got = seen.map((p) => [p.progress, p.total]);
  const want = Array.from({ length: steps }, (_, i) => [i + 1, steps]);
  if (got.length === steps - 1) {
    // The last one may only be missing if it came after the response.
    assert.ok(errors.some((e) => { const p = lateProgress(e); return p && p.progress === steps && p.total === steps; }),
      `progress ${steps}/${steps} never arrived; seen ${JSON.stringify(got)}`);
    want.pop();
  }
  assert.deepStrictEqual(got, want);
}

/** Errors other than late final progress notifications. */
const otherErrors = (errors, { anyProgress = false } = {}) => errors
  .filter((e) => { const p = lateProgress(e); return !(p && (anyProgress || p.progress === p.total)); })
  .map(String);

// progress, cancellation, sampling, elicitation: one shared session for the tests below.
let s;
before(async () => {
  s = await openSession({ children: ['everything', 'probe'] });
  await s.waitTools('everything', ['trigger-long-running-operation', ...LATE]);
});
after(async () => { await s?.close(); });

test('progress notifications reach onprogress with the client\'s token', T, async () => {
  const errorsBefore = s.rec.errors.length;
  const seen = [];
  const res = await s.call('everything', 'trigger-long-running-operation', { duration: 1, steps: 4 },
    { onprogress: (p) => seen.push(p) });
  assert.equal(textOf(res), 'Long running operation completed. Duration: 1 seconds, Steps: 4.');
  checkProgress(seen, 4, s.rec.errors.slice(errorsBefore));
  assert.deepStrictEqual(otherErrors(s.rec.errors.slice(errorsBefore)), []);
});

test('two concurrent calls each get their own progress', T, async () => {
  const errorsBefore = s.rec.errors.length;
  const a = [];
  const b = [];
  const [ra, rb] = await Promise.all([
    s.call('everything', 'trigger-long-running-operation', { duration: 1, steps: 3 }, { onprogress: (p) => a.push(p) }),
    s.call('everything', 'trigger-long-running-operation', { duration: 1.2, steps: 5 }, { onprogress: (p) => b.push(p) }),
  ]);
  assert.match(textOf(ra), /Steps: 3\./);
  assert.match(textOf(rb), /Steps: 5\./);
  checkProgress(a, 3, s.rec.errors.slice(errorsBefore));
  checkProgress(b, 5, s.rec.errors.slice(errorsBefore));
  assert.deepStrictEqual(otherErrors(s.rec.errors.slice(errorsBefore)), []);
});

test('cancel: abort rejects, the child sees notifications/cancelled, no response follows', T, async () => {
  const errorsBefore = s.rec.errors.length;
  const ac = new AbortController();
  const t0 = Date.now();
  const p = s.call('probe', 'block', { ms: 4000 }, { signal: ac.signal });
  await sleep(300);
  ac.abort();
  await assert.rejects(p, isAbort);
  assert.ok(Date.now() - t0 < 2000, 'abort must reject at once');
  // The probe records the cancellation it received.
  const got = await until(async () => {
    const r = await s.call('probe', 'cancellations');
    return r.structuredContent.cancellations.length > 0 && r.structuredContent.cancellations;
  }, { timeout: 3000, what: 'the probe to see notifications/cancelled' });
  assert.equal(got.length, 1);
  assert.ok(got[0].afterMs < 3000, `cancelled after ${got[0].afterMs} ms`);
  // No late response for the cancelled id reaches the client.
  await sleep(300);
  assert.deepStrictEqual(otherErrors(s.rec.errors.slice(errorsBefore)), []);
});

test('cancel a long-running everything call after its first progress', T, async () => {
  const errorsBefore = s.rec.errors.length;
  const ac = new AbortController();
  const seen = [];
  const p = s.call('everything', 'trigger-long-running-operation', { duration: 1.5, steps: 3 }, {
    signal: ac.signal,
    onprogress: (x) => { seen.push(x); ac.abort(); },
  });
  await assert.rejects(p, isAbort);
  assert.equal(seen.length, 1);
  // Wait past the operation's natural end: nothing may arrive for it.
  // (Progress notifications for it may still come; they are harmless.)
  await sleep(1500);
  assert.deepStrictEqual(otherErrors(s.rec.errors.slice(errorsBefore), { anyProgress: true }), []);
  assert.equal(textOf(await s.call('everything', 'echo', { message: 'still here' })), 'Echo: still here');
});

test('sampling/createMessage from a child reaches the client and the answer goes back', T, async () => {
  const before = s.rec.sampling.length;
  const res = await s.call('everything', 'trigger-sampling-request', { prompt: 'ping', maxTokens: 17 });
  assert.equal(s.rec.sampling.length, before + 1);
  const req = s.rec.sampling[before];
  assert.deepStrictEqual(req.messages, [{ role: 'user', content: { type: 'text', text: 'Resource trigger-sampling-request context: ping' } }]);
  assert.equal(req.maxTokens, 17);
  assert.equal(req.systemPrompt, 'You are a helpful test server.');
  assert.equal(req.temperature, 0.7);
  const text = textOf(res);
  assert.ok(text.includes(SAMPLING_TEXT), text);
  assert.ok(text.includes('interop-model'), text);
});

test('elicitation/create (form) arrives prefixed and the answer goes back', T, async () => {
  const before = s.rec.elicit.length;
  s.state.elicitReply = () => ({
    action: 'accept',
    content: { name: 'Ada Lovelace', check: true, email: 'ada@example.com', integer: 7 },
  });
  try {
    const res = await s.call('everything', 'trigger-elicitation-request', {});
    assert.equal(s.rec.elicit.length, before + 1);
    const req = s.rec.elicit[before];
    assert.equal(req.message, s.elicitMessage('everything', 'Please provide inputs for the following fields:'));
    assert.equal(req.requestedSchema.type, 'object');
    assert.deepStrictEqual(req.requestedSchema.required, ['name']);
    assert.equal(req.requestedSchema.properties.name.description, 'Your full, legal name');
    const text = textOf(res);
    assert.ok(text.includes('- Name: Ada Lovelace'), text);
    assert.ok(text.includes('- Favorite Integer: 7'), text);
  } finally {
    s.state.elicitReply = () => ({ action: 'decline' });
  }
});

test('elicitation/create decline goes back', T, async () => {
  const res = await s.call('everything', 'trigger-elicitation-request', {});
  assert.ok(textOf(res).includes('User declined'), textOf(res));
});

test('elicitation/create (url mode) arrives prefixed with url and id', T, async () => {
  const before = s.rec.elicit.length;
  s.state.elicitReply = () => ({ action: 'accept' });
  try {
    const res = await s.call('everything', 'trigger-url-elicitation', {
      url: 'https://example.com/consent', message: 'Open the consent page', elicitationId: 'interop-elicit-1',
    });
    const req = s.rec.elicit[before];
    assert.ok(req, 'no elicitation request arrived');
    assert.equal(req.mode, 'url');
    assert.equal(req.url, 'https://example.com/consent');
    assert.equal(req.elicitationId, 'interop-elicit-1');
    assert.equal(req.message, s.elicitMessage('everything', 'Open the consent page'));
    assert.match(textOf(res), /User completed the URL elicitation flow/);
  } finally {
    s.state.elicitReply = () => ({ action: 'decline' });
  }
});

test('a URL-elicitation-required error (-32042) keeps its code and data', T, async () => {
  await assert.rejects(
    s.call('everything', 'trigger-url-elicitation', { url: 'https://example.com/x', errorPath: true }),
    (e) => {
      assert.equal(e.code, -32042, e.message);
      assert.equal(e.data?.elicitations?.[0]?.url, 'https://modelcontextprotocol.io');
      return true;
    },
  );
});

test(`roots: children's roots/list reach the client at start and after list_changed (${DIRECT ? 'direct' : 'corral'})`, T, async () => {
  // The host's root differs from server-filesystem's command-line directory,
  // so what server-filesystem allows shows whether it got the host's roots:
  // it replaces its directories with the client's roots when it gets them.
  await withSession({ children: ['everything', 'fs'], roots: (dirs) => dirs.extra }, async (s) => {
    const rootX = { uri: pathToFileURL(s.dirs.extra).href, name: 'extra' };
    const rootF = { uri: pathToFileURL(s.dirs.fsdir).href, name: 'fsroot' };
    assert.deepStrictEqual(s.state.roots, [rootX]);
    // server-filesystem asks at initialized, server-everything ~350 ms later.
    await until(() => s.rec.rootsCalls.length >= 1, { timeout: 3000, what: 'a roots/list request' });
    await s.waitTools('everything', ['get-roots-list']);
    await s.waitTools('fs', ['list_allowed_directories', 'read_text_file']);
    let last;
    const a1 = await until(async () => {
      const t = last = textOf(await s.call('fs', 'list_allowed_directories'));
      return t.includes(s.dirs.extra) && t;
    }, { timeout: 3000, what: 'server-filesystem to adopt the host\'s roots given at start' }).catch((e) => {
      e.message += `; server-filesystem still allows: ${JSON.stringify(last)}`;
      throw e;
    });
    assert.deepStrictEqual(a1.split('\n').slice(1), [s.dirs.extra]);
    const r1 = textOf(await s.call('everything', 'get-roots-list'));
    assert.ok(r1.includes(`URI: ${rootX.uri}`), r1);
    assert.ok(r1.includes('(1 total)'), r1);

    // Change the roots: both children must learn the new list.
    const calls = s.rec.rootsCalls.length;
    await s.setRoots([rootX, rootF]);
    await until(() => s.rec.rootsCalls.length > calls, { timeout: 3000, what: 'roots/list after list_changed' });
    const a2 = await until(async () => {
      const t = textOf(await s.call('fs', 'list_allowed_directories'));
      return t.includes(s.dirs.fsdir) && t;
    }, { timeout: 3000, what: 'fs to allow the new root' });
    assert.deepStrictEqual(a2.split('\n').slice(1).sort(), [s.dirs.extra, s.dirs.fsdir].sort());
    const r2 = await until(async () => {
      const t = textOf(await s.call('everything', 'get-roots-list'));
      return t.includes(rootF.uri) && t;
    }, { timeout: 3000, what: 'everything to see the new root' });
    assert.ok(r2.includes('(2 total)'), r2);
    assert.equal(textOf(await s.call('fs', 'read_text_file', { path: s.dirs.file })), FILE_TEXT);
  });
});

test(`logging: setLevel answered {} and forwarded; messages carry the alias in logger (${DIRECT ? 'direct' : 'corral'})`, T, async () => {
  await withSession({ children: ['everything', 'fs'] }, async (s) => {
    const c = s.client('everything');
    await s.waitTools('everything', ['toggle-simulated-logging']);
    const isRootsLog = (m) => typeof m.data === 'string' && m.data.startsWith('Roots updated:');
    // server-everything logs (logger "everything-server") after its roots/list.
    const first = await until(() => s.rec.logs.find(isRootsLog), { timeout: 3000, what: 'the roots log message' });
    assert.equal(first.level, 'info');
    assert.equal(first.logger, s.logger('everything', 'everything-server'));

    // Level "emergency": the child must drop its info message.
    assert.deepStrictEqual(await c.setLoggingLevel('emergency', { timeout: RT }), {});
    let n = s.rec.logs.filter(isRootsLog).length;
    let calls = s.rec.rootsCalls.length;
    await s.setRoots([...s.state.roots]);
    await until(() => s.rec.rootsCalls.length > calls, { timeout: 3000, what: 'roots/list after list_changed' });
    await sleep(400);
    assert.equal(s.rec.logs.filter(isRootsLog).length, n, 'info message arrived at level emergency');

    // Level "debug": it arrives again.
    assert.deepStrictEqual(await c.setLoggingLevel('debug', { timeout: RT }), {});
    n = s.rec.logs.filter(isRootsLog).length;
    calls = s.rec.rootsCalls.length;
    await s.setRoots([...s.state.roots]);
    await until(() => s.rec.logs.filter(isRootsLog).length > n, { timeout: 3000, what: 'the roots log at level debug' });

    // A message without a logger gets just the alias.
    const before = s.rec.logs.length;
    const started = await s.call('everything', 'toggle-simulated-logging');
    assert.match(textOf(started), /^Started simulated/);
    try {
      const m = await until(() => s.rec.logs.slice(before).find((x) => /level[- ]message/i.test(String(x.data))),
        { timeout: 3000, what: 'a simulated log message' });
      assert.equal(m.logger, s.logger('everything', undefined));
    } finally {
      await s.call('everything', 'toggle-simulated-logging');
    }
  });
});
