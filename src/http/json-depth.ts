/**
 * How deeply a JSON text nests its objects and arrays, read from the bytes before anything parses
 * them: a value nested thousands of levels deep parses fine but overflows the stack of every
 * recursive walk after it (the validator, the upstream request's JSON.stringify, the session
 * store). The scan is one pass over the bytes and needs no valid JSON (a text that is not JSON is
 * the parser's to reject); brackets inside strings do not count.
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The deepest level reached so far. */
  deepest = 0;

  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Reads the next piece of the text; false once the nesting went deeper than the limit. */
  push(bytes: Uint8Array): boolean {
    let { depth, inString, escaped, deepest } = this;
    const limit = this.limit;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === 0x5c) escaped = true;
        else if (byte === 0x22) inString = false;
      } else if (byte === 0x22) {
        inString = true;
      } else if (byte === 0x7b || byte === 0x5b) {
        if (++depth > deepest) deepest = depth;
        if (depth > limit) {
          this.deepest = depth;
          return false;
        }
      } else if (byte === 0x7d || byte === 0x5d) {
        depth--;
      }
    }
    this.deepest = deepest;
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return true;
  }
}

/** Whether `text` (a whole JSON text) nests deeper than `limit` levels. */
export function nestsDeeperThan(text: Uint8Array | string, limit: number): boolean {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return !new JsonDepthScanner(limit).push(bytes);
}
