// S3-compatible storage against a fake S3 in this process (path-style PutObject, GetObject, HeadObject,
// CopyObject, DeleteObject, ListObjectsV2) that verifies every request's AWS SigV4 signature. The same
// storage contract runs on local disk and S3, then every SwanLab transcript is replayed with S3 configured.
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnv, storageBackend } from "../../src/env.js";
import type { ObjectStorage } from "../../src/modules/swanlab/storage.js";
import { createLocalStorage } from "../../src/modules/swanlab/storage-local.js";
import { createS3Storage } from "../../src/modules/swanlab/storage-s3.js";
import { createUser, startHarness, type Harness } from "../integration/harness.js";
import { replay, type Transcript } from "./replay.js";

// --- fake S3 ---

const BUCKET = "swan-bucket";
const REGION = "eu-test-1";
const ACCESS_KEY = "AKIDFAKES3TESTKEY";
const SECRET = "fake/secret+key=for-tests";

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const hmac = (k: Buffer | string, s: string) => createHmac("sha256", k).update(s).digest();
const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Why a request's SigV4 signature is wrong for ACCESS_KEY/SECRET, or null when it is right. */
function sigV4Problem(req: IncomingMessage, body: Buffer): string | null {
  const auth = String(req.headers.authorization ?? "");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return `no SigV4 Authorization header: ${auth}`;
  const [, akid, date, region, signedHeaders, signature] = m;
  if (akid !== ACCESS_KEY) return `access key ${akid}`;
  if (region !== REGION) return `region ${region}`;
  const payloadHash = String(req.headers["x-amz-content-sha256"] ?? "");
  if (payloadHash !== "UNSIGNED-PAYLOAD" && payloadHash !== sha256(body)) return "x-amz-content-sha256 differs from the body";
  const [path, query = ""] = (req.url ?? "/").split("?");
  const canonicalQuery = query.split("&").filter(Boolean)
    .map((p) => {
      const [k = "", v = ""] = p.split("=");
      return `${rfc3986(decodeURIComponent(k))}=${rfc3986(decodeURIComponent(v))}`;
    })
    .sort().join("&");
  const names = signedHeaders!.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date")) return `signed headers ${signedHeaders}`;
  const canonicalHeaders = names.map((h) => `${h}:${String(req.headers[h] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonical = [req.method, path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const amzDate = String(req.headers["x-amz-date"]);
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${SECRET}`, date!), region!), "s3"), "aws4_request");
  return createHmac("sha256", key).update(toSign).digest("hex") === signature ? null : "signature does not match";
}

type FakeS3 = { url: string; objects: Map<string, Buffer>; requests: string[]; rejected: string[]; close: () => Promise<void> };

async function startFakeS3(): Promise<FakeS3> {
  const objects = new Map<string, Buffer>();
  const requests: string[] = [];
  const rejected: string[] = [];
  const error = (status: number, code: string) => [status, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`] as const;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const [path, query = ""] = (req.url ?? "/").split("?");
      const params = new URLSearchParams(query);
      const [bucket, ...rest] = path!.slice(1).split("/").map(decodeURIComponent);
      const key = rest.join("/");
      requests.push(`${req.method} ${key}`);
      const send = ([status, text]: readonly [number, string], headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/xml", ...headers });
        res.end(req.method === "HEAD" ? undefined : text);
      };
      const problem = sigV4Problem(req, body);
      if (problem) {
        rejected.push(`${req.method} ${req.url}: ${problem}`);
        return send(error(403, "SignatureDoesNotMatch"));
      }
      if (bucket !== BUCKET) return send(error(404, "NoSuchBucket"));
      const etag = (b: Buffer) => `"${createHash("md5").update(b).digest("hex")}"`;
      if (req.method === "PUT" && req.headers["x-amz-copy-source"]) {
        const [srcBucket, ...srcKey] = decodeURIComponent(String(req.headers["x-amz-copy-source"])).replace(/^\//, "").split("/");
        const src = srcBucket === BUCKET ? objects.get(srcKey.join("/")) : undefined;
        if (!src) return send(error(404, "NoSuchKey"));
        objects.set(key, Buffer.from(src));
        return send([200, `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>${xml(etag(src))}</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>`]);
      }
      if (req.method === "PUT" && key) {
        if (req.headers["content-length"] !== String(body.length)) return send(error(400, "IncompleteBody"));
        objects.set(key, body);
        return send([200, ""], { etag: etag(body) });
      }
      if (req.method === "GET" && !key && params.get("list-type") === "2") {
        const prefix = params.get("prefix") ?? "";
        const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
        const contents = keys.map((k) => `<Contents><Key>${xml(k)}</Key><Size>${objects.get(k)!.length}</Size></Contents>`).join("");
        return send([200, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`]);
      }
      const obj = objects.get(key);
      if (req.method === "GET" || req.method === "HEAD") {
        if (!obj) return send(error(404, "NoSuchKey"));
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(obj.length), etag: etag(obj) });
        return res.end(req.method === "HEAD" ? undefined : obj);
      }
      if (req.method === "DELETE" && key) {
        objects.delete(key);
        res.writeHead(204);
        return res.end();
      }
      return send(error(501, "NotImplemented"));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, objects, requests, rejected, close: () => new Promise((r) => server.close(() => r())) };
}

