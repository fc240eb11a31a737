import type { Env } from "../contract.ts";

/** SKELETON — being written (issue 4). */
export async function handleHttp(_request: Request, _env: Env, _ctx: ExecutionContext): Promise<Response> {
  return Response.json({ error: "not implemented yet" }, { status: 501 });
}
