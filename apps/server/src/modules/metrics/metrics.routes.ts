// /api/v1/runs/:id/{log, metrics, texts, logs, export.csv}.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ApiError, LogBody, LogResponse, LogsQuery, LogsResponse, RunParams, SeriesQuery, SeriesResponse, TextsQuery, TextsResponse } from "@swanhouse/contracts";
import { actorOf, apiKeyHash, bearerToken, requireUser } from "../../plugins/auth.js";
import { logValidatorCompiler } from "./log-body.js";

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError };

export const metricRoutes: FastifyPluginAsyncZod = async (app) => {
  const metrics = app.services.metrics;
  // Log bodies keep no field they do not know (log-body.ts refuses or drops the rest), so the default
  // parser's prototype-poisoning scan (two regexes over ~70 KB at 1k points) buys nothing here.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, app.getDefaultJsonParser("ignore", "ignore"));
  app.post("/runs/:id/log", { config: { apiKeyInHandler: true }, schema: { tags: ["ingestion"], summary: "Log metrics, texts and console lines (≤ 10,000 entries, all or nothing, duplicates ignored)", params: RunParams, body: LogBody, response: { 200: LogResponse, ...errors } }, validatorCompiler: logValidatorCompiler }, async (req) => {
    const key = bearerToken(req.headers.authorization);
    const keyHash = key && apiKeyHash(key);
    if (keyHash) {
      const stored = await metrics.logPointsWithKey(keyHash, req.params.id, req.body);
      if (stored) {
        await app.actors.keyUsed(stored.keyId);
        return stored.response;
      }
    }
    await actorOf(req); // the general path: who is calling, then access, then the insert
    return metrics.log(requireUser(req), req.params.id, req.body);
  });
  app.get("/runs/:id/metrics", { schema: { tags: ["runs"], summary: "One scalar series, downsampled to maxPoints (min, max and last of each bucket)", params: RunParams, querystring: SeriesQuery, response: { 200: SeriesResponse, ...errors } } }, async (req) =>
    metrics.series(req.actor, req.params.id, req.query),
  );
  app.get("/runs/:id/texts", { schema: { tags: ["runs"], params: RunParams, querystring: TextsQuery, response: { 200: TextsResponse, ...errors } } }, async (req) =>
    metrics.texts(req.actor, req.params.id, req.query.key, req.query.step),
  );
  app.get("/runs/:id/logs", { schema: { tags: ["runs"], params: RunParams, querystring: LogsQuery, response: { 200: LogsResponse, ...errors } } }, async (req) =>
    metrics.logs(req.actor, req.params.id, req.query),
  );
  app.get("/runs/:id/export.csv", { schema: { tags: ["runs"], summary: "All scalars of a run as CSV (step + one column per key)", params: RunParams } }, async (req, reply) => {
    const body = await metrics.csv(req.actor, req.params.id);
    return reply.header("content-type", "text/csv; charset=utf-8").header("content-disposition", `attachment; filename="${req.params.id}.csv"`).send(body);
  });
};
