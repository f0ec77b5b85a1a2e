// /api/v1/runs: create, read, update (merge), heartbeat, finish, delete; /api/v1/projects/:workspace/:project/runs: list.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  ApiError, CreateRunBody, FinishRunBody, ListRunsQuery, ListRunsResponse, OkResponse, ProjectParams,
  RunDetailResponse, RunParams, RunResponse, UpdateRunBody,
} from "@swanhouse/contracts";
import { requireUser } from "../../plugins/auth.js";

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError };

export const runRoutes: FastifyPluginAsyncZod = async (app) => {
  const runs = app.services.runs;
  app.post("/runs", { schema: { tags: ["ingestion"], summary: "Create a run (idempotent with a client id)", body: CreateRunBody, response: { 200: RunResponse, 201: RunResponse, ...errors } } }, async (req, reply) => {
    const { run, created } = await runs.create(requireUser(req), req.body);
    return reply.status(created ? 201 : 200).send({ run });
  });
  app.get("/runs/:id", { schema: { tags: ["runs"], summary: "A run with the last value of each metric", params: RunParams, response: { 200: RunDetailResponse, ...errors } } }, async (req) =>
    runs.get(req.actor, req.params.id),
  );
  app.patch("/runs/:id", { schema: { tags: ["ingestion"], summary: "Update a run; config, metadata and summary are merged", params: RunParams, body: UpdateRunBody, response: { 200: RunResponse, ...errors } } }, async (req) => {
    requireUser(req);
    return { run: await runs.update(req.actor, req.params.id, req.body) };
  });
  app.post("/runs/:id/heartbeat", { schema: { tags: ["ingestion"], params: RunParams, body: z.object({}).passthrough().nullish(), response: { 200: RunResponse, ...errors } } }, async (req) => {
    requireUser(req);
    return { run: await runs.heartbeat(req.actor, req.params.id) };
  });
  app.post("/runs/:id/finish", { schema: { tags: ["ingestion"], params: RunParams, body: FinishRunBody.nullish(), response: { 200: RunResponse, ...errors } } }, async (req) => {
    requireUser(req);
    return { run: await runs.finish(req.actor, req.params.id, req.body?.state ?? "finished") };
  });
  app.delete("/runs/:id", { schema: { tags: ["runs"], summary: "Delete a run and all it logged (owners, admins, or the member who created it)", params: RunParams, response: { 200: OkResponse, ...errors } } }, async (req) => {
    await runs.remove(requireUser(req), req.params.id);
    return { ok: true as const };
  });
  app.get("/projects/:workspace/:project/runs.csv", { schema: { tags: ["runs"], summary: "The project's runs as CSV: fields, config (config.<key>) and the last value of each metric", params: ProjectParams } }, async (req, reply) => {
    const body = await runs.exportCsv(req.actor, req.params.workspace, req.params.project);
    const name = `${req.params.workspace}-${req.params.project}-runs.csv`.replace(/[^A-Za-z0-9._-]/g, "_");
    return reply.header("content-type", "text/csv; charset=utf-8").header("content-disposition", `attachment; filename="${name}"`).send(body);
  });
  app.get("/projects/:workspace/:project/runs", { schema: { tags: ["runs"], summary: "A project's runs: filter, sort, paginate", params: ProjectParams, querystring: ListRunsQuery, response: { 200: ListRunsResponse, ...errors } } }, async (req) =>
    runs.list(req.actor, req.params.workspace, req.params.project, req.query),
  );
};
