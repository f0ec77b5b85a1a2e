// Environment → typed Env. No default secrets; DATABASE_URL unset means "start embedded PostgreSQL".
import path from "node:path";
import { z } from "zod";

const BoolEnv = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes");

const OptionalString = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

export const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
  HOST: z.string().default("0.0.0.0"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** The URL people use to reach this server (printed at start, shown in the dashboard). */
  PUBLIC_URL: z.string().url().optional(),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  SWANHOUSE_DATA_DIR: z.string().default(".swanlab-data"),
  EMBEDDED_PG_PORT: z.coerce.number().int().default(54329),
  /** A running run with no heartbeat for this long is marked crashed. */
  HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number().int().min(5).default(600),
  SESSION_TTL_DAYS: z.coerce.number().int().min(1).default(30),
  COOKIE_SECURE: BoolEnv.default(false),
  BODY_LIMIT_BYTES: z.coerce.number().int().default(32 * 1024 * 1024),
  /** "closed": only the first account signs up; the operator makes the others (npm run create-user). */
  SIGNUP: z.enum(["open", "closed"]).default("open"),
  LOGIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Waits before each retry of a webhook delivery that failed (refused, timed out, 5xx or 429). */
  WEBHOOK_RETRY_SECONDS: z
    .string()
    .default("2,15,60")
    .transform((s) => s.split(",").filter((x) => x.trim()).map(Number))
    .refine((xs) => xs.every((x) => Number.isFinite(x) && x >= 0), "a comma-separated list of seconds"),
  /** Outgoing mail (run-end notices): smtp://user:pass@host:587 or smtps://…:465; unset means no mail. */
  SMTP_URL: OptionalString,
  MAIL_FROM: z.string().default("Swanhouse <swanhouse@localhost>"),
  /** A running fine-tune job whose worker sent no heartbeat for this long is failed. */
  JOB_WORKER_TIMEOUT_SECONDS: z.coerce.number().int().min(2).default(60),
  /** main.ts starts a job worker (apps/worker) beside the server; 0 where workers run elsewhere (docker-compose). */
  START_WORKER: BoolEnv.default(true),
  /** Where the built dashboard lives (served at /). */
  WEB_DIST_DIR: z.string().optional(),
  /** Where uploaded files live: "local" (under the data dir) or "s3"; unset means s3 when S3_BUCKET is set. */
  STORAGE_BACKEND: z.enum(["local", "s3"]).optional(),
  S3_BUCKET: OptionalString,
  /** Any S3-compatible endpoint (MinIO, R2, Ceph…); unset means AWS. */
  S3_ENDPOINT: OptionalString.pipe(z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional()),
  S3_REGION: z.string().min(1).default("us-east-1"),
  /** Both or neither; neither means the AWS default credential chain (AWS_* variables, instance role). */
  S3_ACCESS_KEY_ID: OptionalString,
  S3_SECRET_ACCESS_KEY: OptionalString,
  /** `<endpoint>/<bucket>/<key>` URLs instead of `<bucket>.<endpoint>/<key>` (MinIO and most self-hosted stores). */
  S3_FORCE_PATH_STYLE: BoolEnv.default(false),
  /** Prepended to every object key, e.g. `swanhouse/`. */
  S3_PREFIX: OptionalString,
});
export type Env = z.infer<typeof EnvSchema>;

export const storageBackend = (env: Pick<Env, "STORAGE_BACKEND" | "S3_BUCKET">): "local" | "s3" => env.STORAGE_BACKEND ?? (env.S3_BUCKET ? "s3" : "local");

/** Settings that are only wrong together. */
function crossCheck(env: Env): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  if (storageBackend(env) === "s3") {
    if (!env.S3_BUCKET) out.push({ path: "S3_BUCKET", message: "required when STORAGE_BACKEND=s3" });
    if (!env.S3_ACCESS_KEY_ID !== !env.S3_SECRET_ACCESS_KEY) {
      out.push({ path: env.S3_ACCESS_KEY_ID ? "S3_SECRET_ACCESS_KEY" : "S3_ACCESS_KEY_ID", message: "set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (AWS default credentials)" });
    }
  }
  return out;
}

export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join("\n")}`);
  }
  const problems = crossCheck(parsed.data);
  if (problems.length) throw new Error(`invalid environment:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`);
  return parsed.data;
}

/** The embedded PostgreSQL's folder. `npm start` runs in apps/server; INIT_CWD is where the user typed
 * it (the repo root), so a relative SWANHOUSE_DATA_DIR is taken from there. */
export function embeddedDataDir(env: Pick<Env, "SWANHOUSE_DATA_DIR">): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), env.SWANHOUSE_DATA_DIR);
}
