import type { ContentPart } from '../records/record.ts';

/** One MCP content block, as loosely as the gateway reads it (servers send more kinds over time). */
type McpContent = {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  uri?: string;
  name?: string;
  resource?: { uri?: string; mimeType?: string; text?: string; blob?: string };
};

export interface ToolResultContent {
  content: ContentPart[];
  isError: boolean;
  /** The result was larger than the limit and was cut. */
  truncated: boolean;
}

/**
 * An MCP `tools/call` result as the content of a tool message: text blocks as text, images as
 * image parts (data: URIs), text resources as their text, anything else as a line saying what it
 * was. Past `maxBytes` (UTF-8 text plus image bytes) the rest is cut, and a marker says so.
 */
export function toolResultContent(result: { content?: unknown; structuredContent?: unknown; isError?: unknown }, maxBytes: number): ToolResultContent {
  const blocks = Array.isArray(result.content) ? (result.content as McpContent[]) : [];
  const parts: ContentPart[] = [];
  for (const block of blocks) {
    if (block.type === 'text' && typeof block.text === 'string') parts.push({ type: 'text', text: block.text });
    else if (block.type === 'image' && typeof block.data === 'string') parts.push({ type: 'image', url: `data:${block.mimeType ?? 'image/png'};base64,${block.data}` });
    else if (block.type === 'resource' && typeof block.resource?.text === 'string') parts.push({ type: 'text', text: block.resource.text });
    else if (block.type === 'resource_link') parts.push({ type: 'text', text: `[resource ${block.name ?? ''} ${block.uri ?? ''}]`.replace(/\s+/g, ' ') });
    else parts.push({ type: 'text', text: `[${block.type} content${block.mimeType ? ` (${block.mimeType})` : ''} omitted]` });
  }
  if (parts.length === 0 && result.structuredContent !== undefined) parts.push({ type: 'text', text: JSON.stringify(result.structuredContent) });
  const cut = truncateParts(parts, maxBytes);
  return { content: cut.parts, isError: result.isError === true, truncated: cut.truncated };
}

/** A text as the content of a tool message the gateway wrote itself (an error it answers the model with). */
export function errorContent(text: string): ContentPart[] {
  return [{ type: 'text', text }];
}

function truncateParts(parts: ContentPart[], maxBytes: number): { parts: ContentPart[]; truncated: boolean } {
  let total = 0;
  for (const part of parts) total += partBytes(part);
  if (total <= maxBytes) return { parts, truncated: false };
  const marker = `\n[truncated: the tool returned ${total} bytes; the gateway passes on at most ${maxBytes} (maxToolResultBytes)]`;
  let budget = Math.max(0, maxBytes - Buffer.byteLength(marker));
  const kept: ContentPart[] = [];
  for (const part of parts) {
    const size = partBytes(part);
    if (size <= budget) {
      kept.push(part);
      budget -= size;
      continue;
    }
    // An image is never cut in half: it goes whole or not at all.
    if (part.type === 'text' && budget > 0) kept.push({ type: 'text', text: cutUtf8(part.text, budget) });
    break;
  }
  const last = kept.at(-1);
  if (last?.type === 'text') kept[kept.length - 1] = { type: 'text', text: last.text + marker };
  else kept.push({ type: 'text', text: marker.trimStart() });
  return { parts: kept, truncated: true };
}

function partBytes(part: ContentPart): number {
  return part.type === 'image' ? part.url.length : Buffer.byteLength(part.text);
}

/** The longest prefix of `text` within `bytes` UTF-8 bytes, never splitting a character. */
function cutUtf8(text: string, bytes: number): string {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= bytes) return text;
  let end = bytes;
  // Step back over continuation bytes (10xxxxxx) to a character boundary.
  while (end > 0 && (encoded[end] & 0xc0) === 0x80) end--;
  return encoded.subarray(0, end).toString('utf8');
}
