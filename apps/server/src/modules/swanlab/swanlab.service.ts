// The official SwanLab SDK's calls mapped onto the one data model: runs through RunsService, points,
// texts and console lines through MetricsService (same tables, same realtime pushes as /api/v1), media
// files into media_files + storage. Everything a re-sending SDK repeats is idempotent.
// flagId (0.6.5–0.7): each experiment create/resume issues a new one; uploads carrying an older one
// are answered 202 ("taken over"). The map is in memory: after a restart nothing is ever 202.
import { noNul, stripNul } from "../../lib/text.js";
import { randomBytes } from "node:crypto";
import type { Db } from "@swanhouse/db";
import {
  MetricKey, Name, RunId, Step, toWireValue,
  type LogInput, type MetricInput, type MetricValue, type Run, type TextInput,
  type SwanlabCreateExperimentBody, type SwanlabExperiment, type SwanlabMetricsBody, type SwanlabProfileBody,
  type SwanlabProject, type SwanlabStateBody, type SwanlabSummariesResponse, type MediaItem,
  SwanlabScalarRecord, SwanlabMediaRecord, SwanlabLogRecord,
} from "@swanhouse/contracts";
import type { Clock, Services } from "../../app.js";
import type { Actor, UserActor } from "../../plugins/auth.js";
import { BadRequest, Forbidden, NotFound } from "../../lib/errors.js";
import { newUuid } from "../../lib/ids.js";
import { iso } from "../../lib/serialize.js";
import { WRITE_ROLES } from "../access/access.service.js";
import { createAuthService } from "../auth/auth.service.js";
import { withTransaction } from "../metrics/metrics.repo.js";
import type { ObjectStorage } from "./storage.js";
import { stagingKey, type UploadUrls } from "./upload-urls.js";
import { createSwanlabRepo, insertMedia, type MediaRow } from "./swanlab.repo.js";

/** The SDK logs in again whenever expiredAt − now ≤ 7 days: issue sessions for much longer. */
export const SDK_SESSION_DAYS = 30;

type Deps = {
  db: Pick<Db, "prisma" | "pool">;
  clock: Clock;
  services: Pick<Services, "access" | "runs" | "metrics">;
  storage: ObjectStorage;
  uploads: UploadUrls;
  sessionTtlDays: number;
};

/** 202 = "your flagId was superseded"; everything else is a plain 200/201. */
export type Takeover = { takenOver: true } | { takenOver: false };

// --- pure helpers (exported for unit tests) ---

/** `{key: {value, sort, desc}}` → `{key: value}`; plain values pass through. */
export function unwrapConfig(config: Record<string, unknown>): Record<string, unknown> {
  const entries = Object.entries(config).map(([k, v], i) => {
    const wrapped = v !== null && typeof v === "object" && !Array.isArray(v) && "value" in v;
    const sortField = wrapped ? (v as { sort?: unknown }).sort : undefined;
    const sort = typeof sortField === "number" ? sortField : i;
    return { k, v: wrapped ? (v as { value: unknown }).value : v, sort };
  });
  entries.sort((a, b) => a.sort - b.sort);
  return Object.fromEntries(entries.map((e) => [e.k, e.v]));
}
export function wrapConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([k, value], sort) => [k, { value, sort, desc: "" }]));
}

/** SDK numbers: finite numbers, "NaN"/"nan", "INF"/"-INF"/"inf"/"Infinity"; anything else is undefined. */
export function toMetricValue(d: unknown): MetricValue | undefined {
  // Built through toWireValue: the compiled contracts type does not keep the "-Infinity" literal.
  if (typeof d === "number") return toWireValue(d);
  if (typeof d !== "string") return undefined;
  const s = d.trim().toLowerCase();
  if (s === "nan") return toWireValue(NaN);
  if (s === "inf" || s === "+inf" || s === "infinity" || s === "+infinity") return toWireValue(Infinity);
  if (s === "-inf" || s === "-infinity") return toWireValue(-Infinity);
  const n = Number(s);
  return s !== "" && Number.isFinite(n) ? n : undefined;
}

