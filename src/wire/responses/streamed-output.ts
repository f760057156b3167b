// What a Responses stream has shown so far: its output items in order, and the numbering of its
// events. Every item family (message, reasoning, tool calls) adds its items and sends its events
// through one of these, so `output_index` and `sequence_number` each stay one sequence however the
// families interleave.
import type { OutputItem, ResponseStreamEvent } from '../../../generated/index.ts';
import { itemId, type ItemKind } from '../../records/responses.ts';

export type Send = (event: ResponseStreamEvent) => void;

/** An item the stream has shown: where, under which id, and its current state. */
export interface ShownItem<T extends OutputItem> {
  index: number;
  id: string;
  value: T;
}

export class StreamedOutput {
  /** The items as they stand; a family puts an item's final value in its place when it is done. */
  readonly items: OutputItem[] = [];
  private sequence = 0;
  private readonly responseId: string;
  private readonly send: Send;

  constructor(responseId: string, send: Send) {
    this.responseId = responseId;
    this.send = send;
  }

  emit(event: ResponseStreamEvent): void {
    event.sequence_number = this.sequence++;
    this.send(event);
  }

  add<T extends OutputItem>(kind: ItemKind, make: (id: string) => T): ShownItem<T> {
    const index = this.items.length;
    const id = itemId(this.responseId, kind, index);
    const value = make(id);
    this.items.push(value);
    this.emit({ type: 'response.output_item.added', output_index: index, item: value, sequence_number: 0 });
    return { index, id, value };
  }
}
