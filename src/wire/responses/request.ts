import type { ChatCompletionTool, CreateResponse, FunctionTool, InputItem, Response, Tool } from '../../../generated/index.ts';
import { BadRequestError } from '../../errors.ts';
import type { ModelParams } from '../../providers/types.ts';
import { recordsFromInput } from '../../records/responses.ts';
import type { MessageRecord } from '../../records/record.ts';
import type { RunRequest } from '../../runs/request.ts';

const DATA_IMAGE_URI = /^data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]+=*$/i;

/** What a Responses request asks of a run, and what its response echoes back. */
export interface ResponsesRequest {
  run: Pick<RunRequest, 'model' | 'user' | 'messages' | 'messagesParam' | 'params' | 'toolParams' | 'toolChoiceParam' | 'allowedTools' | 'remoteImages' | 'store'>;
  /** The request's input items as records (without `instructions`): what `input_items` lists. */
  input: MessageRecord[];
  /** The fields of the Response object that come from the request (stored with the response, so a retrieval shows them too). */
  shell: ResponseShell;
  /** Hosted tool types the request named, left out (the route logs them). */
  droppedTools: string[];
}

/** The Response object's fields that echo the request. */
export type ResponseShell = Omit<Response, 'id' | 'object' | 'created_at' | 'completed_at' | 'status' | 'error' | 'incomplete_details' | 'output' | 'usage'>;

/**
 * A Responses API request body as the run it asks for. Rules only this wire format has (what it
 * refuses, image URL syntax at its `input[i].content[j]` path, tool and tool choice mapping) are
 * checked here; every rule of a run is checked by prepareRun for all transports alike.
 */
export function responsesRunFields(body: CreateResponse): ResponsesRequest {
  refuseUnsupported(body);
  const remoteImages = checkImages(body.input);
  const input = recordsFromInput(body.input);
  const messages: MessageRecord[] = typeof body.instructions === 'string' && body.instructions !== '' ? [{ role: 'system', content: [{ type: 'text', text: body.instructions }] }, ...input] : input;
  const { offered, dropped } = splitTools(body.tools ?? []);
  const params: ModelParams = {};
  const choice = toolChoice(body.tool_choice);
  const kept = choice.only ? offered.filter(({ tool }) => choice.only!.has(tool.name)) : offered;
  const tools = kept.map(({ tool }) => tool);
  if (tools.length > 0) {
    params.tools = tools.map(chatTool);
    if (choice.chat !== undefined) params.tool_choice = choice.chat;
    if (typeof body.parallel_tool_calls === 'boolean') params.parallel_tool_calls = body.parallel_tool_calls;
  } else if (choice.chat !== undefined && choice.chat !== 'auto' && choice.chat !== 'none') {
    // Left for prepareRun to refuse: a choice that needs a tool, and no function tool to choose.
    params.tool_choice = choice.chat;
  }
  if (typeof body.temperature === 'number') params.temperature = body.temperature;
  if (typeof body.top_p === 'number') params.top_p = body.top_p;
  if (typeof body.max_output_tokens === 'number') params.max_completion_tokens = body.max_output_tokens;
  const format = body.text?.format;
  if (format?.type === 'json_object') params.response_format = { type: 'json_object' };
  if (format?.type === 'json_schema') {
    const jsonSchema: NonNullable<Extract<ModelParams['response_format'], { type: 'json_schema' }>>['json_schema'] = { name: format.name, schema: format.schema };
    if (format.description !== undefined) jsonSchema.description = format.description;
    if (format.strict !== undefined) jsonSchema.strict = format.strict;
    params.response_format = { type: 'json_schema', json_schema: jsonSchema };
  }
  if (body.reasoning?.effort) params.reasoning_effort = body.reasoning.effort;

  const shell: ResponseShell = {
    model: body.model ?? 'openclaw',
    instructions: body.instructions ?? null,
    metadata: body.metadata ?? {},
    tools: tools.map(echoTool),
    tool_choice: body.tool_choice ?? 'auto',
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning ?? null,
    store: body.store !== false,
    background: false,
    text: { format: format ?? { type: 'text' }, ...(body.text?.verbosity ? { verbosity: body.text.verbosity } : {}) },
    truncation: body.truncation ?? 'disabled',
    prompt_cache_key: body.prompt_cache_key ?? null,
    safety_identifier: body.safety_identifier ?? null,
    // No tiers here: every request is served alike.
    service_tier: 'default',
    top_logprobs: body.top_logprobs ?? null,
    max_tool_calls: body.max_tool_calls ?? null,
  };
  if (body.user !== undefined) shell.user = body.user;
  return {
    run: {
      model: body.model,
      user: body.user,
      messages,
      messagesParam: 'input',
      params,
      toolParams: kept.map(({ index }) => `tools[${index}].name`),
      toolChoiceParam: 'tool_choice.name',
      ...(choice.only ? { allowedTools: choice.only } : {}),
      remoteImages,
      store: body.store !== false,
    },
    input,
    shell,
    droppedTools: dropped,
  };
}

