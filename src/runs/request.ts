import type { InputName } from '../errors.ts';
import type { ModelParams } from '../providers/types.ts';
import type { MessageRecord } from '../records/record.ts';
import type { StoredResponse } from '../sessions/store.ts';

export type { InputName };

export interface NamedInput {
  value: string;
  name: InputName;
  /** The transport used a spelling kept only for compatibility (logged once per run). */
  deprecated?: string;
}

export type Transport = 'http' | 'ws' | 'cli';

/**
 * One agent run as a transport asks for it, already in the gateway's own terms: each transport's
 * wire module builds this from its request (body, headers, frame, flags) and nothing else.
 */
export interface RunRequest {
  requestId: string;
  transport: Transport;
  /** Where the request's body fields live, prefixed to every `param` an error names (`params.` in a WebSocket frame). */
  fieldPrefix?: string;
  /** The OpenAI `model` field: an agent target. */
  model?: string | null;
  /** An explicit agent (header, frame field, flag); wins over `model`. */
  agent?: NamedInput;
  /** An explicit session key; wins over `user`. */
  sessionKey?: NamedInput;
  /** The OpenAI `user`: a session of its own. */
  user?: string | null;
  /** `<provider>/<model>` replacing the agent's model chain for this run. */
  modelOverride?: NamedInput;
  /** The conversation the request sends (instructions, earlier turns, the new turn). */
  messages: MessageRecord[];
  /** The field `messages` came from (`messages`, `message`, `input`), before `fieldPrefix`. */
  messagesParam: string;
  /** Request fields of OpenAI's Chat Completions forwarded to the model (the client's tools among them). */
  params: ModelParams;
  /** Request fields beyond OpenAI's, by name: forwarded when every provider the run may call accepts them (`extraBody`), else refused. */
  extraParams?: Record<string, unknown>;
  /** Where each of `params.tools` is in the request, for errors (before `fieldPrefix`); default `tools[i].function.name`. */
  toolParams?: string[];
  /** Where a `tool_choice` that names a function has that name, for errors (before `fieldPrefix`); default `tool_choice.function.name`. */
  toolChoiceParam?: string;
  /**
   * The functions the client allows for this run (the Responses API's `allowed_tools`), each with
   * where it is named (before `fieldPrefix`): the agent's server tools are narrowed to them, and a
   * name that is neither one of the client's tools nor one of the agent's is refused.
   */
  allowedTools?: ReadonlyMap<string, string>;
  /** Remote (http/https) image URLs in the messages, by the field that holds each (before `fieldPrefix`): the agent's policy decides. */
  remoteImages: string[];
  /** Deprecated spellings the transport noticed (a legacy `model` prefix is found by prepare itself). */
  deprecations?: string[];
  /**
   * A stored response to continue from (the Responses API's `previous_response_id`, looked up by
   * the transport): the run continues its conversation exactly as it stood after it, and wins
   * over `sessionKey` and `user`.
   */
  previous?: { response: StoredResponse; name: InputName };
  /** False: the run writes nothing (the Responses API's `store: false`); a session it names is only read. Default true. */
  store?: boolean;
  /** The response this run produces (the Responses API), stored with the run's turn. */
  response?: ResponseSeed;
  /**
   * The transport shows the client only the finished reply (a request without `stream`): the
   * provider may then ask its upstream for the whole answer at once rather than a stream of deltas.
   */
  wholeReply?: boolean;
}

/** What the transport knows of the response a run produces; the run adds where it was stored and what it holds. */
export type ResponseSeed = Pick<StoredResponse, 'id' | 'previousResponseId' | 'createdAt' | 'input' | 'extra'>;
