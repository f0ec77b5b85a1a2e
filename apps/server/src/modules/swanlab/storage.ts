// Object storage for files uploaded by the official SwanLab SDK. Keys are relative slash paths
// (`uploads/<run>/<object path>` while staged, `media/<run>/…` once logged). Two backends behind one
// interface: local disk (default, storage-local.ts) and S3-compatible (storage-s3.ts, chosen by env).
import { join } from "node:path";
import { storageBackend, type Env } from "../../env.js";

export interface ObjectStorage {
  put(key: string, data: Buffer): Promise<void>;
  get(key: string): Promise<Buffer | null>;
  size(key: string): Promise<number | null>;
  /** Moves an object; false when `from` does not exist. */
  move(from: string, to: string): Promise<boolean>;
  /** Joins objects into `to` in order (multipart uploads), one part in memory at a time; false if a part is missing. */
  concat(from: string[], to: string): Promise<boolean>;
  /** Removes the object and everything under `key/`. */
  remove(key: string): Promise<void>;
}

type StorageEnv = Pick<Env, "SWANHOUSE_DATA_DIR" | "STORAGE_BACKEND" | "S3_BUCKET" | "S3_ENDPOINT" | "S3_REGION" |
  "S3_ACCESS_KEY_ID" | "S3_SECRET_ACCESS_KEY" | "S3_FORCE_PATH_STYLE" | "S3_PREFIX">;

/** The backend the environment asks for; the S3 client is only loaded when S3 is configured. */
export async function createStorage(env: StorageEnv): Promise<ObjectStorage> {
  if (storageBackend(env) === "s3") {
    const { createS3Storage } = await import("./storage-s3.js");
    return createS3Storage({
      bucket: env.S3_BUCKET!, region: env.S3_REGION, endpoint: env.S3_ENDPOINT, forcePathStyle: env.S3_FORCE_PATH_STYLE, prefix: env.S3_PREFIX,
      credentials: env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY } : undefined,
    });
  }
  const { createLocalStorage } = await import("./storage-local.js");
  return createLocalStorage(join(env.SWANHOUSE_DATA_DIR, "objects"));
}
