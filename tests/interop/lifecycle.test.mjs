// corral's life cycle and its children's: shutdown on stdin EOF, a child
// that dies mid-call, ping, tools/list_changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { DIRECT, RT, openSession, withSession, textOf, until, sleep } from './helpers.mjs';

const T = { timeout: 20000 };

/** Whether a process is gone (zombies count as gone). */
function gone(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'ESRCH';
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

test(`ping is answered {} (${DIRECT ? 'direct' : 'corral'})`, T, async () => {
  await withSession({ children: ['everything'] }, async (s) => {
    assert.deepStrictEqual(await s.client('everything').ping({ timeout: RT }), {});
  });
});

test(`tools that appear after the first tools/list are announced with tools/list_changed (${DIRECT ? 'direct' : 'corral'})`, T, async () => {
  const s = await openSession({ children: ['everything', 'fs'] });
  try {
    const first = (await s.client('everything').listTools(undefined, { timeout: RT })).tools.map((t) => t.name);
    const late = s.tool('everything', 'trigger-sampling-request');
    await s.waitTools('everything', ['trigger-sampling-request']);
    if (!first.includes(late)) {
      await until(() => s.rec.toolListChanged > 0, { timeout: 3000, what: 'notifications/tools/list_changed' });
    }
  } finally {
    await s.close();
  }
});

/** Every process below pid, from /proc (the host's view). */
function descendants(pid) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone meanwhile */ }
  }
  const out = [];
  const walk = (p) => { for (const [c, pp] of parent) if (pp === p) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

test('corral exits when its stdin closes, and its children go too', { ...T, skip: DIRECT && 'corral only' }, async () => {
  await withSession({ children: ['everything', 'probe'] }, async (s) => {
    await s.waitTools('probe', ['info']);
    const proc = s.transports[0]._process; // the SDK keeps the child process here
    assert.ok(proc?.pid, 'corral process');
    // Children live in pid namespaces: watch them from here, as corral's
    // descendants.
    const kids = descendants(proc.pid);
    assert.ok(kids.length >= 2, `corral has children: ${kids}`);
    const exited = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })));
    proc.stdin.end();
    const res = await Promise.race([exited, sleep(3000).then(() => 'timeout')]);
    assert.notEqual(res, 'timeout', 'corral still running 3 s after stdin closed');
    assert.deepStrictEqual(res, { code: 0, sig: null });
    await until(() => kids.every(gone), { timeout: 3000, what: `children ${kids} to exit` });
  });
});

test('a child that dies mid-call: the call fails at once, others keep working, the child comes back', { ...T, skip: DIRECT && 'corral only' }, async () => {
  await withSession({ children: ['everything', 'probe'] }, async (s) => {
    await s.waitTools('probe', ['crash', 'info']);
    const before = JSON.parse(textOf(await s.call('probe', 'info')));
    const t0 = Date.now();
    await assert.rejects(s.call('probe', 'crash', {}, { timeout: 5000 }), (e) => {
      assert.equal(typeof e.code, 'number', String(e));
      assert.notEqual(e.code, -32001, `the call timed out instead of failing: ${e.message}`);
      return true;
    });
    assert.ok(Date.now() - t0 < 3000, `crash reported after ${Date.now() - t0} ms`);
    assert.equal(textOf(await s.call('everything', 'echo', { message: 'alive' })), 'Echo: alive');
    // corral restarts a child that died; its tools come back.
    const tlc = s.rec.toolListChanged;
    const after = await until(async () => {
      try {
        return JSON.parse(textOf(await s.call('probe', 'info', {}, { timeout: 2000 })));
      } catch {
        return null;
      }
    }, { timeout: 8000, interval: 200, what: 'the probe to come back' });
    assert.notEqual(after.started, before.started, 'the same probe answered');
    assert.ok(s.rec.toolListChanged > tlc, 'no tools/list_changed while the child went and came back');
  });
});

test('capabilities: the union of the children\'s, nothing that no child has', { ...T, skip: DIRECT && 'corral only' }, async () => {
  await withSession({ children: ['fs', 'memory'] }, async (s) => {
    const caps = s.client('fs').getServerCapabilities();
    assert.equal(caps.tools?.listChanged, true);
    assert.equal(caps.prompts?.listChanged, true);
    assert.equal(caps.resources?.listChanged, true);
    assert.equal(caps.resources?.subscribe, true, 'server-memory has resources.subscribe');
    assert.equal(caps.logging, undefined, 'no child has logging');
    assert.equal(caps.completions, undefined, 'no child has completions');
    assert.equal(caps.tasks, undefined, 'no child has tasks');
    assert.equal(s.client('fs').getServerVersion()?.name, 'corral');
  });
});