function refuseUnsupported(body: CreateResponse): void {
  if (body.background === true) {
    throw new BadRequestError('`background: true` is not supported: this gateway runs every response while the request waits (stream it to see progress).', { param: 'background', code: 'unsupported_parameter' });
  }
  if (body.conversation != null) {
    throw new BadRequestError('`conversation` is not supported; continue a conversation with `previous_response_id`, or name a session (`user`, x-openclaw-session-key).', { param: 'conversation', code: 'unsupported_parameter' });
  }
  if (body.prompt != null) throw new BadRequestError('Prompt templates (`prompt`) are not supported; send `instructions` and `input`.', { param: 'prompt', code: 'unsupported_parameter' });
}

/** Image URL rules, at the path of each image; resolves with the remote (http/https) ones for the agent's policy. */
function checkImages(input: CreateResponse['input']): string[] {
  const remote: string[] = [];
  if (typeof input === 'string') return remote;
  const check = (part: { type: string; image_url?: string | null; file_id?: string | null }, path: string) => {
    if (part.type !== 'input_image') return;
    const url = part.image_url;
    if (typeof url !== 'string' || url === '') {
      const problem = part.file_id ? 'File ids are not supported (the gateway has no file store)' : 'An input_image needs an image_url';
      throw new BadRequestError(`${problem}: send the image as image_url (a data: URI or an http(s) URL).`, { param: `${path}.image_url`, code: 'invalid_image_url' });
    }
    if (url.startsWith('data:')) {
      if (!DATA_IMAGE_URI.test(url)) throw new BadRequestError('Image data URIs must look like data:image/<type>;base64,<data>.', { param: `${path}.image_url`, code: 'invalid_image_url' });
      return;
    }
    if (!/^https?:\/\//i.test(url)) throw new BadRequestError('An image URL must be a data: URI or an http(s) URL.', { param: `${path}.image_url`, code: 'invalid_image_url' });
    remote.push(`${path}.image_url`);
  };
  input.forEach((item: InputItem, i) => {
    const parts = 'content' in item && Array.isArray(item.content) ? item.content : item.type === 'function_call_output' && Array.isArray(item.output) ? item.output : [];
    const field = item.type === 'function_call_output' ? 'output' : 'content';
    parts.forEach((part, j) => check(part as { type: string }, `input[${i}].${field}[${j}]`));
  });
  return remote;
}

/** Function tools are offered to the model (with their place in `tools`); every other type is a hosted tool the gateway does not run. */
function splitTools(tools: ReadonlyArray<Tool>): { offered: Array<{ tool: FunctionTool; index: number }>; dropped: string[] } {
  const offered: Array<{ tool: FunctionTool; index: number }> = [];
  const dropped: string[] = [];
  tools.forEach((tool, index) => {
    if (tool.type === 'function') offered.push({ tool: tool as FunctionTool, index });
    else dropped.push(tool.type);
  });
  return { offered, dropped };
}

function chatTool(tool: FunctionTool): ChatCompletionTool {
  const fn: ChatCompletionTool['function'] = { name: tool.name };
  if (tool.description != null) fn.description = tool.description;
  if (tool.parameters != null) fn.parameters = tool.parameters;
  if (tool.strict != null) fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

/** As OpenAI echoes a function tool: every field present. */
function echoTool(tool: FunctionTool): FunctionTool {
  return { type: 'function', name: tool.name, description: tool.description ?? null, parameters: tool.parameters ?? null, strict: tool.strict ?? null };
}

/**
 * `tool_choice` in the chat shape. `allowed_tools` narrows the tools offered to the functions it
 * lists (by name, each with where it is named): the client's here, the agent's server tools in
 * prepareRun, which also refuses a name that is neither; a choice that forces a hosted tool cannot
 * be honoured.
 */
function toolChoice(choice: CreateResponse['tool_choice']): { chat?: ModelParams['tool_choice']; only?: Map<string, string> } {
  if (choice === undefined) return {};
  if (typeof choice === 'string') return { chat: choice };
  switch (choice.type) {
    case 'function':
      // A name that is not among the client's tools may be one of the agent's server tools: prepareRun decides.
      return { chat: { type: 'function', function: { name: choice.name } } };
    case 'allowed_tools': {
      const only = new Map<string, string>();
      choice.tools.forEach((tool, k) => {
        if (tool.type === 'function' && !only.has(String(tool.name ?? ''))) only.set(String(tool.name ?? ''), `tool_choice.tools[${k}].name`);
      });
      return { chat: choice.mode, only };
    }
    default:
      throw new BadRequestError(`\`tool_choice\` forces the hosted tool "${choice.type}", which this gateway does not run; offer a function tool instead.`, { param: 'tool_choice.type', code: 'unsupported_value' });
  }
}
