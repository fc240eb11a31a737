// The consumer's connections to the outside world, in one place so that tests can watch them.
import { DEAD_LETTER_OBJECT_NAME, RELAY_OBJECT_NAME, type DeliveryPause, type DeliveryReport, type Env, type WholeEventsBody } from "../contract.ts";
import type { DeadLetterInput } from "./dead-letter-store.ts";

export interface DeliveryPorts {
  /** The HTTP client for webhook requests. */
  fetch: typeof fetch;
  /** Enqueue follow-up messages on the events queue. */
  send(messages: MessageSendRequest<WholeEventsBody>[]): Promise<void>;
  /** Tell the relay object what happened to the batch. */
  settle(report: DeliveryReport): Promise<void>;
  /** Whether delivery is paused by a 410 Gone (the relay object keeps it); asked once per batch. */
  deliveryPause(): Promise<DeliveryPause | null>;
  /** The text of an oversized event kept by the relay object. */
  getBlob(id: string): Promise<string | null>;
  /** Whether a blob that is gone was settled already (its event delivered: a duplicate delivery of its message). */
  blobSettled(id: string): Promise<boolean>;
  deadLetters: {
    add(entries: DeadLetterInput[]): Promise<void>;
    remove(ids: string[]): Promise<void>;
    getRaw(id: string): Promise<string | null>;
    /** Whether a dead letter that is gone left the store after its replay was delivered (or was purged while replaying). */
    settled(id: string): Promise<boolean>;
  };
  now(): number;
  random(): number;
}

export function portsFromEnv(env: Env): DeliveryPorts {
  const relay = () => env.RELAY.getByName(RELAY_OBJECT_NAME);
  const store = () => env.DEAD_LETTERS.getByName(DEAD_LETTER_OBJECT_NAME);
  return {
    fetch: (input, init) => fetch(input, init),
    send: async (messages) => {
      await env.EVENTS.sendBatch(messages);
    },
    settle: (report) => relay().settle(report),
    deliveryPause: async () => (await relay().getDeliveryPause()) as DeliveryPause | null,
    getBlob: (id) => relay().getBlob(id),
    blobSettled: (id) => relay().blobSettled(id),
    deadLetters: {
      add: (entries) => store().add(entries),
      remove: (ids) => store().remove(ids),
      getRaw: (id) => store().getRaw(id),
      settled: (id) => store().settled(id),
    },
    now: () => Date.now(),
    random: () => Math.random(),
  };
}
