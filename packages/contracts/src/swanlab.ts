// The official SwanLab Python SDK's wire protocol (0.7.4 – 0.9.x), served under /api beside /api/v1.
// Request schemas are lenient (the SDK adds fields between versions: unknown keys pass through);
// response schemas list every field some SDK era reads. See ../../../../shared/swanlab-protocol.md.
import { z } from "zod";
import { IsoDate } from "./common.js";

/** `expiredAt` must carry fractional seconds and a trailing `Z` (0.6/0.7 parse `%Y-%m-%dT%H:%M:%S.%fZ`). */
export const SwanlabLoginResponse = z.object({
  sid: z.string(),
  expiredAt: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,6}Z$/),
  userInfo: z.object({ username: z.string(), name: z.string() }),
});
export type SwanlabLoginResponse = z.infer<typeof SwanlabLoginResponse>;

export const SwanlabVisibility = z.enum(["PUBLIC", "PRIVATE"]);

/** `POST /api/project` (0.6–0.8, 0.9 fallback). */
export const SwanlabCreateProjectBody = z
  .object({ name: z.string().min(1).max(100), username: z.string().min(1).max(64).optional(), visibility: SwanlabVisibility.optional() })
  .passthrough();
export type SwanlabCreateProjectBody = z.infer<typeof SwanlabCreateProjectBody>;
/** `POST /api/projects/{u}` (0.9+). */
export const SwanlabCreateProjectInWorkspaceBody = z.object({ name: z.string().min(1).max(100), visibility: SwanlabVisibility.optional() }).passthrough();

/** Every field any era reads from the project (create answer, 409 body and GET). `version: 1` ⇒ series API. */
export const SwanlabProject = z.object({
  cuid: z.string(),
  name: z.string(),
  username: z.string(),
  path: z.string(),
  visibility: SwanlabVisibility,
  version: z.literal(1),
  group: z.object({ username: z.string(), name: z.string() }),
  _count: z.object({ experiments: z.number().int() }),
  createdAt: IsoDate,
});
export type SwanlabProject = z.infer<typeof SwanlabProject>;

export const SwanlabWorkspaceParams = z.object({ username: z.string().min(1).max(64) });
export const SwanlabProjectParams = z.object({ username: z.string().min(1).max(64), project: z.string().min(1).max(100) });
export const SwanlabRunParams = SwanlabProjectParams.extend({ cuid: z.string().min(1).max(512) });
export const SwanlabExperimentParams = z.object({ cuid: z.string().min(1).max(512) });

/** `POST /api/project/{u}/{p}/experiment`: `cuid` is client-proposed (0.8+ always, 0.7 on resume). */
export const SwanlabCreateExperimentBody = z
  .object({
    name: z.string().max(1000).optional(),
    description: z.string().max(100_000).optional(),
    colors: z.array(z.string()).optional(),
    labels: z.array(z.object({ name: z.string() }).passthrough()).max(1000).optional(),
    job: z.string().optional(),
    cluster: z.string().optional(),
    cuid: z.string().min(1).max(512).optional(),
    createdAt: z.string().optional(),
  })
  .passthrough();
export type SwanlabCreateExperimentBody = z.infer<typeof SwanlabCreateExperimentBody>;

/** Profile config is `{key: {value, sort, desc}}` on the wire; stored unwrapped. */
export const SwanlabConfigEntry = z.object({ value: z.unknown(), sort: z.number().optional(), desc: z.string().optional() });
export const SwanlabWrappedConfig = z.record(z.string(), z.unknown());

/** 201 = new, 200 = existing (resume). `flagId` must be a non-empty string for 0.6.5–0.7. */
export const SwanlabExperiment = z.object({
  cuid: z.string(),
  name: z.string(),
  slug: z.string(),
  flagId: z.string().min(1),
  createdAt: IsoDate,
  state: z.enum(["RUNNING", "FINISHED", "CRASHED", "ABORTED"]),
  rootProId: z.string(),
  rootExpId: z.string(),
  profile: z.object({ config: SwanlabWrappedConfig }),
});
export type SwanlabExperiment = z.infer<typeof SwanlabExperiment>;

