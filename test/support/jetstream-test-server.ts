// PLACEHOLDER — the Jetstream-compatible test server is being written (issue 2).
import { createServer } from "node:http";

export async function startJetstreamTestServer(options: { port?: number } = {}): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { base: `ws://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
