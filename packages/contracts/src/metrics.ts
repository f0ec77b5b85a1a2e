// Ingestion (points, texts, console logs) and reading series back, downsampled on the server.
import { z } from "zod";
import { IsoDate, MetricValue, PageQuery } from "./common.js";

export const MAX_LOG_ENTRIES = 10_000;
/** The limits below are exported for the server's fast path over metric entries, which must agree. */
export const METRIC_KEY_MAX = 255;
export const METRIC_KEY_PATTERN = /^[^\s\u0000-\u001f][^\u0000-\u001f]*$/;
export const STEP_MAX = 2_147_483_647;
/** The largest JavaScript date, in epoch milliseconds. */
export const WALL_TIME_MAX_MS = 8.64e15;
export const MetricKey = z.string().min(1).max(METRIC_KEY_MAX).regex(METRIC_KEY_PATTERN, "no control characters");
export const Step = z.number().int().min(0).max(STEP_MAX);
/** Epoch milliseconds (up to the largest JS date) or an ISO-8601 string. */
export const WallTime = z.union([z.number().finite().nonnegative().max(WALL_TIME_MAX_MS), z.iso.datetime({ offset: true })]);
/** PostgreSQL text cannot hold NUL: refuse it here (400) rather than fail the insert (500). */
const NoNul = (max: number) => z.string().max(max).regex(/^[^\u0000]*$/, "no NUL characters");

export const MetricInput = z.object({ key: MetricKey, step: Step, value: MetricValue, time: WallTime.optional() });
export type MetricInput = z.infer<typeof MetricInput>;
export const TextInput = z.object({
  key: MetricKey,
  step: Step,
  text: NoNul(1_000_000),
  caption: NoNul(10_000).optional(),
  index: z.number().int().min(0).max(10_000).optional(),
  time: WallTime.optional(),
});
export type TextInput = z.infer<typeof TextInput>;
export const LogLevel = z.enum(["debug", "info", "warning", "error"]);
/** `seq` (optional, per run) makes a re-sent log line a duplicate that is ignored. */
export const LogInput = z.object({
  level: LogLevel.default("info"),
  message: NoNul(100_000),
  time: WallTime.optional(),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type LogInput = z.infer<typeof LogInput>;

export const LogBody = z
  .object({
    metrics: z.array(MetricInput).optional(),
    texts: z.array(TextInput).optional(),
    logs: z.array(LogInput).optional(),
  })
  .refine(
    (b) => (b.metrics?.length ?? 0) + (b.texts?.length ?? 0) + (b.logs?.length ?? 0) <= MAX_LOG_ENTRIES,
    { message: `at most ${MAX_LOG_ENTRIES} entries a request` },
  );
export type LogBody = z.infer<typeof LogBody>;
export const LogResponse = z.object({ accepted: z.object({ metrics: z.number().int(), texts: z.number().int(), logs: z.number().int() }) });
export type LogResponse = z.infer<typeof LogResponse>;

export const Point = z.object({ step: z.number().int(), value: MetricValue, time: IsoDate });
export type Point = z.infer<typeof Point>;

export const SeriesQuery = z.object({
  key: MetricKey,
  maxPoints: z.coerce.number().int().min(2).max(100_000).default(2000),
  minStep: z.coerce.number().int().min(0).optional(),
  maxStep: z.coerce.number().int().min(0).optional(),
});
export type SeriesQuery = z.infer<typeof SeriesQuery>;
export const SeriesResponse = z.object({
  key: z.string(),
  total: z.number().int(),
  downsampled: z.boolean(),
  points: z.array(Point),
});
export type SeriesResponse = z.infer<typeof SeriesResponse>;

export const TextItem = z.object({ key: z.string(), step: z.number().int(), index: z.number().int(), text: z.string(), caption: z.string().nullable(), time: IsoDate });
export type TextItem = z.infer<typeof TextItem>;
export const TextsQuery = z.object({ key: MetricKey, step: z.coerce.number().int().min(0).optional() });
export const TextsResponse = z.object({ key: z.string(), steps: z.array(z.number().int()), items: z.array(TextItem) });
export type TextsResponse = z.infer<typeof TextsResponse>;

export const LogLine = z.object({ seq: z.number().int(), level: z.string(), message: z.string(), time: IsoDate });
export type LogLine = z.infer<typeof LogLine>;
export const LogsQuery = PageQuery.extend({ afterSeq: z.coerce.number().int().min(-1).optional() });
export const LogsResponse = z.object({ logs: z.array(LogLine), nextCursor: z.string().nullable() });
export type LogsResponse = z.infer<typeof LogsResponse>;
