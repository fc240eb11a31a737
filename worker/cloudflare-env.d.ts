// Types `env` from "cloudflare:workers" as the worker's own Env.
type RelayWorkerEnv = import("./contract.ts").Env;
declare namespace Cloudflare {
  interface Env extends RelayWorkerEnv {}
}
