import type { TestProject } from "vitest/node";
import "../provided-context.d.ts";
import { startJetstreamTestServer } from "./jetstream-test-server.ts";
import { startWebhookReceiver } from "./webhook-receiver.ts";

// Starts the Node-side servers the worker tests talk to, on 127.0.0.1 with random ports. Tests inside
// workerd drive them through their HTTP control routes (see each server's file).
export default async function setup(project: TestProject) {
  const jetstream = await startJetstreamTestServer();
  const webhook = await startWebhookReceiver();
  // Typed loosely here: the ProvidedContext augmentation (test/provided-context.d.ts) serves the worker side.
  const provide = project.provide.bind(project) as (key: string, value: string) => void;
  provide("jetstreamBase", jetstream.base);
  provide("webhookBase", webhook.base);
  return async () => {
    await Promise.all([jetstream.close(), webhook.close()]);
  };
}
