// Shapes shared by every resource: errors, ids, metric values, pagination.
import { z } from "zod";

/** Every 4xx/5xx answer. `field` names the offending input (dotted path) when there is one. */
export const ApiError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;

export const Name = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '_', '-' and '.'");
export const Username = z.string().trim().min(2).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, "use letters, digits, '_' and '-'");
export const RunId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, "use letters, digits, '_' and '-'");
export const Uuid = z.uuid();
export const IsoDate = z.string();

/** JSON has no NaN or ±Infinity: they travel as these strings (losses do diverge). */
// Literals, not z.enum: the declaration emit of an enum keyed "-Infinity" loses the type.
export const NonFinite = z.union([z.literal("NaN"), z.literal("Infinity"), z.literal("-Infinity")]);
export const MetricValue = z.union([z.number(), NonFinite]);
export type MetricValue = z.infer<typeof MetricValue>;

export function toWireValue(v: number): MetricValue {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  return v;
}
export function fromWireValue(v: MetricValue): number {
  return typeof v === "number" ? v : v === "NaN" ? NaN : v === "Infinity" ? Infinity : -Infinity;
}

/** GET /api/v1/health: 200 when the process serves and its database answers, else 503. */
export const HealthResponse = z.object({ status: z.enum(["ok", "unavailable"]), database: z.string() });
export type HealthResponse = z.infer<typeof HealthResponse>;

export const JsonObject = z.record(z.string(), z.unknown());
export type JsonObject = z.infer<typeof JsonObject>;

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export const OkResponse = z.object({ ok: z.literal(true) });
