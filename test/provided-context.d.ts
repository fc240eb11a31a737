// Values the worker tests' global setup provides (see test/support/worker-global-setup.ts).
declare module "vitest" {
  export interface ProvidedContext {
    /** e.g. ws://127.0.0.1:PORT — the Jetstream-compatible test server */
    jetstreamBase: string;
    /** e.g. http://127.0.0.1:PORT — the webhook receiver */
    webhookBase: string;
  }
}
export {};
