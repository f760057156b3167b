// One model reply put back together from the provider's events as they stream in: what the run
// stores (the first choice's message) and what the result says (every choice, logprobs, the
// fields the gateway relays without knowing them).
import type { MessageRecord, ReasoningRecord, ToolCallRecord, UsageRecord } from '../records/record.ts';
import type { FinishReason, ProviderEvent, TokenLogprob } from '../providers/types.ts';
import type { ChoiceLogprobs, ReplyChoice, RunResult } from './events.ts';

type DeltaEvent = Exclude<ProviderEvent, { type: 'finish' | 'completion_fields' }>;

/** One choice of a model reply as it streams in: text, refusal, reasoning, tool calls, log probabilities and unknown message fields put back together. */
class ChoiceAccumulator {
  text = '';
  refusal = '';
  reasoning: ReasoningRecord | undefined;
  calls: ToolCallRecord[] = [];
  contentLogprobs: TokenLogprob[] | undefined;
  refusalLogprobs: TokenLogprob[] | undefined;
  messageFields: Record<string, unknown> | undefined;
  private readonly byIndex: ToolCallRecord[] = [];

  add(event: DeltaEvent): void {
    switch (event.type) {
      case 'content':
        this.text += event.text;
        if (event.logprobs) (this.contentLogprobs ??= []).push(...event.logprobs);
        break;
      case 'refusal':
        this.refusal += event.text;
        if (event.logprobs) (this.refusalLogprobs ??= []).push(...event.logprobs);
        break;
      case 'reasoning':
        this.reasoning = { text: (this.reasoning?.text ?? '') + event.text, field: event.field };
        break;
      case 'tool_call': {
        let call = this.byIndex[event.index];
        if (!call) {
          call = { id: '', name: '', arguments: '', executor: 'client' };
          this.byIndex[event.index] = call;
          this.calls.push(call);
        }
        if (event.id) call.id = event.id;
        if (event.name) call.name += event.name;
        if (event.arguments) call.arguments += event.arguments;
        break;
      }
      case 'message_fields':
        this.messageFields ??= {};
        for (const key of Object.keys(event.fields)) mergeField(this.messageFields, key, event.fields[key]);
        break;
    }
  }

  message(): MessageRecord {
    const content: MessageRecord['content'] = [];
    if (this.text !== '') content.push({ type: 'text', text: this.text });
    if (this.refusal !== '') content.push({ type: 'refusal', text: this.refusal });
    const message: MessageRecord = { role: 'assistant', content };
    if (this.calls.length > 0) message.toolCalls = this.calls;
    if (this.reasoning) message.reasoning = this.reasoning;
    return message;
  }

  choice(index: number, finishReason: FinishReason): ReplyChoice {
    const choice: ReplyChoice = {
      index,
      content: this.text === '' && this.calls.length > 0 ? null : this.text,
      refusal: this.refusal === '' ? null : this.refusal,
      toolCalls: this.calls,
      finishReason,
    };
    if (this.reasoning) choice.reasoning = this.reasoning;
    const logprobs = this.logprobs();
    if (logprobs) choice.logprobs = logprobs;
    if (this.messageFields) choice.messageFields = this.messageFields;
    return choice;
  }

  logprobs(): ChoiceLogprobs | undefined {
    if (!this.contentLogprobs && !this.refusalLogprobs) return undefined;
    return { content: this.contentLogprobs ?? null, refusal: this.refusalLogprobs ?? null };
  }
}

/** One model reply as it streams in: its first choice (and the others, by index, when there are several), its completion fields, and how it finished. */
export class ReplyAccumulator extends ChoiceAccumulator {
  relayed = false;
  finish: { finishReason: FinishReason; usage?: UsageRecord; finishReasons?: FinishReason[] } | undefined;
  completionFields: Record<string, unknown> | undefined;
  /** Choices after the first, by index. */
  private others: ChoiceAccumulator[] | undefined;

  override add(event: Exclude<ProviderEvent, { type: 'finish' }>): void {
    if (event.type === 'completion_fields') {
      this.completionFields = { ...this.completionFields, ...event.fields };
      return;
    }
    if (event.choice) {
      const others = (this.others ??= []);
      (others[event.choice] ??= new ChoiceAccumulator()).add(event);
      return;
    }
    super.add(event);
  }

  /**
   * What the result says beyond the first choice's text, refusal, reasoning and calls. `finish` is
   * how the final model call ended, when this accumulator gathered what the client was shown over
   * several calls (a tool loop) rather than one call it saw finish.
   */
  details(finish = this.finish): Pick<RunResult, 'logprobs' | 'messageFields' | 'completionFields' | 'choices'> {
    const details: Pick<RunResult, 'logprobs' | 'messageFields' | 'completionFields' | 'choices'> = {};
    const logprobs = this.logprobs();
    if (logprobs) details.logprobs = logprobs;
    if (this.messageFields) details.messageFields = this.messageFields;
    if (this.completionFields) details.completionFields = this.completionFields;
    if (this.others) {
      const reasons = finish?.finishReasons;
      const fallback = finish?.finishReason ?? 'stop';
      details.choices = [this.choice(0, reasons?.[0] ?? fallback)];
      this.others.forEach((other, index) => details.choices!.push(other.choice(index, reasons?.[index] ?? fallback)));
    }
    return details;
  }
}

/**
 * Puts a message field's pieces together the way deltas split them: strings joined, arrays joined,
 * objects merged key by key, anything else replaced. The first piece is copied, so merging never
 * changes an event a transport was given.
 */
function mergeField(into: Record<string, unknown>, key: string, value: unknown): void {
  const current = into[key];
  if (typeof value === 'string' && typeof current === 'string') into[key] = current + value;
  else if (Array.isArray(value) && Array.isArray(current)) for (const item of value) current.push(ownCopy(item));
  else if (isPlainObject(value) && isPlainObject(current)) for (const inner of Object.keys(value)) mergeField(current, inner, value[inner]);
  else into[key] = ownCopy(value);
}

function ownCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ownCopy);
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = ownCopy(value[key]);
    return copy;
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
