// Self-authenticating upload URLs: the SDK PUTs to them without a cookie, so each URL carries an HMAC
// of (run, staging path, expiry). Accepted bytes land at `uploads/<run>/<staging path>` in storage.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "../../app.js";
import { Forbidden } from "../../lib/errors.js";
import type { ObjectStorage } from "./storage.js";

const UPLOAD_URL_TTL_MS = 7 * 86_400_000;

export function createUploadUrls(deps: { clock: Clock; storage: ObjectStorage; secret: () => Promise<Buffer> }) {
  let secret: Promise<Buffer> | undefined;
  async function sign(payload: string): Promise<string> {
    // Read (or created) on first use: an app that never presigns writes nothing to disk.
    secret ??= deps.secret().catch((err: unknown) => {
      secret = undefined;
      throw err;
    });
    return createHmac("sha256", await secret).update(payload).digest("base64url");
  }

  async function urlFor(baseUrl: string, runId: string, stagingPath: string): Promise<string> {
    const payload = Buffer.from(JSON.stringify({ r: runId, p: stagingPath, x: deps.clock.now().getTime() + UPLOAD_URL_TTL_MS })).toString("base64url");
    return `${baseUrl}/api/upload?token=${payload}.${await sign(payload)}`;
  }

  /** Stores the bytes of a PUT; the token is the only credential. Answers the S3-style ETag (md5). */
  async function accept(token: string, bytes: Buffer): Promise<{ etag: string }> {
    const [payload, mac] = token.split(".");
    const expected = payload ? await sign(payload) : "";
    if (!payload || !mac || mac.length !== expected.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(expected))) throw Forbidden("upload URL signature is invalid");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { r: string; p: string; x: number };
    if (claims.x < deps.clock.now().getTime()) throw Forbidden("upload URL has expired: ask for a new one");
    await deps.storage.put(stagingKey(claims.r, claims.p), bytes);
    return { etag: `"${createHash("md5").update(bytes).digest("hex")}"` };
  }

  return { urlFor, accept };
}
export type UploadUrls = ReturnType<typeof createUploadUrls>;

export const stagingKey = (runId: string, stagingPath: string) => `uploads/${runId}/${stagingPath}`;
