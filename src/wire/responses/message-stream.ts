// The assistant message item of a Responses stream. Text and refusal are content parts of one
// message, each added, filled by deltas and done; a switch from one to the other closes the part
// and opens the next, so a refusal after text is a second part of the same message.
import type { OutputMessage } from '../../../generated/index.ts';
import type { FinishReason } from '../../providers/types.ts';
import { textPart } from '../../records/responses.ts';
import type { ShownItem, StreamedOutput } from './streamed-output.ts';

interface OpenPart {
  kind: 'output_text' | 'refusal';
  index: number;
  text: string;
}

export class MessageStream {
  private message: (ShownItem<OutputMessage> & { part?: OpenPart }) | undefined;
  private readonly output: StreamedOutput;

  constructor(output: StreamedOutput) {
    this.output = output;
  }

  delta(kind: OpenPart['kind'], delta: string): void {
    const message: ShownItem<OutputMessage> & { part?: OpenPart } = (this.message ??= this.output.add('msg', (id): OutputMessage => ({ type: 'message', id, role: 'assistant', status: 'in_progress', content: [] })));
    if (message.part?.kind !== kind) {
      this.closePart();
      const index = message.value.content.length;
      const part = kind === 'output_text' ? textPart('') : { type: 'refusal' as const, refusal: '' };
      message.value.content.push(part);
      message.part = { kind, index, text: '' };
      this.output.emit({ type: 'response.content_part.added', item_id: message.id, output_index: message.index, content_index: index, part: part, sequence_number: 0 });
    }
    const part = message.part!;
    part.text += delta;
    if (kind === 'output_text') this.output.emit({ type: 'response.output_text.delta', item_id: message.id, output_index: message.index, content_index: part.index, delta, logprobs: [], sequence_number: 0 });
    else this.output.emit({ type: 'response.refusal.delta', item_id: message.id, output_index: message.index, content_index: part.index, delta, sequence_number: 0 });
  }

  close(finishReason: FinishReason | undefined): void {
    if (!this.message) return;
    this.closePart();
    const { value: item, index } = this.message;
    this.message = undefined;
    item.status = finishReason === 'length' || finishReason === 'content_filter' ? 'incomplete' : 'completed';
    this.output.emit({ type: 'response.output_item.done', output_index: index, item: item, sequence_number: 0 });
  }

  /** The run failed: the open part keeps what had arrived (the item is marked incomplete with the rest). */
  keepOpenPart(): void {
    const message = this.message;
    if (message?.part) {
      const { kind, index, text } = message.part;
      message.value.content[index] = kind === 'output_text' ? textPart(text) : { type: 'refusal', refusal: text };
    }
  }

  private closePart(): void {
    const message = this.message;
    const part = message?.part;
    if (!message || !part) return;
    message.part = undefined;
    const { id } = message;
    if (part.kind === 'output_text') {
      const done = textPart(part.text);
      message.value.content[part.index] = done;
      this.output.emit({ type: 'response.output_text.done', item_id: id, output_index: message.index, content_index: part.index, text: part.text, logprobs: [], sequence_number: 0 });
      this.output.emit({ type: 'response.content_part.done', item_id: id, output_index: message.index, content_index: part.index, part: done, sequence_number: 0 });
    } else {
      const done = { type: 'refusal' as const, refusal: part.text };
      message.value.content[part.index] = done;
      this.output.emit({ type: 'response.refusal.done', item_id: id, output_index: message.index, content_index: part.index, refusal: part.text, sequence_number: 0 });
      this.output.emit({ type: 'response.content_part.done', item_id: id, output_index: message.index, content_index: part.index, part: done, sequence_number: 0 });
    }
  }
}
