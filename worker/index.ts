import { DEAD_LETTER_QUEUE, RELAY_OBJECT_NAME, type Env, type QueueMessageBody } from "./contract.ts";
import { consumeDeadLetterQueue, consumeEvents } from "./delivery/consumer.ts";
import { handleHttp } from "./http/router.ts";

export { DeadLetterStore } from "./delivery/dead-letter-store.ts";
export { JetstreamRelay } from "./relay/relay-object.ts";

export default {
  fetch: (request, env, ctx) => handleHttp(request, env, ctx),

  async queue(batch, env, ctx) {
    if (batch.queue === DEAD_LETTER_QUEUE || batch.queue.endsWith("-dlq")) {
      await consumeDeadLetterQueue(batch, env, ctx);
    } else {
      await consumeEvents(batch, env, ctx);
    }
  },

  // Safety net beside the object's own alarm: a cron tick wakes the relay should it ever sit idle.
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(env.RELAY.getByName(RELAY_OBJECT_NAME).ensureRunning());
  },
} satisfies ExportedHandler<Env, QueueMessageBody>;
