// Validation of POST /runs/:id/log bodies. LogBody (zod, in the contracts package) is the contract;
// checking 10,000 metric entries with it costs ~5–9 ms a request, more than everything else the server
// does around the insert. So the usual metric entry (an object with a valid key, an integer step, a
// finite number and an optional epoch-ms time, nothing else) is checked by a plain loop over the same
// limits; any other entry (NaN as a string, ISO times, extra fields, a mistake) sends the whole body
// through LogBody, which also words the errors. log-body.test.ts checks the loop never accepts what
// LogBody refuses.
import { validatorCompiler } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  LogBody, LogInput, MAX_LOG_ENTRIES, METRIC_KEY_MAX, METRIC_KEY_PATTERN, STEP_MAX, TextInput, WALL_TIME_MAX_MS, type MetricInput,
} from "@swanhouse/contracts";
import type { FastifySchemaCompiler } from "fastify";

const Rest = z.object({ texts: z.array(TextInput).optional(), logs: z.array(LogInput).optional() });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The key validated last: entries of one batch mostly repeat a handful of keys. */
let lastKey = "";

function isPlainMetric(m: unknown): m is MetricInput {
  if (!isObject(m)) return false;
  for (const f in m) if (f !== "key" && f !== "step" && f !== "value" && f !== "time") return false;
  const { key, step, value, time } = m;
  if (typeof key !== "string") return false;
  if (key !== lastKey) {
    if (key.length < 1 || key.length > METRIC_KEY_MAX || !METRIC_KEY_PATTERN.test(key)) return false;
    lastKey = key;
  }
  if (typeof step !== "number" || !Number.isInteger(step) || step < 0 || step > STEP_MAX) return false;
  if (typeof value !== "number" || !Number.isFinite(value)) return false;
  if (time === undefined) return true;
  return typeof time === "number" && Number.isFinite(time) && time >= 0 && time <= WALL_TIME_MAX_MS;
}

/** The body as LogBody would parse it, or undefined when it is not the usual shape (then ask LogBody). */
export function parseUsualLogBody(body: unknown): LogBody | undefined {
  if (!isObject(body)) return undefined;
  for (const f in body) if (f !== "metrics" && f !== "texts" && f !== "logs") return undefined;
  const { metrics, texts, logs } = body;
  if (metrics !== undefined) {
    if (!Array.isArray(metrics)) return undefined;
    for (let i = 0; i < metrics.length; i++) if (!isPlainMetric(metrics[i])) return undefined;
  }
  const rest = texts === undefined && logs === undefined ? { success: true as const, data: {} } : Rest.safeParse({ texts, logs });
  if (!rest.success) return undefined;
  const out: LogBody = metrics === undefined ? rest.data : { metrics: metrics as MetricInput[], ...rest.data };
  const entries = (out.metrics?.length ?? 0) + (out.texts?.length ?? 0) + (out.logs?.length ?? 0);
  return entries <= MAX_LOG_ENTRIES ? out : undefined;
}

/** Route-level validator compiler: the fast path for the body, zod for everything else. */
export function logValidatorCompiler<T>(route: Parameters<FastifySchemaCompiler<T>>[0]): ReturnType<FastifySchemaCompiler<T>> {
  const zod = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
  if (route.httpPart !== "body") return zod;
  return (data: unknown) => {
    const usual = parseUsualLogBody(data);
    return usual ? { value: usual } : zod(data);
  };
}
