import type { UsageRecord } from '../records/record.ts';
import type { ToolOutcome } from './events.ts';
import type { Transport } from './request.ts';

export type RunOutcome = 'ok' | 'error' | 'aborted';

/** What the run core reports as it goes (metrics hang off this); every method optional. */
export interface RunObserver {
  /** A model call's first delta arrived, `seconds` after the call was sent. */
  firstToken?(provider: string, seconds: number): void;
  /** One attempt at a model call failed (each retry counts). */
  modelCallFailed?(provider: string, kind: string): void;
  /** One server tool call ended (`server`/`tool` empty for a name no server has). */
  toolCalled?(call: { server: string; tool: string; outcome: ToolOutcome; seconds: number }): void;
  /** The run waited `seconds` for its session's lock (across every process sharing the store); `acquired` false when it gave up. */
  sessionLockWaited?(seconds: number, acquired: boolean): void;
  runEnded?(run: { transport: Transport; agentId: string; model?: string; outcome: RunOutcome; seconds: number; usage?: UsageRecord }): void;
}
