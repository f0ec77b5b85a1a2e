// Runs: create (idempotent with a client id), update (config/metadata merged; name, description, tags
// replaced), heartbeat, finish, list.
import { z } from "zod";
import { IsoDate, JsonObject, MetricValue, Name, PageQuery, RunId } from "./common.js";

export const RunStatus = z.enum(["running", "finished", "crashed", "aborted"]);
export type RunStatus = z.infer<typeof RunStatus>;
export const Tag = z.string().trim().min(1).max(64);
const RunName = z.string().trim().min(1).max(200);

export const CreateRunBody = z.object({
  project: Name,
  workspace: z.string().min(1).max(64).optional(),
  name: RunName.optional(),
  description: z.string().max(2000).optional(),
  tags: z.array(Tag).max(50).optional(),
  config: JsonObject.optional(),
  /** Client-proposed id: creating it again answers 200 with the existing run (resume). */
  id: RunId.optional(),
});
export type CreateRunBody = z.infer<typeof CreateRunBody>;

export const UpdateRunBody = z.object({
  name: RunName.optional(),
  config: JsonObject.optional(),
  metadata: JsonObject.optional(),
  requirements: z.string().max(1_000_000).optional(),
  description: z.string().max(2000).optional(),
  tags: z.array(Tag).max(50).optional(),
  summary: JsonObject.optional(),
});
export type UpdateRunBody = z.infer<typeof UpdateRunBody>;

export const FinishRunBody = z.object({ state: RunStatus.exclude(["running"]).default("finished") });
export type FinishRunBody = z.infer<typeof FinishRunBody>;

export const Run = z.object({
  id: z.string(),
  projectId: z.string(),
  project: z.string(),
  workspace: z.string(),
  name: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  status: RunStatus,
  config: JsonObject,
  metadata: JsonObject,
  requirements: z.string(),
  summary: JsonObject,
  createdAt: IsoDate,
  finishedAt: IsoDate.nullable(),
  lastHeartbeatAt: IsoDate,
});
export type Run = z.infer<typeof Run>;

export const SeriesKind = z.enum(["scalar", "text", "image", "audio", "object3d", "other"]);
export const MetricSummary = z.object({
  key: z.string(),
  kind: SeriesKind,
  isSystem: z.boolean(),
  lastStep: z.number().int().nullable(),
  lastValue: MetricValue.nullable(),
  count: z.number().int(),
});
export type MetricSummary = z.infer<typeof MetricSummary>;

export const RunResponse = z.object({ run: Run });
export type RunResponse = z.infer<typeof RunResponse>;
export const RunDetailResponse = z.object({ run: Run, metrics: z.array(MetricSummary) });
export type RunDetailResponse = z.infer<typeof RunDetailResponse>;

export const RunSort = z.enum(["createdAt", "name", "status", "lastHeartbeatAt"]);
export const ListRunsQuery = PageQuery.extend({
  status: RunStatus.optional(),
  tag: Tag.optional(),
  name: z.string().max(200).optional(),
  sort: RunSort.default("createdAt"),
  order: z.enum(["asc", "desc"]).default("desc"),
});
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;
export const RunListItem = Run.extend({ metrics: z.array(MetricSummary) });
export const ListRunsResponse = z.object({ runs: z.array(RunListItem), nextCursor: z.string().nullable(), total: z.number().int() });
export type ListRunsResponse = z.infer<typeof ListRunsResponse>;

export const RunParams = z.object({ id: RunId });