export const SwanlabProfileBody = z
  .object({
    config: z.record(z.string(), z.unknown()).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    requirements: z.string().max(1_000_000).optional(),
    conda: z.string().max(1_000_000).optional(),
  })
  .passthrough();
export type SwanlabProfileBody = z.infer<typeof SwanlabProfileBody>;

export const SwanlabState = z.enum(["RUNNING", "FINISHED", "CRASHED", "ABORTED"]);
export const SwanlabStateBody = z.object({ state: SwanlabState, from: z.string().optional(), finishedAt: z.string().optional() }).passthrough();
export type SwanlabStateBody = z.infer<typeof SwanlabStateBody>;

export const SwanlabColumnType = z.enum(["FLOAT", "IMAGE", "AUDIO", "TEXT", "OBJECT3D", "MOLECULE", "ECHARTS", "VIDEO", "HTML", "SYSTEM"]);
/** Legacy `POST /api/experiment/{cuid}/columns`: a JSON array, ≤ 3000 a request. */
export const SwanlabColumnsBody = z.array(z.object({ key: z.string().min(1).max(1024), type: z.string().max(32).optional(), class: z.string().max(32).optional() }).passthrough()).max(3000);
export type SwanlabColumnsBody = z.infer<typeof SwanlabColumnsBody>;
/** 0.9 `POST /api/projects/{u}/{p}/series` for `version: 1` projects. */
export const SwanlabSeriesBody = z.object({ series: z.array(z.object({ key: z.string().min(1).max(1024), type: z.string().max(32).optional() }).passthrough()).max(3000) }).passthrough();

/**
 * `/api/house/metrics` records. Lenient on purpose: one bad item must not fail the batch (0.7 retries a
 * failed batch forever), so items are checked one by one by the server and bad ones skipped.
 */
export const SwanlabScalarRecord = z.object({ key: z.string(), index: z.number(), data: z.union([z.number(), z.string(), z.null()]), create_time: z.string().optional(), epoch: z.number().optional() }).passthrough();
export const SwanlabMediaRecord = z.object({
  key: z.string(),
  index: z.number(),
  data: z.array(z.string()),
  /** 0.7: aligned with `data` (null without caption); 0.9: only captioned items (aligned when as long). */
  more: z.array(z.unknown()).nullish(),
  create_time: z.string().optional(),
  epoch: z.number().optional(),
}).passthrough();
export const SwanlabLogRecord = z.object({ level: z.string().optional(), message: z.string(), create_time: z.string().optional(), epoch: z.number().optional() }).passthrough();
export type SwanlabScalarRecord = z.infer<typeof SwanlabScalarRecord>;
export type SwanlabMediaRecord = z.infer<typeof SwanlabMediaRecord>;
export type SwanlabLogRecord = z.infer<typeof SwanlabLogRecord>;

export const SwanlabMetricsBody = z
  .object({
    projectId: z.string().max(512).optional(),
    experimentId: z.string().min(1).max(512),
    type: z.enum(["scalar", "media", "log"]),
    flagId: z.string().max(512).nullish(),
    metrics: z.array(z.unknown()).max(10_000),
  })
  .passthrough();
export type SwanlabMetricsBody = z.infer<typeof SwanlabMetricsBody>;
export const SwanlabMetricsResponse = z.object({ accepted: z.number().int(), skipped: z.number().int() });

/** Resume summaries: `log` must be absent or non-empty (0.7 crashes on `[]`). */
export const SwanlabKeyStep = z.object({ key: z.string(), step: z.number().int() });
export const SwanlabSummariesResponse = z.object({
  scalar: z.array(SwanlabKeyStep),
  media: z.array(SwanlabKeyStep),
  log: z.array(SwanlabKeyStep).min(1).optional(),
});
export type SwanlabSummariesResponse = z.infer<typeof SwanlabSummariesResponse>;

export const SwanlabColumnListResponse = z.object({
  list: z.array(z.object({ key: z.string(), type: z.enum(["FLOAT", "IMAGE", "AUDIO", "TEXT", "OBJECT3D", "MOLECULE", "ECHARTS"]), class: z.enum(["CUSTOM", "SYSTEM"]) })),
});

