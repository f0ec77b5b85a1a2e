// /api/v1/jobs: start a LoRA fine-tune (validated, enqueued), list, get, cancel; /jobs/options feeds the
// "New fine-tune" form (models the online workers have, init-random demos, workers, recipe defaults).
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ApiError, CreateJobBody, JobOptionsResponse, JobParams, JobResponse, ListJobsQuery, ListJobsResponse } from "@swanhouse/contracts";
import { requireUser } from "../../plugins/auth.js";

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError };

export const jobRoutes: FastifyPluginAsyncZod = async (app) => {
  const jobs = app.services.jobs;
  app.post("/jobs", { schema: { tags: ["jobs"], summary: "Start a LoRA fine-tune job", body: CreateJobBody, response: { 201: JobResponse, ...errors } } }, async (req, reply) => {
    const job = await jobs.create(requireUser(req), req.body);
    return reply.status(201).send({ job });
  });
  app.get("/jobs", { schema: { tags: ["jobs"], summary: "Jobs in the caller's workspaces, newest first", querystring: ListJobsQuery, response: { 200: ListJobsResponse, ...errors } } }, async (req) =>
    jobs.list(requireUser(req), req.query),
  );
  app.get("/jobs/options", { schema: { tags: ["jobs"], summary: "Models, workers and recipe defaults for the job form", response: { 200: JobOptionsResponse, ...errors } } }, async (req) => {
    requireUser(req);
    return jobs.options();
  });
  app.get("/jobs/:id", { schema: { tags: ["jobs"], params: JobParams, response: { 200: JobResponse, ...errors } } }, async (req) => ({
    job: await jobs.get(req.actor, req.params.id),
  }));
  app.post("/jobs/:id/cancel", { schema: { tags: ["jobs"], summary: "Cancel a queued or running job", params: JobParams, body: z.object({}).passthrough().nullish(), response: { 200: JobResponse, ...errors } } }, async (req) => {
    requireUser(req);
    return { job: await jobs.cancel(req.actor, req.params.id) };
  });
};
