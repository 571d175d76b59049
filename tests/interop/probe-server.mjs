#!/usr/bin/env node
// A small MCP server (stdio) used as a corral child where the reference
// servers cannot show what we need to see from the child's side:
// whether a cancellation was forwarded, what environment and cwd the child
// got, large results, odd tool names, every optional tool field.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ErrorCode,
} from '@modelcontextprotocol/sdk/types.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const LONG_NAME = 'a_tool_name_that_is_much_longer_than_corral_allows_after_the_prefix_x';
export const ODD_NAME = 'odd name.with/chars';

// Tool definitions with every optional field filled in, so pass-through can
// be checked field by field.
export const PROBE_TOOLS = [
  {
    name: 'block',
    title: 'Block until cancelled',
    description: 'Waits up to `ms` milliseconds or until the request is cancelled.',
    inputSchema: {
      type: 'object',
      properties: { ms: { type: 'number', minimum: 0 } },
      required: ['ms'],
      additionalProperties: false,
    },
    annotations: { readOnlyHint: true, idempotentHint: true, title: 'block' },
    _meta: { 'dev.corral.test/meta': { nested: [1, 2, { deep: true }] } },
    icons: [{ src: 'data:image/png;base64,iVBORw0KGgo=', mimeType: 'image/png', sizes: ['16x16'] }],
  },
  {
    name: 'cancellations',
    description: 'Returns the cancellations this server has seen.',
    inputSchema: { type: 'object', properties: {} },
    outputSchema: {
      type: 'object',
      properties: { cancellations: { type: 'array' } },
      required: ['cancellations'],
    },
  },
  {
    name: 'info',
    description: 'Returns pid, cwd and environment of this server.',
    inputSchema: { type: 'object', properties: {} },
  },
  {
    name: 'big',
    description: 'Returns a text result of `bytes` bytes.',
    inputSchema: { type: 'object', properties: { bytes: { type: 'integer' } }, required: ['bytes'] },
  },
  {
    name: 'crash',
    description: 'Exits the server process with status 3 without answering.',
    inputSchema: { type: 'object', properties: {} },
  },
  {
    name: ODD_NAME,
    description: 'probe: odd name',
    inputSchema: { type: 'object', properties: {} },
  },
  {
    name: LONG_NAME,
    description: 'probe: long name',
    inputSchema: { type: 'object', properties: {} },
  },
];

const cancellations = [];

const server = new Server(
  { name: 'corral-interop-probe', version: '1.0.0' },
  { capabilities: { tools: {} } },
);

server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: PROBE_TOOLS }));

server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
  const args = req.params.arguments ?? {};
  switch (req.params.name) {
    case 'block': {
      const started = Date.now();
      const outcome = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), Number(args.ms) || 0);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          cancellations.push({
            requestId: extra.requestId,
            reason: extra.signal.reason === undefined ? null : String(extra.signal.reason),
            afterMs: Date.now() - started,
          });
          resolve('cancelled');
        }, { once: true });
      });
      return { content: [{ type: 'text', text: `block ended: ${outcome}` }] };
    }
    case 'cancellations':
      return {
        content: [{ type: 'text', text: JSON.stringify({ cancellations }) }],
        structuredContent: { cancellations },
      };
    case 'info':
      return {
        content: [{
          type: 'text',
          text: JSON.stringify({ pid: process.pid, ppid: process.ppid, started: STARTED, cwd: process.cwd(), env: process.env }),
        }],
      };
    case 'big': {
      const n = Number(args.bytes) || 0;
      // Non-trivial content so truncation or reordering would show.
      let s = '';
      const unit = '0123456789abcdef'.repeat(64) + '\n';
      while (s.length < n) s += unit;
      s = s.slice(0, n);
      return { content: [{ type: 'text', text: s }] };
    }
    case 'crash':
      setTimeout(() => process.exit(3), 50);
      return new Promise(() => {});
    case ODD_NAME:
      return { content: [{ type: 'text', text: 'odd ok' }] };
    case LONG_NAME:
      return { content: [{ type: 'text', text: 'long ok' }] };
    default:
      throw new McpError(ErrorCode.InvalidParams, `Tool ${req.params.name} not found`);
  }
});

// Only run when executed directly, so tests can import PROBE_TOOLS.

// Tells one start of this server from the next (pids repeat in a pid
// namespace).
const STARTED = `${Date.now()}-${Math.random()}`;
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await server.connect(new StdioServerTransport());
}