/** Object paths are relative (`val%2Fimg/image-step3-….png`, `media/text/003-….txt`); no `..` segments. */
export const SwanlabObjectPath = z
  .string()
  .min(1)
  .max(400)
  .refine((p) => !p.startsWith("/") && !p.split("/").some((s) => s === ".." || s === "." || s === "") && !/[\u0000-\u001f\\]/.test(p), "a relative path without '..', '.', empty segments or control characters");
export const SwanlabPresignBody = z.object({ experimentId: z.string().min(1).max(512), paths: z.array(SwanlabObjectPath).max(1000) }).passthrough();
export type SwanlabPresignBody = z.infer<typeof SwanlabPresignBody>;
/** One URL per path, same order; the URLs authenticate themselves (the PUT carries no cookie). */
export const SwanlabPresignResponse = z.object({ urls: z.array(z.string()) });

export const SwanlabAck = z.object({}).passthrough();

/** Wire error: 0.8+ decode `{code, message}` for their log line; `error` is the house shape. */
export const SwanlabError = z.object({
  code: z.string(),
  message: z.string(),
  error: z.object({ code: z.string(), message: z.string() }),
});

// --- Media read back through /api/v1 (dashboard gallery) ---

export const MediaKind = z.enum(["image", "audio", "object3d", "other"]);
export const MediaItem = z.object({
  key: z.string(),
  step: z.number().int(),
  index: z.number().int(),
  kind: MediaKind,
  /** Relative to the run: GET /api/v1/runs/:id/media/<path> answers the bytes. */
  path: z.string(),
  contentType: z.string().nullable(),
  size: z.number().int().nullable(),
  caption: z.string().nullable(),
  createdAt: IsoDate,
});
export type MediaItem = z.infer<typeof MediaItem>;
export const ListMediaQuery = z.object({ key: z.string().min(1).max(255).optional(), step: z.coerce.number().int().min(0).optional() });
export const ListMediaResponse = z.object({ media: z.array(MediaItem) });
export type ListMediaResponse = z.infer<typeof ListMediaResponse>;

// --- swanlab.save() files (0.7.15+): single PUT below 100 MiB, multipart above ---

export const SwanlabSaveFile = z.object({ path: SwanlabObjectPath, size: z.number().int().min(0).optional(), md5: z.string().max(64).optional(), mimeType: z.string().max(128).optional() }).passthrough();
export const SwanlabFilesPrepareBody = z.object({ files: z.array(SwanlabSaveFile).min(1).max(1000) }).passthrough();
export const SwanlabFilesCompleteBody = z.object({ files: z.array(z.object({ path: SwanlabObjectPath, state: z.enum(["UPLOADED", "FAILED"]) }).passthrough()).max(1000) }).passthrough();
export const SwanlabMultipartPrepareBody = z.object({ files: z.array(SwanlabSaveFile.extend({ count: z.number().int().min(1).max(10_000) })).min(1).max(100) }).passthrough();
export const SwanlabMultipartPrepareResponse = z.object({
  files: z.array(z.object({ path: z.string(), uploadId: z.string(), parts: z.array(z.object({ partNumber: z.number().int(), url: z.string() })) })),
});
export const SwanlabMultipartCompleteBody = z.object({
  files: z.array(z.object({ path: SwanlabObjectPath, uploadId: z.string().regex(/^[0-9a-f]{24}$/), parts: z.array(z.object({ partNumber: z.number().int().min(1).max(10_000), etag: z.string().max(200).optional() }).passthrough()).min(1).max(10_000) }).passthrough()).max(100),
}).passthrough();
export type SwanlabSaveFile = z.infer<typeof SwanlabSaveFile>;

export const RunFile = z.object({ path: z.string(), size: z.number().int().nullable(), contentType: z.string().nullable(), createdAt: IsoDate });
export type RunFile = z.infer<typeof RunFile>;
/** `path` is relative to the saved-files root; bytes: GET /api/v1/runs/:id/media/~files/<path>. */
export const ListRunFilesResponse = z.object({ files: z.array(RunFile) });
