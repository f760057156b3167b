import type { CreateChatCompletionRequest } from '../../../generated/index.ts';
import { BadRequestError } from '../../errors.ts';
import type { ModelParams, NamedFields } from '../../providers/types.ts';
import { fromChatMessage } from '../../records/chat-completions.ts';
import type { MessageRecord } from '../../records/record.ts';
import type { RunRequest } from '../../runs/request.ts';

const DATA_IMAGE_URI = /^data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]+=*$/i;

/**
 * Every field of the chat request and what becomes of it: `run` fields the gateway interprets
 * itself (`user` reaches the model only where the agent forwards it), `forward` fields go to the
 * model as sent. Keyed by the generated request type, so a field added to the spec without a
 * line here does not compile. A field not listed is beyond OpenAI's: see `extraParams`.
 */
const REQUEST_FIELDS = {
  model: 'run',
  messages: 'run',
  stream: 'run',
  stream_options: 'run',
  user: 'run',
  temperature: 'forward',
  top_p: 'forward',
  max_tokens: 'forward',
  max_completion_tokens: 'forward',
  n: 'forward',
  stop: 'forward',
  seed: 'forward',
  presence_penalty: 'forward',
  frequency_penalty: 'forward',
  logit_bias: 'forward',
  logprobs: 'forward',
  top_logprobs: 'forward',
  response_format: 'forward',
  tools: 'forward',
  tool_choice: 'forward',
  parallel_tool_calls: 'forward',
  functions: 'forward',
  function_call: 'forward',
  reasoning_effort: 'forward',
  verbosity: 'forward',
  service_tier: 'forward',
  modalities: 'forward',
  audio: 'forward',
  prediction: 'forward',
  web_search_options: 'forward',
  store: 'forward',
  metadata: 'forward',
  moderation: 'forward',
  safety_identifier: 'forward',
  prompt_cache_key: 'forward',
  prompt_cache_retention: 'forward',
  prompt_cache_options: 'forward',
} as const satisfies Record<keyof NamedFields<CreateChatCompletionRequest>, 'run' | 'forward'>;

const FIELD_HANDLING: ReadonlyMap<string, 'run' | 'forward'> = new Map(Object.entries(REQUEST_FIELDS));

/**
 * A Chat Completions request body as the run it asks for. Rules only this wire format has
 * (`stream_options` needs `stream`, image URI syntax at its `messages[m].content[p]` path) are
 * checked here; every rule of a run is checked by prepareRun for all transports alike.
 */
export function chatRunFields(
  body: CreateChatCompletionRequest,
  options: { messagesParam?: string; fieldPrefix?: string } = {},
): Pick<RunRequest, 'model' | 'user' | 'messages' | 'messagesParam' | 'params' | 'extraParams' | 'remoteImages'> {
  const messagesParam = options.messagesParam ?? 'messages';
  if (body.stream_options != null && body.stream !== true) {
    throw new BadRequestError('`stream_options` is only allowed when `stream` is true.', { param: `${options.fieldPrefix ?? ''}stream_options`, code: 'invalid_value' });
  }
  const remoteImages: string[] = [];
  const messages: MessageRecord[] = body.messages.map((message, m) => {
    if (message.role === 'user' && typeof message.content !== 'string') {
      message.content.forEach((part, p) => {
        if (part.type !== 'image_url') return;
        const url = part.image_url.url;
        const param = `${options.fieldPrefix ?? ''}${messagesParam}[${m}].content[${p}].image_url.url`;
        if (url.startsWith('data:')) {
          if (!DATA_IMAGE_URI.test(url)) throw new BadRequestError('Image data URIs must look like data:image/<type>;base64,<data>.', { param, code: 'invalid_image_url' });
          return;
        }
        if (!/^https?:\/\//i.test(url)) throw new BadRequestError('An image URL must be a data: URI or an http(s) URL.', { param, code: 'invalid_image_url' });
        remoteImages.push(`${messagesParam}[${m}].content[${p}].image_url.url`);
      });
    }
    return fromChatMessage(message);
  });
  // Null-prototype objects: a client field named `__proto__` stays a field.
  const params: Record<string, unknown> = Object.create(null);
  let extraParams: Record<string, unknown> | undefined;
  for (const name of Object.keys(body)) {
    const value = body[name];
    // null asks for the model's default, as absence does.
    if (value === undefined || value === null) continue;
    const handling = FIELD_HANDLING.get(name);
    if (handling === 'forward') params[name] = value;
    else if (handling === undefined) (extraParams ??= Object.create(null) as Record<string, unknown>)[name] = value;
  }
  return { model: body.model, user: body.user, messages, messagesParam, params: params as ModelParams, extraParams, remoteImages };
}
