// A small MCP server for the demo (stdio, on the official SDK's server side): a clock and a notes
// list kept in memory. examples/demo.json5 runs it as the MCP server `demo`, so the demo agent has
// the tools demo__time, demo__add_note and demo__list_notes.
//
//   node examples/mcp-demo-server.ts     (speaks MCP on stdin/stdout; the gateway starts it)
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const notes: string[] = [];
// One formatter per time zone asked for: building one (what toLocaleString with options does on
// every call) costs a few tenths of a millisecond, formatting with it a hundredth.
const clocks = new Map<string, Intl.DateTimeFormat>();
const clock = (timeZone: string): Intl.DateTimeFormat => {
  let format = clocks.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'long' });
    clocks.set(timeZone, format);
  }
  return format;
};

const tools = [
  {
    name: 'time',
    description: 'The current date and time, in UTC or in the given IANA time zone.',
    inputSchema: { type: 'object', properties: { timeZone: { type: 'string', description: 'e.g. "Europe/Paris"; default UTC' } }, additionalProperties: false },
  },
  {
    name: 'add_note',
    description: 'Adds a note to the notes list.',
    inputSchema: { type: 'object', properties: { text: { type: 'string', minLength: 1 } }, required: ['text'], additionalProperties: false },
  },
  {
    name: 'list_notes',
    description: 'Lists the notes, oldest first.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
];

const server = new Server({ name: 'openclaw-demo', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
  const args = (request.params.arguments ?? {}) as Record<string, unknown>;
  const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
  switch (request.params.name) {
    case 'time': {
      const timeZone = typeof args.timeZone === 'string' ? args.timeZone : 'UTC';
      try {
        return text(clock(timeZone).format(new Date()));
      } catch {
        return { content: [{ type: 'text', text: `Unknown time zone "${timeZone}".` }], isError: true };
      }
    }
    case 'add_note':
      notes.push(String(args.text));
      return text(`Noted (${notes.length} note${notes.length === 1 ? '' : 's'}).`);
    case 'list_notes':
      return text(notes.length === 0 ? 'No notes yet.' : notes.map((note, index) => `${index + 1}. ${note}`).join('\n'));
    default:
      return { content: [{ type: 'text', text: `No tool ${request.params.name}.` }], isError: true };
  }
});
await server.connect(new StdioServerTransport());
