import type { DeliveryConfig } from "./delivery-config.ts";
import type { Signer } from "./signing.ts";
import { USER_AGENT } from "../version.ts";

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Body of a batch-mode request: a JSON array of the events, each exactly as received. */
export function batchBody(raws: string[]): string {
  return `[${raws.join(",")}]`;
}

/** Batch mode: the webhook-ids of the batch's events, in body order, so receivers can drop duplicates per event. */
export const EVENT_IDS_HEADER = "jetstream-relay-event-ids";

/**
 * The POST for one event (body = the event as received) or one batch (body = `batchBody`, with the
 * events' ids in `eventIds`).
 */
export async function buildWebhookRequest(
  config: DeliveryConfig,
  signer: Signer | null,
  id: string,
  body: string,
  timestampSeconds: number,
  eventIds?: string[],
): Promise<WebhookRequest> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
  };
  if (eventIds) headers[EVENT_IDS_HEADER] = eventIds.join(",");
  if (config.bearerToken) headers.authorization = `Bearer ${config.bearerToken}`;
  if (signer) headers["webhook-signature"] = await signer(id, timestampSeconds, body);
  return { url: config.webhookUrl, headers, body };
}
