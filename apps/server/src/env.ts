// Environment → typed Env. No default secrets; DATABASE_URL unset means "start embedded PostgreSQL".
import { z } from "zod";

const BoolEnv = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes");

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
  LOGIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** A running fine-tune job whose worker sent no heartbeat for this long is failed. */
  JOB_WORKER_TIMEOUT_SECONDS: z.coerce.number().int().min(2).default(60),
  /** main.ts starts a job worker (apps/worker) beside the server; 0 where workers run elsewhere (docker-compose). */
  START_WORKER: BoolEnv.default(true),
  /** Where the built dashboard lives (served at /). */
  WEB_DIST_DIR: z.string().optional(),
});
export type Env = z.infer<typeof EnvSchema>;

export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