/** 0.7 `isoformat()` (`+00:00`, µs) and 0.9 protobuf JSON (`Z`, up to ns) → epoch ms; bad → undefined. */
export function toEpochMs(t: unknown): number | undefined {
  if (typeof t !== "string") return undefined;
  const trimmed = t.replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(trimmed) ? trimmed : `${trimmed}Z`);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

const LEVELS: Record<string, LogInput["level"]> = { INFO: "info", WARN: "warning", WARNING: "warning", ERROR: "error", DEBUG: "debug" };

/** A key as one URL-safe path segment: percent-encoding with `~` for `%` (reversible, no `/`). */
export function encodeKeySegment(key: string): string {
  return encodeURIComponent(key).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%/g, "~");
}
export function decodeKeySegment(seg: string): string {
  return decodeURIComponent(seg.replace(/~/g, "%"));
}

const CONTENT_TYPES: Record<string, [string, MediaRow["kind"]]> = {
  ".png": ["image/png", "image"], ".jpg": ["image/jpeg", "image"], ".jpeg": ["image/jpeg", "image"], ".gif": ["image/gif", "image"],
  ".webp": ["image/webp", "image"], ".bmp": ["image/bmp", "image"], ".svg": ["image/svg+xml", "image"],
  ".wav": ["audio/wav", "audio"], ".mp3": ["audio/mpeg", "audio"], ".ogg": ["audio/ogg", "audio"], ".flac": ["audio/flac", "audio"],
  ".glb": ["model/gltf-binary", "object3d"], ".gltf": ["model/gltf+json", "object3d"], ".obj": ["model/obj", "object3d"],
  ".json": ["application/json", "other"], ".html": ["text/html", "other"], ".mp4": ["video/mp4", "other"], ".pdb": ["chemical/x-pdb", "other"],
};
export function mediaTypeOf(path: string): { ext: string; contentType: string | null; kind: MediaRow["kind"] } {
  const m = /(\.[A-Za-z0-9]{1,10})$/.exec(path);
  const ext = m ? m[1]!.toLowerCase() : "";
  const known = CONTENT_TYPES[ext];
  return { ext, contentType: known?.[0] ?? null, kind: known?.[1] ?? "other" };
}

/** Object paths the SDK writes: 0.7 `<enc key>/<type>-step<N>-<hash>.<ext>`, 0.9 `media/<type>/<step>-<hash>.<ext>`. */
const OBJECT_PATH = /^(media\/[a-z0-9]+\/[^/\s]+\.[A-Za-z0-9]+|[^/\s]+\/[a-z0-9]+-step\d+-[0-9a-f]+\.[A-Za-z0-9]+)$/;
const isTextFile = (p: string) => /\.txt$/i.test(p) || p.startsWith("media/text/");
const MEDIA_PATH_MAX = 512;
const MAX_FLAGS = 100_000;
const CAPTION_SUFFIX = ".caption.txt";

// --- the service ---

