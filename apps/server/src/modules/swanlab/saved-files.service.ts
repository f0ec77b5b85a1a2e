// swanlab.save() (0.7.15+): files prepared, PUT to upload URLs (multipart above 100 MiB), then completed.
// Completed files become media_files rows under `<run>/~files/<path>` (no media key can encode to a
// segment starting with "~f"), downloadable through the /api/v1 media route.
import { randomBytes } from "node:crypto";
import type { Db } from "@swanhouse/db";
import type { RunFile, SwanlabSaveFile } from "@swanhouse/contracts";
import type { Services } from "../../app.js";
import type { Actor } from "../../plugins/auth.js";
import { iso } from "../../lib/serialize.js";
import type { ObjectStorage } from "./storage.js";
import { createSwanlabRepo } from "./swanlab.repo.js";
import { mediaTypeOf } from "./swanlab.service.js";
import { stagingKey, type UploadUrls } from "./upload-urls.js";

export const SAVED_ROOT = "~files";
const SAVED_STAGING = ".saved";
const MULTIPART_STAGING = ".multipart";

type Deps = { db: Pick<Db, "prisma" | "pool">; services: Pick<Services, "access">; storage: ObjectStorage; uploads: UploadUrls };

export function createSavedFilesService(deps: Deps) {
  const { access } = deps.services;
  const repo = createSwanlabRepo(deps.db);
  const rowPath = (runId: string, path: string) => `${runId}/${SAVED_ROOT}/${path}`;
  const types = new Map<string, string | null>(); // mimeType from prepare, by staging key (best effort)

  async function prepare(actor: Actor, runId: string, files: SwanlabSaveFile[], baseUrl: string) {
    await access.runFor(actor, runId, "write");
    const urls: string[] = [];
    for (const f of files) {
      types.set(stagingKey(runId, `${SAVED_STAGING}/${f.path}`), f.mimeType ?? null);
      urls.push(await deps.uploads.urlFor(baseUrl, runId, `${SAVED_STAGING}/${f.path}`));
    }
    return { urls };
  }

  async function store(runId: string, path: string, staged: string[]): Promise<boolean> {
    const target = `media/${rowPath(runId, path)}`;
    const ok = staged.length === 1 ? await deps.storage.move(staged[0]!, target) : await deps.storage.concat(staged, target);
    if (!ok) return false;
    const size = (await deps.storage.size(target)) ?? 0;
    await repo.upsertFile(runId, rowPath(runId, path), types.get(staged[0]!) ?? mediaTypeOf(path).contentType, size);
    return true;
  }

  /** FAILED entries and files whose bytes never arrived are skipped (the SDK only logs the outcome). */
  async function complete(actor: Actor, runId: string, files: Array<{ path: string; state: "UPLOADED" | "FAILED" }>) {
    await access.runFor(actor, runId, "write");
    let stored = 0;
    for (const f of files) if (f.state === "UPLOADED" && (await store(runId, f.path, [stagingKey(runId, `${SAVED_STAGING}/${f.path}`)]))) stored++;
    return { stored };
  }

  async function prepareMultipart(actor: Actor, runId: string, files: Array<SwanlabSaveFile & { count: number }>, baseUrl: string) {
    await access.runFor(actor, runId, "write");
    const out = [];
    for (const f of files) {
      const uploadId = randomBytes(12).toString("hex");
      const parts = [];
      for (let n = 1; n <= f.count; n++) parts.push({ partNumber: n, url: await deps.uploads.urlFor(baseUrl, runId, `${MULTIPART_STAGING}/${uploadId}/${n}`) });
      types.set(stagingKey(runId, `${MULTIPART_STAGING}/${uploadId}/1`), f.mimeType ?? null);
      out.push({ path: f.path, uploadId, parts });
    }
    return { files: out };
  }

  async function completeMultipart(actor: Actor, runId: string, files: Array<{ path: string; uploadId: string; parts: Array<{ partNumber: number }> }>) {
    await access.runFor(actor, runId, "write");
    let stored = 0;
    for (const f of files) {
      const numbers = [...new Set(f.parts.map((p) => p.partNumber))].sort((a, b) => a - b);
      if (await store(runId, f.path, numbers.map((n) => stagingKey(runId, `${MULTIPART_STAGING}/${f.uploadId}/${n}`)))) stored++;
      await deps.storage.remove(stagingKey(runId, `${MULTIPART_STAGING}/${f.uploadId}`));
    }
    return { stored };
  }

  async function list(actor: Actor, runId: string): Promise<RunFile[]> {
    await access.runFor(actor, runId, "read");
    const prefix = `${runId}/${SAVED_ROOT}/`;
    return (await repo.mediaOfRun(runId, prefix)).map((r) => ({ path: r.path.slice(prefix.length), size: r.size, contentType: r.contentType, createdAt: iso(r.createdAt) }));
  }

  return { prepare, complete, prepareMultipart, completeMultipart, list };
}