let s3: FakeS3;
const tmpDirs: string[] = [];
beforeAll(async () => {
  s3 = await startFakeS3();
});
afterAll(async () => {
  await s3.close();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});
const s3Options = (over: Partial<Parameters<typeof createS3Storage>[0]> = {}) => ({
  bucket: BUCKET, region: REGION, endpoint: s3.url, forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET }, ...over,
});

// --- one contract, two backends ---

const backends: Array<[string, () => ObjectStorage]> = [
  ["local disk", () => {
    const d = mkdtempSync(join(tmpdir(), "storage-local-"));
    tmpDirs.push(d);
    return createLocalStorage(d);
  }],
  ["S3", () => createS3Storage(s3Options({ prefix: `/contract-${tmpDirs.length}-${Math.random().toString(36).slice(2)}/` }))],
];

describe.each(backends)("object storage contract: %s", (_name, make) => {
  const bytes = (s: string) => Buffer.from(s, "utf8");
  // Keys as the SwanLab module writes them: tildes from encoded media keys, spaces and non-ASCII file names.
  const odd = "media/run1/loss~2Fval ü+%/3-0.png";

  it("puts, overwrites, gets and sizes; absent keys are null", async () => {
    const st = make();
    expect(await st.get("uploads/r/a.txt")).toBeNull();
    expect(await st.size("uploads/r/a.txt")).toBeNull();
    await st.put("uploads/r/a.txt", bytes("first"));
    await st.put("uploads/r/a.txt", bytes("second!"));
    expect((await st.get("uploads/r/a.txt"))!.toString()).toBe("second!");
    expect(await st.size("uploads/r/a.txt")).toBe(7);
    await st.put(odd, bytes("odd"));
    expect((await st.get(odd))!.toString()).toBe("odd");
    expect(await st.size("uploads/r")).toBeNull(); // a "directory" is not an object
    expect(await st.get(`uploads/${"x".repeat(2000)}`)).toBeNull();
    await st.put("uploads/r/empty", Buffer.alloc(0));
    expect(await st.size("uploads/r/empty")).toBe(0);
    expect((await st.get("uploads/r/empty"))!.length).toBe(0);
  });

  it("moves (false when the source is missing) and normalises keys like paths", async () => {
    const st = make();
    await st.put("uploads/r/media/img.png", bytes("png bytes"));
    expect(await st.move("uploads/r/media/img.png", odd)).toBe(true);
    expect(await st.get("uploads/r/media/img.png")).toBeNull();
    expect((await st.get(odd))!.toString()).toBe("png bytes");
    expect(await st.move("uploads/r/missing.png", "media/x.png")).toBe(false);
    expect(await st.get("media/x.png")).toBeNull();
    expect((await st.get("media//run1/./loss~2Fval ü+%/3-0.png"))!.toString()).toBe("png bytes");
    await expect(st.put("../outside", bytes("x"))).rejects.toThrow(/escapes/);
  });

  it("joins parts in order, false when one is missing; remove takes the key and everything under it", async () => {
    const st = make();
    const parts = ["uploads/r/.multipart/u1/1", "uploads/r/.multipart/u1/2", "uploads/r/.multipart/u1/3"];
    const big = Buffer.alloc(300_000, 7);
    await st.put(parts[0]!, bytes("head-"));
    await st.put(parts[1]!, big);
    await st.put(parts[2]!, bytes("-tail"));
    expect(await st.concat(parts, "media/r/~files/model.bin")).toBe(true);
    expect(Buffer.compare((await st.get("media/r/~files/model.bin"))!, Buffer.concat([bytes("head-"), big, bytes("-tail")]))).toBe(0);
    expect(await st.concat([parts[0]!, "uploads/r/.multipart/u1/9"], "media/r/~files/other.bin")).toBe(false);
    expect(await st.get("media/r/~files/other.bin")).toBeNull();
    await st.put("uploads/r/.multipart/u10", bytes("sibling, not under u1"));
    await st.remove("uploads/r/.multipart/u1");
    for (const p of parts) expect(await st.get(p)).toBeNull();
    expect((await st.get("uploads/r/.multipart/u10"))!.toString()).toBe("sibling, not under u1");
    await st.remove("uploads/r/never-existed");
  });
});

