import { setImmediate as nextTurn } from 'node:timers/promises';

/** Bytes scanned, or parsed, between two turns of the event loop (≈1–2 ms of work each). */
const SLICE_BYTES = 256 * 1024;

interface Member {
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
  /** Set when the value is an array: where its elements start and end, and the commas it is cut at. */
  elements?: { start: number; end: number; cuts: number[] };
}

/**
 * A large JSON body that is already known to be valid (the body worker checked it), parsed without
 * holding the event loop for the whole text: JSON.parse of 20 MB is one 30–100 ms block. The
 * top-level object is cut into its members, and each array member (`messages`, `input`, `tools`)
 * into runs of elements of about SLICE_BYTES, each parsed natively, the loop yielded between them.
 * A single member that is itself huge (one 20 MB string) is still parsed in one go. Anything but an
 * object at the top is left to JSON.parse.
 */
export async function parseValidJsonInSlices(raw: Buffer): Promise<unknown> {
  let start = 0;
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) start = 3;
  while (isSpace(raw[start])) start++;
  if (raw[start] !== 0x7b) return JSON.parse(raw.toString('utf8', start));
  const members = await cutMembers(raw, start);
  const result: Record<string, unknown> = {};
  for (const member of members) {
    const key = JSON.parse(raw.toString('utf8', member.keyStart, member.keyEnd)) as string;
    let value: unknown;
    if (member.elements) {
      const items: unknown[] = [];
      const { start: first, end, cuts } = member.elements;
      let from = first;
      for (const to of [...cuts, end]) {
        const run = JSON.parse(`[${raw.toString('utf8', from, to)}]`) as unknown[];
        for (const item of run) items.push(item);
        from = to + 1;
        if (to !== end) await nextTurn();
      }
      value = items;
    } else {
      value = JSON.parse(raw.toString('utf8', member.valueStart, member.valueEnd));
    }
    // Defined rather than assigned: a member named `__proto__` is data, as JSON.parse makes it.
    Object.defineProperty(result, key, { value, writable: true, enumerable: true, configurable: true });
  }
  return result;
}

/** One pass over the bytes (strings skipped natively with indexOf), yielding every SLICE_BYTES. */
async function cutMembers(raw: Buffer, objectStart: number): Promise<Member[]> {
  const members: Member[] = [];
  const length = raw.length;
  let depth = 1;
  let expectingKey = true;
  let current: Partial<Member> = {};
  let batchStart = 0;
  let nextYield = objectStart + SLICE_BYTES;
  let i = objectStart + 1;
  while (i < length) {
    if (i >= nextYield) {
      await nextTurn();
      nextYield = i + SLICE_BYTES;
    }
    const byte = raw[i];
    if (byte === 0x22) {
      const end = stringEnd(raw, i + 1);
      if (depth === 1 && expectingKey) {
        current = { keyStart: i, keyEnd: end + 1 };
        expectingKey = false;
      }
      i = end + 1;
      continue;
    }
    if (byte === 0x3a && depth === 1) {
      current.valueStart = i + 1;
      let at = i + 1;
      while (isSpace(raw[at])) at++;
      if (raw[at] === 0x5b) {
        current.elements = { start: at + 1, end: -1, cuts: [] };
        batchStart = at + 1;
      }
    } else if (byte === 0x7b || byte === 0x5b) {
      depth++;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
      if (depth === 1 && byte === 0x5d && current.elements && current.elements.end === -1) current.elements.end = i;
      if (depth === 0) {
        if (current.keyStart !== undefined) members.push(finish(current, i));
        break;
      }
    } else if (byte === 0x2c) {
      if (depth === 1) {
        members.push(finish(current, i));
        current = {};
        expectingKey = true;
      } else if (depth === 2 && current.elements && current.elements.end === -1 && i - batchStart >= SLICE_BYTES) {
        current.elements.cuts.push(i);
        batchStart = i + 1;
      }
    }
    i++;
  }
  return members;
}

function finish(member: Partial<Member>, valueEnd: number): Member {
  return { ...(member as Member), valueEnd };
}

/** The position of the quote that ends the string whose contents start at `from`. */
function stringEnd(raw: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const quote = raw.indexOf(0x22, at);
    if (quote === -1) return raw.length;
    let backslashes = 0;
    while (raw[quote - 1 - backslashes] === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
    at = quote + 1;
  }
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
