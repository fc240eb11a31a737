import { parseWireTime, V2_TYPE_PREFIX } from "../jetstream/v2-frame.ts";
import { isJsonString, objectMembers } from "./json-members.ts";

/**
 * A v2 event (the `payload` of a subscribeEvents message frame) as the legacy Jetstream JSON that
 * receivers written for the original design expect, laid out as the legacy server wrote it:
 *   commit:   {"did","time_us","kind":"commit","commit":{"rev","operation","collection","rkey","record","cid"}}
 *             (record and cid absent on deletes, as legacy did)
 *   identity: {"did","time_us","kind":"identity","identity":{…}}   account: the same with "account"
 * `time_us` is the payload's `time` in µs; every value, the record above all, is copied as the text it
 * was written with, never re-serialised. The per-instance `seq` is left out: legacy events had none (a v2
 * server's `/subscribe` calls it `cursor`; it means nothing on another instance).
 *
 * `#sync` has no legacy shape (the legacy wire never carried it): it gets the same envelope as identity
 * and account, {"did","time_us","kind":"sync","sync":{…}}, so that every v1 body has `did`, `time_us`
 * and `kind` and a receiver that dispatches on `kind` can ignore it. So does any other kind whose payload
 * carries an object of its own name. Pure.
 */

export type V1Event = { text: string } | { problem: string };

export function v1Event(payload: string): V1Event {
  const members = objectMembers(payload);
  if (!members) return { problem: "the payload is not a JSON object" };
  const type = stringValue(members.get("$type"));
  if (type === null || !type.startsWith(V2_TYPE_PREFIX)) return { problem: "the payload has no subscribeEvents $type" };
  const kind = type.slice(V2_TYPE_PREFIX.length);
  const did = members.get("did");
  if (!isJsonString(did)) return { problem: "the payload has no did" };
  const time = stringValue(members.get("time"));
  const timeUs = time === null ? null : parseWireTime(time);
  if (timeUs === null) return { problem: "the payload has no readable time" };
  const head = `{"did":${did},"time_us":${timeUs},"kind":${JSON.stringify(kind)}`;

  if (kind === "commit") {
    let commit = "";
    for (const key of ["rev", "operation", "collection", "rkey"]) {
      const value = members.get(key);
      if (!isJsonString(value)) return { problem: `the commit has no ${key}` };
      commit += `${commit ? "," : ""}"${key}":${value}`;
    }
    const record = members.get("record");
    const cid = members.get("cid");
    if (record !== undefined) commit += `,"record":${record}`;
    if (cid !== undefined) commit += `,"cid":${cid}`;
    return { text: `${head},"commit":{${commit}}}` };
  }

  const object = members.get(kind);
  if (object === undefined || !object.startsWith("{")) return { problem: `the #${kind} payload has no ${kind} object` };
  return { text: `${head},${JSON.stringify(kind)}:${object}}` };
}

/** A member's string value; null when absent or not a string. */
function stringValue(text: string | undefined): string | null {
  if (!isJsonString(text)) return null;
  const value: unknown = JSON.parse(text);
  return typeof value === "string" ? value : null;
}
