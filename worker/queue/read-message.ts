import type { QueueMessageBody } from "../contract.ts";

/** Whether a queue message body has the shape the relay sends (anything else is dead-lettered as is). */
export function isMessageBody(body: unknown): body is QueueMessageBody {
  if (typeof body !== "object" || body === null) return false;
  const candidate = body as Partial<QueueMessageBody>;
  return candidate.v === 1 && typeof candidate.ledgerId === "string" && Array.isArray(candidate.events);
}
