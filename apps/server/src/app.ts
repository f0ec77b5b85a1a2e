// buildApp(deps) registers plugins, then feature modules. Nothing runs at import; main.ts owns the
// process (env, database, listen, shutdown), tests call buildApp with their own deps.
import Fastify, { type FastifyInstance } from "fastify";
import cookie from "@fastify/cookie";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { Db } from "@swanhouse/db";
import type { Env } from "./env.js";
import { registerErrorHandler } from "./plugins/errors.js";
import { registerAuth } from "./plugins/auth.js";
import { registerOpenApi } from "./plugins/openapi.js";
import { registerRealtime, type Realtime } from "./plugins/socket.js";
import { createAccessService } from "./modules/access/access.service.js";
import { authRoutes } from "./modules/auth/auth.routes.js";
import { apiKeyRoutes } from "./modules/api-keys/api-keys.routes.js";
import { workspaceRoutes } from "./modules/workspaces/workspaces.routes.js";
import { projectRoutes } from "./modules/projects/projects.routes.js";
import { runRoutes } from "./modules/runs/runs.routes.js";
import { metricRoutes } from "./modules/metrics/metrics.routes.js";
import { createRunsService } from "./modules/runs/runs.service.js";
import { createMetricsService } from "./modules/metrics/metrics.service.js";
import { startHeartbeatReaper, type HeartbeatReaper } from "./modules/runs/heartbeat-reaper.js";
import { registerWeb } from "./plugins/web.js";
import { swanlabRoutes } from "./modules/swanlab/swanlab.routes.js";
import { jobRoutes } from "./modules/jobs/jobs.routes.js";
import { healthRoutes } from "./modules/health/health.routes.js";
import { webhookRoutes } from "./modules/webhooks/webhooks.routes.js";
import { createWebhooksService } from "./modules/webhooks/webhooks.service.js";
import { createMailService } from "./modules/mail/mail.service.js";
import { publicBase } from "./lib/links.js";
import { createJobsService } from "./modules/jobs/jobs.service.js";
import { createJobsRuntime, type JobsRuntime } from "./modules/jobs/jobs.runtime.js";
import { createJobQueue, type JobQueuePort } from "./modules/jobs/job-queue.js";
import { queueTarget } from "@swanhouse/queue";

export type Clock = { now: () => Date };
/** jobQueue: the fine-tune job queue; by default BullMQ on REDIS_URL, else on this database (opened lazily). */
export type AppDeps = { env: Env; db: Db; clock?: Clock; jobQueue?: JobQueuePort };

export type Services = ReturnType<typeof createServices>;

function createServices(deps: { env: Env; db: Db; clock: Clock; realtime: Realtime; jobQueue: JobQueuePort | undefined; log: (msg: string, err?: unknown) => void }) {
  const access = createAccessService(deps);
  const runs = createRunsService({ ...deps, access });
  const metrics = createMetricsService({ ...deps, access });
  const jobs = createJobsService({ ...deps, access, runs, queue: deps.jobQueue });
  const publicUrl = publicBase(deps.env);
  const webhooks = createWebhooksService({ ...deps, access, publicUrl, retrySeconds: deps.env.WEBHOOK_RETRY_SECONDS });
  const mail = createMailService({ ...deps, smtpUrl: deps.env.SMTP_URL, from: deps.env.MAIL_FROM, publicUrl });
  runs.onEnded(webhooks.runEnded);
  runs.onEnded(mail.runEnded);
  return { access, runs, metrics, jobs, webhooks, mail };
}

declare module "fastify" {
  interface FastifyInstance {
    services: Services;
    realtime: Realtime;
    deps: { env: Env; db: Db; clock: Clock };
    reaper: HeartbeatReaper;
    /** Started by main.ts: job rows follow their queue jobs and worker heartbeats. */
    jobsRuntime: JobsRuntime;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const clock = deps.clock ?? { now: () => new Date() };
  const app = Fastify({
    logger: deps.env.LOG_LEVEL === "silent" ? false : { level: deps.env.LOG_LEVEL },
    bodyLimit: deps.env.BODY_LIMIT_BYTES,
    trustProxy: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  await app.register(cookie);
  registerAuth(app, deps.db);
  await registerOpenApi(app);

  const realtime = await registerRealtime(app, { env: deps.env, db: deps.db });
  const jobQueue = deps.jobQueue ?? defaultJobQueue(deps);
  const services = createServices({ env: deps.env, db: deps.db, clock, realtime, jobQueue, log: (msg, err) => app.log.warn({ err }, msg) });
  app.decorate("services", services);
  app.decorate("realtime", realtime);
  app.decorate("deps", { env: deps.env, db: deps.db, clock });

  await app.register(
    async (api) => {
      await api.register(authRoutes);
      await api.register(apiKeyRoutes);
      await api.register(workspaceRoutes);
      await api.register(projectRoutes);
      await api.register(runRoutes);
      await api.register(metricRoutes);
      await api.register(jobRoutes);
      await api.register(healthRoutes);
      await api.register(webhookRoutes);
    },
    { prefix: "/api/v1" },
  );
  await app.register(swanlabRoutes); // official SwanLab SDK under /api, media reads under /api/v1
  await registerWeb(app, deps.env);

  const reaper = startHeartbeatReaper({ db: deps.db, env: deps.env, clock, runs: services.runs });
  app.decorate("reaper", reaper);
  const jobsRuntime = createJobsRuntime({ jobs: services.jobs, queue: jobQueue, log: (msg, err) => app.log.warn({ err }, msg) });
  app.decorate("jobsRuntime", jobsRuntime);
  app.addHook("onClose", async () => {
    reaper.stop();
    await jobsRuntime.stop();
    await services.webhooks.close();
    await services.mail.close();
  });
  return app;
}

function defaultJobQueue(deps: AppDeps): JobQueuePort | undefined {
  const databaseUrl = (deps.db.pool as { options?: { connectionString?: string } }).options?.connectionString;
  if (!deps.env.REDIS_URL && !databaseUrl) return undefined;
  return createJobQueue(queueTarget({ redisUrl: deps.env.REDIS_URL, databaseUrl }));
}
