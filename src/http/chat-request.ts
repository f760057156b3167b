import type { AgentConfig } from '../config/types.ts';
import { BadRequestError } from '../errors.ts';
import { FORWARDED_PARAM_NAMES, type ForwardedParams } from '../providers/types.ts';
import type { CreateChatCompletionRequest } from './wire.ts';

const DATA_IMAGE_URI = /^data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/]+=*$/i;

/**
 * Rules of a chat request that the schema cannot state: relations between fields, and the
 * agent's image policy. Names the offending field in `param`, as OpenAI does.
 */
export function checkChatRequest(body: CreateChatCompletionRequest, agent: AgentConfig): void {
  if (!body.messages.some((message) => message.role === 'user' || message.role === 'tool')) {
    throw new BadRequestError('`messages` must contain at least one user message.', { param: 'messages' });
  }
  if (body.stream_options != null && body.stream !== true) {
    throw new BadRequestError('`stream_options` is only allowed when `stream` is true.', { param: 'stream_options' });
  }
  const toolNames = new Set((body.tools ?? []).map((tool) => tool.function.name));
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== 'none' && choice !== 'auto' && toolNames.size === 0) {
    throw new BadRequestError('`tool_choice` requires `tools`.', { param: 'tool_choice' });
  }
  if (choice && typeof choice === 'object' && !toolNames.has(choice.function.name)) {
    throw new BadRequestError(`\`tool_choice\` names the function "${choice.function.name}", which is not in \`tools\`.`, { param: 'tool_choice.function.name' });
  }
  body.messages.forEach((message, m) => {
    if (message.role !== 'user' || typeof message.content === 'string') return;
    message.content.forEach((part, p) => {
      if (part.type !== 'image_url') return;
      const url = part.image_url.url;
      const param = `messages[${m}].content[${p}].image_url.url`;
      if (url.startsWith('data:')) {
        if (!DATA_IMAGE_URI.test(url)) throw new BadRequestError('Image data URIs must look like data:image/<type>;base64,<data>.', { param });
        return;
      }
      if (!/^https?:\/\//i.test(url)) throw new BadRequestError('An image URL must be a data: URI or an http(s) URL.', { param });
      if (!agent.images.allowUrl) {
        throw new BadRequestError(`Agent ${agent.id} accepts images only as data: URIs; remote image URLs are disabled (agents.defaults.images.allowUrl).`, { param });
      }
    });
  });
}

export function forwardedParams(body: CreateChatCompletionRequest): ForwardedParams {
  const params: Record<string, unknown> = {};
  for (const name of FORWARDED_PARAM_NAMES) {
    if (body[name] !== undefined && body[name] !== null) params[name] = body[name];
  }
  return params as ForwardedParams;
}
