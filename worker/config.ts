import type { ConfigProblem, PublicConfig, WorkerVars } from "./api-types.ts";
import { webhookShown, withoutSecrets } from "./config/redact.ts";
import { readSettings, type IngestConfig } from "./config/settings.ts";

/**
 * The relay object's configuration: ingestion's settings and what it shows of delivery's, from the
 * configuration registry (config/registry.ts, read by config/settings.ts). A problem in either part is
 * reported with what is wrong and how to fix it, and the relay then refuses to run rather than guess.
 */

export { DEFAULT_ENDPOINTS, INGEST_TUNING } from "./config/registry.ts";
export type { IngestSettings } from "./config/settings.ts";

export interface RelayConfig extends IngestConfig {
  public: PublicConfig;
}

export function parseRelayConfig(env: WorkerVars): { config: RelayConfig | null; problems: ConfigProblem[] } {
  const { ingest, delivery, http, byPart } = readSettings(env);
  const problems = [...byPart.delivery, ...byPart.ingest];
  if (!ingest || !delivery) return { config: null, problems };
  const webhook = webhookShown(delivery.webhookUrl);
  return {
    problems,
    config: {
      ...ingest,
      public: {
        webhookOrigin: webhook.origin,
        webhookFingerprint: webhook.fingerprint,
        collections: ingest.collections,
        dids: ingest.dids.length,
        kinds: ingest.kinds,
        endpoints: ingest.endpoints.map(withoutSecrets),
        batchMode: delivery.batchSize > 1,
        webhookSigned: delivery.signingKey !== null,
        webhookBearer: delivery.bearerToken !== null,
        adminTokenSet: http.adminToken !== null,
      },
    },
  };
}