describe("S3 requests", () => {
  it("carry a valid SigV4 signature for the configured key, and the prefix is applied", async () => {
    const st = createS3Storage(s3Options({ prefix: "tenant/a" }));
    await st.put("uploads/r/sig.txt", Buffer.from("signed"));
    expect(s3.objects.get("tenant/a/uploads/r/sig.txt")?.toString()).toBe("signed");
    expect(s3.requests.length).toBeGreaterThan(10);
    expect(s3.rejected).toEqual([]);
  });
  it("fail when the secret is wrong (the fake checks signatures)", async () => {
    const st = createS3Storage(s3Options({ credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: "wrong" } }));
    await expect(st.put("uploads/r/x", Buffer.from("x"))).rejects.toThrow();
    expect(s3.rejected.at(-1)).toMatch(/signature does not match/);
    s3.rejected.length = 0;
  });
});

// --- configuration ---

describe("storage environment", () => {
  const base = { DATABASE_URL: "postgresql://x/y" };
  it("is local by default, S3 when a bucket is set, explicit STORAGE_BACKEND wins", () => {
    expect(storageBackend(parseEnv(base))).toBe("local");
    expect(storageBackend(parseEnv({ ...base, S3_BUCKET: "b" }))).toBe("s3");
    expect(storageBackend(parseEnv({ ...base, S3_BUCKET: "b", STORAGE_BACKEND: "local" }))).toBe("local");
    expect(storageBackend(parseEnv({ ...base, S3_BUCKET: "  " }))).toBe("local");
    const env = parseEnv({ ...base, S3_BUCKET: "b", S3_FORCE_PATH_STYLE: "1", S3_ENDPOINT: "http://minio:9000" });
    expect([env.S3_REGION, env.S3_FORCE_PATH_STYLE, env.S3_ENDPOINT]).toEqual(["us-east-1", true, "http://minio:9000"]);
  });
  it("refuses incomplete S3 settings with a message naming the variable", () => {
    expect(() => parseEnv({ ...base, STORAGE_BACKEND: "s3" })).toThrow(/S3_BUCKET: required when STORAGE_BACKEND=s3/);
    expect(() => parseEnv({ ...base, S3_BUCKET: "b", S3_ACCESS_KEY_ID: "AKID" })).toThrow(/S3_SECRET_ACCESS_KEY: set both/);
    expect(() => parseEnv({ ...base, S3_BUCKET: "b", S3_ENDPOINT: "minio:9000" })).toThrow(/S3_ENDPOINT/);
    expect(() => parseEnv({ ...base, STORAGE_BACKEND: "gcs" })).toThrow(/STORAGE_BACKEND/);
  });
});

// --- the SwanLab SDK transcripts with S3 configured ---

describe("SwanLab SDK replay with S3 storage", () => {
  const dir = join(import.meta.dirname, "transcripts");
  const transcripts = readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => ({ file: f, t: JSON.parse(readFileSync(join(dir, f), "utf8")) as Transcript }));
  const PREFIX = "replay/";
  let h: Harness;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "swanlab-s3-replay-"));
    tmpDirs.push(dataDir);
    h = await startHarness({
      SWANHOUSE_DATA_DIR: dataDir, S3_BUCKET: BUCKET, S3_ENDPOINT: s3.url, S3_REGION: REGION, S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: ACCESS_KEY, S3_SECRET_ACCESS_KEY: SECRET, S3_PREFIX: PREFIX,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("replays the transcripts for the 0.7 (image), 0.9 (Text as a file) and swanlab.save() flows", () => {
    expect(transcripts.map((x) => x.file)).toEqual(expect.arrayContaining(["sdk-0.7.6.json", "sdk-0.9.7.json", "sdk-0.7.20-files.json"]));
  });

  for (const { file, t } of transcripts) {
    it(`${file}: bytes go to S3 and download back through /api/v1`, async () => {
      const before = new Set(s3.objects.keys());
      const u = await createUser(h.app);
      await replay(h.app, t, { username: u.username, apiKey: u.key, dashboardCookie: u.cookie });
      expect(s3.rejected).toEqual([]);
      const added = [...s3.objects.keys()].filter((k) => !before.has(k));
      const uploaded = t.steps.some((s) => s.request.url?.includes("{{") && s.request.method === "PUT");
      if (!uploaded) return;
      expect(added.length).toBeGreaterThan(0);
      expect(added.every((k) => k.startsWith(PREFIX))).toBe(true);
      const media = added.filter((k) => k.startsWith(`${PREFIX}media/`) && !k.endsWith(".caption.txt"));
      expect(media.length).toBeGreaterThan(0);
      for (const k of media) {
        const [runId, ...rel] = k.slice(`${PREFIX}media/`.length).split("/");
        const res = await h.app.inject({ method: "GET", url: `/api/v1/runs/${runId}/media/${rel.map(encodeURIComponent).join("/")}`, headers: u.auth });
        expect(res.statusCode, k).toBe(200);
        expect(Buffer.compare(res.rawPayload, s3.objects.get(k)!), k).toBe(0);
      }
    });
  }

  it("the 0.9 Text file was read from S3 and nothing went to local disk", async () => {
    expect([...s3.objects.keys()].some((k) => k.startsWith(`${PREFIX}uploads/`) && k.endsWith(".txt"))).toBe(true);
    expect(existsSync(join(dataDir, "objects"))).toBe(false);
  });
});
