// /api/v1/health, for load balancers, `docker compose` and uptime checks: no credentials needed (it
// says nothing about any resource), 503 while PostgreSQL does not answer so traffic goes elsewhere.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { HealthResponse } from "@swanhouse/contracts";

const DB_TIMEOUT_MS = 2_000;

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.deps;
  app.get("/health", { schema: { tags: ["health"], summary: "Liveness and database reachability (no credentials)", response: { 200: HealthResponse, 503: HealthResponse } } }, async (_req, reply) => {
    try {
      await withTimeout(db.pool.query("SELECT 1"), DB_TIMEOUT_MS);
      return { status: "ok" as const, database: "ok" };
    } catch (err) {
      app.log.warn({ err }, "health: database check failed");
      return reply.status(503).send({ status: "unavailable" as const, database: "not answering" });
    }
  });
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
