// Task-augmented tools/call (experimental MCP tasks) through corral, with
// server-everything's simulate-research-query (taskSupport "required").
// Not part of corral's documented contract; corral advertises the children's
// `tasks` capability, so what it advertises must work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CallToolResultSchema, CreateTaskResultSchema, GetTaskResultSchema, ListTasksResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { DIRECT, RT, withSession } from './helpers.mjs';

test(`tasks: tools/call with task, tasks/get, tasks/list, tasks/result (${DIRECT ? 'direct' : 'corral'})`, { timeout: 20000 }, async () => {
  await withSession({ children: ['everything', 'fs'] }, async (s) => {
    const c = s.client('everything');
    const caps = c.getServerCapabilities();
    assert.ok(caps.tasks?.requests?.tools?.call, `tasks capability: ${JSON.stringify(caps)}`);
    await s.waitTools('everything', ['simulate-research-query']);
    const name = s.tool('everything', 'simulate-research-query');
    const created = await c.request({
      method: 'tools/call',
      params: { name, arguments: { topic: 'corral interop' }, task: { ttl: 60000 } },
    }, CreateTaskResultSchema, { timeout: RT });
    const id = created.task.taskId;
    assert.equal(typeof id, 'string');
    assert.equal(created.task.status, 'working');

    const got = await c.request({ method: 'tasks/get', params: { taskId: id } }, GetTaskResultSchema, { timeout: RT });
    assert.equal(got.taskId, id);
    assert.ok(['working', 'completed'].includes(got.status), got.status);

    const list = await c.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema, { timeout: RT });
    assert.ok(list.tasks.some((t) => t.taskId === id), JSON.stringify(list));

    // tasks/result blocks until the task is done (~4 s).
    const res = await c.request({ method: 'tasks/result', params: { taskId: id } }, CallToolResultSchema, { timeout: 12000 });
    assert.match(res.content[0].text, /^# Research Report: corral interop/);

    await assert.rejects(
      c.request({ method: 'tasks/get', params: { taskId: 'no-such-task' } }, GetTaskResultSchema, { timeout: RT }),
      (e) => { assert.equal(e.code, -32602, e.message); return true; });
  });
});
