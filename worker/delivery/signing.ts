// Standard Webhooks signatures (standardwebhooks.com): base64 HMAC-SHA256 of "id.timestamp.body",
// keyed by the base64-decoded part of the `whsec_` secret, sent as `webhook-signature: v1,<sig>`.

export type Signer = (id: string, timestampSeconds: number, body: string) => Promise<string>;

export async function createSigner(key: Uint8Array): Promise<Signer> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const encoder = new TextEncoder();
  return async (id, timestampSeconds, body) => {
    const mac = await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(`${id}.${timestampSeconds}.${body}`));
    return `v1,${toBase64(new Uint8Array(mac))}`;
  };
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