export function createSwanlabService(deps: Deps) {
  const { access, runs, metrics } = deps.services;
  const repo = createSwanlabRepo(deps.db);
  const auth = createAuthService({ db: deps.db, clock: deps.clock, sessionTtlDays: deps.sessionTtlDays });
  const flags = new Map<string, string>();

  async function login(actor: UserActor) {
    const now = deps.clock.now().getTime();
    const sid = await auth.createSession(actor.userId);
    // Reported a minute early so the client never believes a session that the server has dropped.
    const expiredAt = new Date(now + deps.sessionTtlDays * 86_400_000 - 60_000);
    return { sid, expiredAt: iso(expiredAt), userInfo: { username: actor.username, name: actor.username } };
  }

  // --- projects ---

  async function projectView(p: { id: string; name: string; visibility: "private" | "public"; createdAt: Date }, workspace: string): Promise<SwanlabProject> {
    return {
      cuid: p.id, name: p.name, username: workspace, path: `/${workspace}/${p.name}`,
      visibility: p.visibility === "public" ? "PUBLIC" : "PRIVATE", version: 1,
      group: { username: workspace, name: workspace },
      _count: { experiments: await repo.runCount(p.id) },
      createdAt: iso(p.createdAt),
    };
  }

  /** Creates the project, or answers the existing one (`created: false`). */
  async function createProject(actor: UserActor, workspaceName: string, name: string, visibility: "PUBLIC" | "PRIVATE" | undefined) {
    const parsed = Name.safeParse(name);
    if (!parsed.success) throw BadRequest(`project name '${name}': ${parsed.error.issues[0]?.message ?? "invalid"}`, "name");
    const { workspace, role } = await access.workspaceForMember(actor, workspaceName);
    const existing = await repo.project(workspace.id, parsed.data);
    if (existing) return { project: await projectView(existing, workspace.name), created: false };
    if (!WRITE_ROLES.has(role)) throw Forbidden(`role '${role}' cannot create projects in '${workspace.name}'`);
    try {
      const row = await repo.createProject({ id: newUuid(), workspaceId: workspace.id, name: parsed.data, visibility: visibility === "PUBLIC" ? "public" : "private" });
      return { project: await projectView(row, workspace.name), created: true };
    } catch (err) {
      if ((err as { code?: string }).code !== "P2002") throw err;
      const row = await repo.project(workspace.id, parsed.data);
      return { project: await projectView(row!, workspace.name), created: false };
    }
  }

  async function getProject(actor: Actor, workspace: string, name: string) {
    const { project, workspace: ws } = await access.projectFor(actor, workspace, name, "read");
    return projectView(project, ws.name);
  }

  // --- experiments ---

  const STATE = { running: "RUNNING", finished: "FINISHED", crashed: "CRASHED", aborted: "ABORTED" } as const;
  function experimentView(run: Run): Omit<SwanlabExperiment, "flagId"> {
    return {
      cuid: run.id, name: run.name, slug: run.id, createdAt: run.createdAt, state: STATE[run.status],
      rootProId: run.projectId, rootExpId: run.id, profile: { config: wrapConfig(run.config) },
    };
  }

  async function createExperiment(actor: UserActor, workspace: string, project: string, body: SwanlabCreateExperimentBody) {
    await access.projectFor(actor, workspace, project, "write");
    if (body.cuid !== undefined && !RunId.safeParse(body.cuid).success) {
      throw BadRequest(`experiment id '${body.cuid}': use 1–64 letters, digits, '_' and '-'`, "cuid");
    }
    const tags = [...new Set((body.labels ?? []).map((l) => noNul(l.name).trim().slice(0, 64)).filter(Boolean))].slice(0, 50);
    const name = body.name !== undefined ? noNul(body.name).trim().slice(0, 200) || undefined : undefined;
    const description = body.description !== undefined ? noNul(body.description).slice(0, 2000) : undefined;
    const { run, created } = await runs.create(actor, { project, workspace, name, description, tags, id: body.cuid });
    // A resumed run is running again (it may have crashed or finished before).
    const current = !created && run.status !== "running" ? await runs.setStatus(run.id, "running") : run;
    const flagId = randomBytes(12).toString("hex");
    flags.delete(run.id);
    flags.set(run.id, flagId);
    // Runs that never send a final state stay in the map: forget the oldest beyond a bound.
    if (flags.size > MAX_FLAGS) flags.delete(flags.keys().next().value!);
    return { created, experiment: { ...experimentView(current), flagId } satisfies SwanlabExperiment };
  }

  /** The run, checked to belong to `workspace/project` (else 404 like a missing one). */
  async function runIn(actor: Actor, workspace: string, project: string, cuid: string, need: "read" | "write") {
    const got = await access.runFor(actor, cuid, need);
    if (got.workspace.name !== workspace || got.project.name !== project) throw NotFound(`run '${cuid}' not found in '${workspace}/${project}'`);
    return got;
  }

  async function getExperiment(actor: Actor, workspace: string, project: string, cuid: string) {
    await runIn(actor, workspace, project, cuid, "read");
    return experimentView((await runs.get(actor, cuid)).run);
  }

  function takenOver(runId: string, flagId: string | null | undefined): boolean {
    const current = flags.get(runId);
    return Boolean(flagId && current && flagId !== current);
  }

  async function profile(actor: Actor, workspace: string, project: string, cuid: string, body: SwanlabProfileBody, flagId: string | undefined): Promise<Takeover> {
    await runIn(actor, workspace, project, cuid, "write");
    if (takenOver(cuid, flagId)) return { takenOver: true };
    const metadata = stripNul({ ...(body.metadata ?? {}), ...(body.conda !== undefined ? { conda: body.conda } : {}) }) as Record<string, unknown>;
    await runs.update(actor, cuid, {
      ...(body.config ? { config: stripNul(unwrapConfig(body.config)) as Record<string, unknown> } : {}),
      ...(Object.keys(metadata).length ? { metadata } : {}),
      ...(body.requirements !== undefined ? { requirements: noNul(body.requirements) } : {}),
    });
    return { takenOver: false };
  }

  async function setState(actor: Actor, workspace: string, project: string, cuid: string, body: SwanlabStateBody) {
    await runIn(actor, workspace, project, cuid, "write");
    if (body.state === "RUNNING") await runs.setStatus(cuid, "running");
    else await runs.finish(actor, cuid, body.state === "FINISHED" ? "finished" : body.state === "CRASHED" ? "crashed" : "aborted");
    flags.delete(cuid);
  }

  /**
   * A heartbeat only comes from a live process: a run the reaper marked crashed (no heartbeat within
   * HEARTBEAT_TIMEOUT_SECONDS; 0.7 beats every 10 minutes) is running again. The SDK's own
   * CRASHED/FINISHED state is sent after its heartbeat has stopped.
   */
  async function heartbeat(actor: Actor, cuid: string) {
    const run = await runs.heartbeat(actor, cuid);
    if (run.status === "crashed") await runs.setStatus(cuid, "running");
  }

  /** Column definitions are not stored: keys and kinds come from the values (which may come first). */
  async function columns(actor: Actor, cuid: string, flagId: string | undefined): Promise<Takeover> {
    await access.runFor(actor, cuid, "write");
    return { takenOver: takenOver(cuid, flagId) };
  }
  async function series(actor: Actor, workspace: string, project: string) {
    await access.projectFor(actor, workspace, project, "write");
  }

  // --- /house/metrics ---

  async function ingest(actor: Actor, body: SwanlabMetricsBody, headerFlag: string | undefined) {
    const runId = body.experimentId;
    const { run } = await access.runFor(actor, runId, "write");
    if (takenOver(runId, body.flagId ?? headerFlag)) return { takenOver: true as const };
    const now = deps.clock.now().getTime();
    let skipped = 0;
    const points: MetricInput[] = [];
    const texts: TextInput[] = [];
    const logs: LogInput[] = [];
    const media: Array<MediaRow & { staged: string | null; caption: string | null }> = [];

    for (const raw of body.metrics) {
      if (body.type === "scalar") {
        const r = SwanlabScalarRecord.safeParse(raw);
        const value = r.success ? toMetricValue(r.data.data) : undefined;
        if (!r.success || value === undefined || !MetricKey.safeParse(r.data.key).success || !Step.safeParse(r.data.index).success) { skipped++; continue; }
        points.push({ key: r.data.key, step: r.data.index, value, time: toEpochMs(r.data.create_time) ?? now });
      } else if (body.type === "log") {
        const r = SwanlabLogRecord.safeParse(raw);
        if (!r.success) { skipped++; continue; }
        const seq = r.data.epoch;
        logs.push({
          level: LEVELS[(r.data.level ?? "INFO").toUpperCase()] ?? "info",
          message: noNul(r.data.message).slice(0, 100_000),
          time: toEpochMs(r.data.create_time) ?? now,
          ...(seq !== undefined && Number.isSafeInteger(seq) && seq >= 0 ? { seq } : {}),
        });
      } else {
        const r = SwanlabMediaRecord.safeParse(raw);
        if (!r.success || !MetricKey.safeParse(r.data.key).success || !Step.safeParse(r.data.index).success) { skipped++; continue; }
        const { key, index: step, data, more } = r.data;
        const time = toEpochMs(r.data.create_time) ?? now;
        for (const [i, item] of data.entries()) {
          const extra = more && more.length === data.length ? more[i] : undefined;
          const caption = extra && typeof extra === "object" && typeof (extra as { caption?: unknown }).caption === "string" ? (extra as { caption: string }).caption : undefined;
          const resolved = await resolveMediaItem(runId, key, step, i, item);
          if (resolved.kind === "skip") skipped++;
          else if (resolved.kind === "text") texts.push({ key, step, index: i, text: noNul(resolved.text).slice(0, 1_000_000), ...(caption ? { caption: noNul(caption).slice(0, 10_000) } : {}), time });
          else media.push({ ...resolved.row, caption: caption ? noNul(caption).slice(0, 10_000) : null });
        }
      }
    }

    const out = await metrics.log(actor, runId, { metrics: points, texts, logs });
    let newMedia = 0;
    if (media.length) {
      for (const m of media) {
        if (m.staged) await deps.storage.move(m.staged, `media/${m.path}`);
        // media_files has no caption column: the caption lives next to the bytes.
        if (m.caption) await deps.storage.put(`media/${m.path}${CAPTION_SUFFIX}`, Buffer.from(m.caption, "utf8"));
      }
      newMedia = (await withTransaction(deps.db, (q) => insertMedia(q, runId, media))).length;
    }
    const a = out.accepted;
    // Writes from a process the reaper gave up on (0.7.0–0.7.5 send no heartbeat) bring the run back.
    if (run.status === "crashed" && a.metrics + a.logs + a.texts + newMedia > 0) await runs.setStatus(runId, "running");
    else if (newMedia > 0) await runs.publish(runId);
    return { takenOver: false as const, accepted: a.metrics + a.texts + a.logs + newMedia, skipped };
  }

  /**
   * One `data` entry of a media record: inline text (0.7 Text), an uploaded `.txt` (0.9 Text), or an
   * uploaded file (image, audio…). An entry is a file when its bytes were PUT to a presigned URL, when
   * it was already stored (a re-sent batch), or when it has the SDK's object-path shape.
   */
  async function resolveMediaItem(runId: string, key: string, step: number, index: number, item: string):
    Promise<{ kind: "text"; text: string } | { kind: "file"; row: MediaRow & { staged: string | null } } | { kind: "skip" }> {
    const staged = stagingKey(runId, item);
    // Inline 0.7 text can be anything: only path-like strings are looked up in storage.
    const validPath = item.length <= 400 && !item.startsWith("/") && !/[\u0000-\u001f\\]/.test(item) &&
      !item.split("/").some((s) => s === ".." || s === "." || s === "" || s.length > 200);
    const stagedSize = validPath ? await deps.storage.size(staged) : null;
    if (stagedSize !== null && isTextFile(item)) {
      const bytes = await deps.storage.get(staged);
      return { kind: "text", text: bytes ? bytes.toString("utf8") : "" };
    }
    const type = mediaTypeOf(item);
    const path = `${runId}/${encodeKeySegment(key)}/${step}-${index}${type.ext}`;
    const isFile = stagedSize !== null || (validPath && OBJECT_PATH.test(item) && !isTextFile(item)) || (await repo.mediaExists(path));
    if (!isFile) return { kind: "text", text: item };
    if (path.length > MEDIA_PATH_MAX) return { kind: "skip" };
    return { kind: "file", row: { path, key, step, kind: type.kind, contentType: type.contentType, size: stagedSize, staged: stagedSize !== null ? staged : null } };
  }

  // --- resume ---

  async function summaries(actor: Actor, cuid: string): Promise<SwanlabSummariesResponse> {
    await access.runFor(actor, cuid, "read");
    const rows = await repo.series(cuid);
    const withStep = rows.filter((r) => r.lastStep !== null).map((r) => ({ key: r.key, step: r.lastStep!, kind: r.kind }));
    const lastLog = await repo.lastLogSeq(cuid);
    return {
      scalar: withStep.filter((r) => r.kind === "scalar").map(({ key, step }) => ({ key, step })),
      media: withStep.filter((r) => r.kind !== "scalar").map(({ key, step }) => ({ key, step })),
      // Absent rather than [] when there are no console lines: 0.7 crashes on an empty list.
      ...(lastLog !== null ? { log: [{ key: "log", step: lastLog }] } : {}),
    };
  }

  const COLUMN_TYPE = { scalar: "FLOAT", text: "TEXT", image: "IMAGE", audio: "AUDIO", object3d: "OBJECT3D" } as const;
  async function columnList(actor: Actor, cuid: string) {
    await access.runFor(actor, cuid, "read");
    const rows = await repo.series(cuid);
    const list = rows.flatMap((r) => (r.kind === "other" ? [] : [{ key: r.key, type: COLUMN_TYPE[r.kind], class: r.isSystem ? ("SYSTEM" as const) : ("CUSTOM" as const) }]));
    return { list };
  }

  // --- uploads ---

  async function presign(actor: Actor, runId: string, paths: string[], baseUrl: string) {
    await access.runFor(actor, runId, "write");
    const urls: string[] = [];
    for (const p of paths) urls.push(await deps.uploads.urlFor(baseUrl, runId, p));
    return { urls };
  }

  // --- media through /api/v1 ---

  async function listMedia(actor: Actor, runId: string, q: { key?: string; step?: number }): Promise<MediaItem[]> {
    await access.runFor(actor, runId, "read");
    const prefix = `${runId}/${q.key !== undefined ? `${encodeKeySegment(q.key)}/` : ""}`;
    const rows = await repo.mediaOfRun(runId, prefix);
    const items: MediaItem[] = [];
    for (const r of rows) {
      const rel = r.path.slice(runId.length + 1);
      const m = /^([^/]+)\/(\d+)-(\d+)(\.[A-Za-z0-9]+)?$/.exec(rel);
      if (!m || (q.step !== undefined && Number(m[2]) !== q.step)) continue;
      const caption = await deps.storage.get(`media/${r.path}${CAPTION_SUFFIX}`);
      items.push({
        key: decodeKeySegment(m[1]!), step: Number(m[2]), index: Number(m[3]), kind: mediaTypeOf(rel).kind,
        path: rel, contentType: r.contentType, size: r.size, caption: caption ? caption.toString("utf8") : null, createdAt: iso(r.createdAt),
      });
    }
    return items.sort((a, b) => a.key.localeCompare(b.key) || a.step - b.step || a.index - b.index);
  }

  async function readMedia(actor: Actor, runId: string, rel: string) {
    await access.runFor(actor, runId, "read");
    const row = await repo.mediaByPath(`${runId}/${rel}`);
    const bytes = row ? await deps.storage.get(`media/${row.path}`) : null;
    if (!row || !bytes) throw NotFound(`media '${rel}' of run '${runId}' not found`);
    return { bytes, contentType: row.contentType ?? "application/octet-stream" };
  }

  return {
    login, createProject, getProject, createExperiment, getExperiment, profile, setState, heartbeat,
    columns, series, ingest, summaries, columnList, presign, listMedia, readMedia,
  };
}
export type SwanlabService = ReturnType<typeof createSwanlabService>;
