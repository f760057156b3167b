// The reasoning item of a Responses stream: one `reasoning_text` part, added with the first
// reasoning delta and done as soon as anything else (text, a tool call, the step's end) follows.
import type { ReasoningItem } from '../../../generated/index.ts';
import type { ShownItem, StreamedOutput } from './streamed-output.ts';

export class ReasoningStream {
  private reasoning: (ShownItem<ReasoningItem> & { text: string }) | undefined;
  private readonly output: StreamedOutput;

  constructor(output: StreamedOutput) {
    this.output = output;
  }

  delta(delta: string): void {
    if (!this.reasoning) {
      const item = this.output.add('rs', (id): ReasoningItem => ({ type: 'reasoning', id, summary: [], content: [], status: 'in_progress' }));
      this.reasoning = { ...item, text: '' };
      this.output.emit({ type: 'response.content_part.added', item_id: item.id, output_index: item.index, content_index: 0, part: { type: 'reasoning_text', text: '' }, sequence_number: 0 });
    }
    const reasoning = this.reasoning;
    reasoning.text += delta;
    this.output.emit({ type: 'response.reasoning_text.delta', item_id: reasoning.id, output_index: reasoning.index, content_index: 0, delta, sequence_number: 0 });
  }

  close(): void {
    if (!this.reasoning) return;
    const { value: item, id, index, text } = this.reasoning;
    this.reasoning = undefined;
    const part = { type: 'reasoning_text' as const, text };
    item.content = [part];
    item.status = 'completed';
    this.output.emit({ type: 'response.reasoning_text.done', item_id: id, output_index: index, content_index: 0, text, sequence_number: 0 });
    this.output.emit({ type: 'response.content_part.done', item_id: id, output_index: index, content_index: 0, part, sequence_number: 0 });
    this.output.emit({ type: 'response.output_item.done', output_index: index, item: item, sequence_number: 0 });
  }

  /** The run failed: the open item keeps the reasoning that had arrived (marked incomplete with the rest). */
  keepOpenText(): void {
    const reasoning = this.reasoning;
    if (reasoning) reasoning.value.content = [{ type: 'reasoning_text', text: reasoning.text }];
  }
}
