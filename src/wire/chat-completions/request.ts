import type { CreateChatCompletionRequest } from '../../../generated/index.ts';
import { BadRequestError } from '../../errors.ts';
import type { ModelParams } from '../../providers/types.ts';
import { fromChatMessage } from '../../records/chat-completions.ts';
import type { MessageRecord } from '../../records/record.ts';
import type { RunRequest } from '../../runs/request.ts';

const DATA_IMAGE_URI = /^data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]+=*$/i;

/** Request fields forwarded to the model as they are. */
const FORWARDED_PARAM_NAMES = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
] as const satisfies ReadonlyArray<keyof ModelParams>;

/**
 * A Chat Completions request body as the run it asks for. Rules only this wire format has
 * (`stream_options` needs `stream`, image URI syntax at its `messages[m].content[p]` path) are
 * checked here; every rule of a run is checked by prepareRun for all transports alike.
 */
export function chatRunFields(body: CreateChatCompletionRequest, options: { messagesParam?: string; fieldPrefix?: string } = {}): Pick<RunRequest, 'model' | 'user' | 'messages' | 'messagesParam' | 'params' | 'remoteImages'> {
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
  const params: Record<string, unknown> = {};
  for (const name of FORWARDED_PARAM_NAMES) {
    if (body[name] !== undefined && body[name] !== null) params[name] = body[name];
  }
  return { model: body.model, user: body.user, messages, messagesParam, params: params as ModelParams, remoteImages };
}
