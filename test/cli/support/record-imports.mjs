// Preloaded with `node --import` by the lazy-import test: appends the URL of every module the program
// loads to the file named by JETSTREAM_RELAY_IMPORT_LOG.
import { register } from "node:module";

const hooks = `
import { appendFileSync } from "node:fs";
const log = ${JSON.stringify(process.env.JETSTREAM_RELAY_IMPORT_LOG ?? "")};
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (log) appendFileSync(log, result.url + "\\n");
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
