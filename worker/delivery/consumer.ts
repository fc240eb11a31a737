import type { Env, QueueMessageBody } from "../contract.ts";

/** SKELETON — being written (issue 3). */
export async function consumeEvents(_batch: MessageBatch<QueueMessageBody>, _env: Env, _ctx: ExecutionContext): Promise<void> {
  throw new Error("not implemented yet");
}

/** SKELETON — being written (issue 3). */
export async function consumeDeadLetterQueue(_batch: MessageBatch<QueueMessageBody>, _env: Env, _ctx: ExecutionContext): Promise<void> {
  throw new Error("not implemented yet");
}
