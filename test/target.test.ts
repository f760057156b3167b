// Agent target resolution (docs/behaviour.md, section 4) as a table: every spelling, every header, case rules.
import { describe, expect, it } from 'vitest';
import { buildRoster } from '../src/agents/roster.ts';
import { resolveAgentTarget as resolveTarget } from '../src/agents/target.ts';
import { runInputsFromHeaders } from '../src/http/run-headers.ts';
import { parseConfig } from '../src/config/load.ts';
import { BadRequestError, NotFoundError } from '../src/errors.ts';

/** As an HTTP request resolves its agent: the agent headers read as the route reads them, then `model`. */
function resolveAgentTarget(input: { model?: string | null; headers: Record<string, string> }, roster: ReturnType<typeof buildRoster>) {
  const agent = runInputsFromHeaders(input.headers).agent;
  const target = resolveTarget({ model: input.model, agent }, roster);
  return { agentId: target.agentId, deprecatedSpelling: target.deprecatedSpelling ?? agent?.deprecated };
}

const roster = buildRoster(parseConfig({ agents: { list: [{ id: 'main' }, { id: 'beta', default: true }, { id: 'research_2' }] } }, {}));

describe('resolveAgentTarget: model spellings', () => {
  const cases: Array<[string | undefined, string, string?]> = [
    [undefined, 'beta'],
    ['', 'beta'],
    ['openclaw', 'beta'],
    ['OpenClaw', 'beta'],
    ['openclaw/default', 'beta'],
    ['openclaw:default', 'beta'],
    ['openclaw/main', 'main'],
    ['openclaw:main', 'main'],
    ['OPENCLAW/MAIN', 'main'],
    ['agent:research_2', 'research_2'],
    ['Agent:Main', 'main'],
    ['clawdbot', 'beta', 'clawdbot'],
    ['clawdbot:main', 'main', 'clawdbot'],
    ['clawdbot/main', 'main', 'clawdbot'],
    ['moltbot', 'beta', 'moltbot'],
    ['moltbot:research_2', 'research_2', 'moltbot'],
    ['moltbot/beta', 'beta', 'moltbot'],
  ];
  it.each(cases)('model %j → agent %s', (model, agentId, deprecated) => {
    expect(resolveAgentTarget({ model, headers: {} }, roster)).toEqual({ agentId, deprecatedSpelling: deprecated });
  });

  it.each(['openclaw/Bad Id!', 'openclaw:-x', 'agent:', 'openclaw/' + 'a'.repeat(65), 'moltbot:a b'])('model %j is malformed → 400 param model', (model) => {
    const error = catchError(() => resolveAgentTarget({ model, headers: {} }, roster));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ param: 'model', kind: 'invalid_request' });
  });

  it.each(['openclaw/nope', 'agent:ghost', 'clawdbot:nobody'])('model %j names no configured agent → 404 model_not_found listing targets', (model) => {
    const error = catchError(() => resolveAgentTarget({ model, headers: {} }, roster));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(error.message).toContain('openclaw/research_2');
  });

  it.each(['gpt-4o', 'openai/gpt-4o', 'claude', 'openclawx', 'agent'])('model %j is no agent target → 404 model_not_found', (model) => {
    expect(catchError(() => resolveAgentTarget({ model, headers: {} }, roster))).toMatchObject({ kind: 'not_found', code: 'model_not_found' });
  });
});

describe('resolveAgentTarget: headers', () => {
  it.each([
    ['x-openclaw-agent-id', undefined],
    ['x-openclaw-agent', undefined],
    ['x-clawdbot-agent-id', 'x-clawdbot-agent-id'],
    ['x-moltbot-agent-id', 'x-moltbot-agent-id'],
  ])('%s selects the agent and beats model', (header, deprecated) => {
    expect(resolveAgentTarget({ model: 'openclaw/beta', headers: { [header]: 'Main' } }, roster)).toEqual({ agentId: 'main', deprecatedSpelling: deprecated });
  });

  it('the current header wins over the legacy ones', () => {
    expect(resolveAgentTarget({ headers: { 'x-moltbot-agent-id': 'beta', 'x-openclaw-agent-id': 'research_2' } }, roster).agentId).toBe('research_2');
  });

  it('a header beats even a model that is no agent target', () => {
    expect(resolveAgentTarget({ model: 'gpt-4o', headers: { 'x-openclaw-agent-id': 'main' } }, roster).agentId).toBe('main');
  });

  it('malformed header → 400 with param null; unknown → 404', () => {
    expect(catchError(() => resolveAgentTarget({ headers: { 'x-openclaw-agent-id': 'bad id!' } }, roster))).toMatchObject({ kind: 'invalid_request', param: null });
    expect(catchError(() => resolveAgentTarget({ headers: { 'x-openclaw-agent-id': 'nope' } }, roster))).toMatchObject({ kind: 'not_found', code: 'model_not_found' });
  });
});

describe('default agent', () => {
  it('is the marked one, else main, else the only one', () => {
    expect(buildRoster(parseConfig({ agents: { list: [{ id: 'a' }, { id: 'b', default: true }, { id: 'main' }] } }, {})).defaultAgentId).toBe('b');
    expect(buildRoster(parseConfig({ agents: { list: [{ id: 'a' }, { id: 'main' }] } }, {})).defaultAgentId).toBe('main');
    expect(buildRoster(parseConfig({ agents: { list: [{ id: 'solo' }] } }, {})).defaultAgentId).toBe('solo');
    expect(buildRoster(parseConfig({}, {})).defaultAgentId).toBe('main');
  });

  it('several agents with neither a mark nor main is a config error that says so', () => {
    expect(() => parseConfig({ agents: { list: [{ id: 'a' }, { id: 'b' }] } }, {})).toThrow(/none is marked `default: true`/);
  });
});

function catchError(fn: () => unknown): any {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
