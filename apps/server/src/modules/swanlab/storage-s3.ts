// Object storage in an S3-compatible bucket (AWS, MinIO, R2, Ceph…), same semantics as storage-local.ts.
// Upload URLs stay on this server: it PUTs the bytes it accepted (PutObject) and reads them back for
// downloads (GetObject). Keys are normalised like local paths (`a/./b` = `a/b`, nothing may climb out).
import { Readable } from "node:stream";
import { posix } from "node:path";
import {
  CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from "@aws-sdk/client-s3";
import type { ObjectStorage } from "./storage.js";

export type S3StorageOptions = {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  prefix?: string;
  /** Unset: the AWS default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
};

const S3_KEY_MAX_BYTES = 1024;

/** A missing object (GetObject's NoSuchKey, HeadObject's bodiless 404, CopyObject's missing source). */
function isMissing(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.Code === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
}

export function createS3Storage(opts: S3StorageOptions): ObjectStorage {
  const client = new S3Client({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    forcePathStyle: opts.forcePathStyle ?? false,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    // CRC checksums on every request (the SDK's default since 3.729) are refused by several
    // S3-compatible stores; ask for them only where S3 requires one.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const Bucket = opts.bucket;
  const trimmed = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const prefix = trimmed ? `${trimmed}/` : "";

  function keyOf(key: string): string {
    const k = posix.normalize(key.split("/").filter((s) => s !== "").join("/"));
    if (k === "." || k === ".." || k.startsWith("../")) throw new Error(`storage key escapes the root: ${key}`);
    return prefix + k;
  }
  // An S3 key over 1 KiB cannot exist: as absent as a name too long for the local disk.
  const tooLong = (k: string) => Buffer.byteLength(k) > S3_KEY_MAX_BYTES;

  async function size(key: string): Promise<number | null> {
    const Key = keyOf(key);
    if (tooLong(Key)) return null;
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket, Key }));
      return out.ContentLength ?? 0;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async function get(key: string): Promise<Buffer | null> {
    const Key = keyOf(key);
    if (tooLong(Key)) return null;
    try {
      const out = await client.send(new GetObjectCommand({ Bucket, Key }));
      return out.Body ? Buffer.from(await out.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async function put(key: string, data: Buffer): Promise<void> {
    await client.send(new PutObjectCommand({ Bucket, Key: keyOf(key), Body: data, ContentLength: data.length }));
  }

  async function deleteUnder(dirKey: string): Promise<void> {
    let ContinuationToken: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: `${dirKey}/`, ContinuationToken }));
      for (const o of page.Contents ?? []) if (o.Key) await client.send(new DeleteObjectCommand({ Bucket, Key: o.Key }));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  return {
    put,
    get,
    size,
    async move(from, to) {
      const src = keyOf(from);
      if (tooLong(src)) return false;
      const CopySource = `${Bucket}/${src.split("/").map(encodeURIComponent).join("/")}`;
      try {
        // Server-side copy: the bytes do not pass through this process (objects here are under the body limit, far below 5 GiB).
        await client.send(new CopyObjectCommand({ Bucket, Key: keyOf(to), CopySource }));
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
      await client.send(new DeleteObjectCommand({ Bucket, Key: src }));
      return true;
    },
    async concat(from, to) {
      const sizes: number[] = [];
      for (const key of from) {
        const n = await size(key);
        if (n === null) return false;
        sizes.push(n);
      }
      // One PutObject of known length fed part by part: one part in memory at a time, and parts of any
      // size (S3 multipart copy would need every part but the last to be at least 5 MiB).
      async function* parts() {
        for (const key of from) {
          const bytes = await get(key);
          if (!bytes) throw new Error(`storage object vanished while joining: ${key}`);
          yield bytes;
        }
      }
      const total = sizes.reduce((a, b) => a + b, 0);
      await client.send(new PutObjectCommand({ Bucket, Key: keyOf(to), Body: Readable.from(parts()), ContentLength: total }));
      return true;
    },
    async remove(key) {
      const Key = keyOf(key);
      if (tooLong(Key)) return;
      await client.send(new DeleteObjectCommand({ Bucket, Key }));
      await deleteUnder(Key);
    },
  };
}
