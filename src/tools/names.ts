import type { ToolPolicy } from '../config/types.ts';

/** What OpenAI accepts as a function name; every tool offered to a model must be one. */
export const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const SERVER_TOOL_SEPARATOR = '__';

/**
 * The function name a server's tool is offered under: `<server>__<tool>`, with every character a
 * function name may not hold replaced by `_`. Server names hold no `__` and do not end in `_`
 * (config), so the first `__` always ends the server part: two servers never collide. Two tools
 * of one server can (`a.b` and `a_b`); the manager refuses both and says so.
 */
export function serverToolName(server: string, tool: string): string {
  return `${server}${SERVER_TOOL_SEPARATOR}${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** A glob (`*` any run of characters, `?` one character) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/** An agent's policy compiled once: deny by default, deny wins. */
export class ToolPolicyMatcher {
  private readonly allow: RegExp[];
  private readonly deny: RegExp[];

  constructor(policy: ToolPolicy) {
    this.allow = policy.allow.map(globToRegExp);
    this.deny = policy.deny.map(globToRegExp);
  }

  get allowsAny(): boolean {
    return this.allow.length > 0;
  }

  allows(name: string): boolean {
    return this.allow.some((pattern) => pattern.test(name)) && !this.deny.some((pattern) => pattern.test(name));
  }
}
