import "../provided-context.d.ts";
import type { TestProject } from "vitest/node";

// Placeholder servers until the real ones land (issues 2 and 3 replace this file's body).
export default async function setup(project: TestProject) {
  const { createServer } = await import("node:http");
  const server = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  project.provide("jetstreamBase", `ws://127.0.0.1:${port}`);
  project.provide("webhookBase", `http://127.0.0.1:${port}`);
  return async () => {
    await new Promise((resolve) => server.close(resolve));
  };
}
