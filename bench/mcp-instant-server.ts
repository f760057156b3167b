// An MCP server over stdio whose one tool, `time`, answers at once: JSON-RPC lines in, JSON-RPC
// lines out, nothing else. For the tool-step cell, which measures what the gateway's tool loop
// adds. The demo server (examples/mcp-demo-server.ts, on the official SDK's server side) spends
// ≈ 0.3 ms of its own per call on this machine (parsing every message against the protocol's
// schemas, its request bookkeeping), which is the tool server's time, not the loop's; the cell
// measures a run through it as well, as a second row.
//
//   node bench/mcp-instant-server.ts     (speaks MCP on stdin/stdout; the gateway starts it)
import { createInterface } from 'node:readline';

const PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
const TOOLS = [{ name: 'time', description: 'The current date and time in UTC.', inputSchema: { type: 'object', properties: {}, additionalProperties: false } }];

type Message = { jsonrpc: '2.0'; id?: string | number; method?: string; params?: Record<string, unknown> };

function answer(message: Message): unknown {
  switch (message.method) {
    case 'initialize': {
      const asked = message.params?.protocolVersion;
      const protocolVersion = typeof asked === 'string' && PROTOCOL_VERSIONS.includes(asked) ? asked : PROTOCOL_VERSIONS[0];
      return { protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'openclaw-bench-instant', version: '1.0.0' } };
    }
    case 'ping':
      return {};
    case 'tools/list':
      return { tools: TOOLS };
    case 'tools/call':
      if (message.params?.name !== 'time') return { content: [{ type: 'text', text: `No tool ${String(message.params?.name)}.` }], isError: true };
      return { content: [{ type: 'text', text: new Date().toUTCString() }] };
    default:
      return undefined;
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  let message: Message;
  try {
    message = JSON.parse(line) as Message;
  } catch {
    return;
  }
  // Notifications (no id) need no answer; a response from the client is not expected here.
  if (message.id === undefined || message.method === undefined) return;
  const result = answer(message);
  const reply = result === undefined ? { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: `Method not found: ${message.method}` } } : { jsonrpc: '2.0', id: message.id, result };
  process.stdout.write(`${JSON.stringify(reply)}\n`);
});
lines.on('close', () => process.exit(0));
