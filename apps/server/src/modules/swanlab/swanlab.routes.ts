// The official SwanLab SDK's endpoints under /api (paths as the SDK writes them, see
// shared/swanlab-protocol.md §3) and the media read routes under /api/v1. Errors under /api carry
// `{code, message}` at the top (what 0.8+ print) besides the house `error` object.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, type FastifyPluginAsyncZod, type ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  ApiError, ListMediaQuery, ListMediaResponse, RunParams,
  SwanlabAck, SwanlabColumnListResponse, SwanlabColumnsBody, SwanlabCreateExperimentBody, SwanlabCreateProjectBody,
  SwanlabCreateProjectInWorkspaceBody, SwanlabError, SwanlabExperiment, SwanlabExperimentParams, SwanlabLoginResponse,
  SwanlabMetricsBody, SwanlabMetricsResponse, SwanlabPresignBody, SwanlabPresignResponse, SwanlabProfileBody,
  SwanlabProject, SwanlabProjectParams, SwanlabRunParams, SwanlabSeriesBody, SwanlabStateBody, SwanlabSummariesResponse,
  SwanlabWorkspaceParams, SwanlabFilesPrepareBody, SwanlabFilesCompleteBody, SwanlabMultipartPrepareBody,
  SwanlabMultipartPrepareResponse, SwanlabMultipartCompleteBody, ListRunFilesResponse,
} from "@swanhouse/contracts";
import { requireUser } from "../../plugins/auth.js";
import { HttpError, Unauthorized } from "../../lib/errors.js";
import { createStorage } from "./storage.js";
import { createSwanlabService, SDK_SESSION_DAYS, type SwanlabService } from "./swanlab.service.js";
import { createSavedFilesService } from "./saved-files.service.js";
import { createUploadUrls, type UploadUrls } from "./upload-urls.js";

type SavedFilesService = ReturnType<typeof createSavedFilesService>;

const errors = { 400: SwanlabError, 401: SwanlabError, 403: SwanlabError, 404: SwanlabError, 409: SwanlabError };
const flagOf = (req: FastifyRequest) => {
  const h = req.headers["flagid"];
  return typeof h === "string" && h ? h : undefined;
};

/** A per-install secret for upload URLs, kept in the data dir so URLs survive a restart. */
async function loadUploadSecret(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, "upload-secret");
  try {
    const hex = (await readFile(file, "utf8")).trim();
    if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, "hex");
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
  const secret = randomBytes(32);
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, secret.toString("hex"), { mode: 0o600 });
  return secret;
}

function sdkErrorHandler(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let status = 500;
    let code = "internal";
    let message = "internal server error";
    if (err instanceof HttpError) [status, code, message] = [err.statusCode, err.code, err.message];
    else if (hasZodFastifySchemaValidationErrors(err)) [status, code, message] = [400, "validation_error", err.message];
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) [status, code, message] = [err.statusCode, err.code ?? "bad_request", err.message];
    else req.log.error({ err }, "unhandled error");
    return reply.status(status).send({ code, message, error: { code, message } });
  });
}

type Parts = { svc: SwanlabService; files: SavedFilesService; uploads: UploadUrls; publicUrl: string | undefined };
const baseUrlOf = (req: FastifyRequest, publicUrl: string | undefined) => (publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/+$/, "");

const sdkRoutes = ({ svc, files, uploads, publicUrl }: Parts): FastifyPluginAsyncZod => async (app) => {
  sdkErrorHandler(app);

  app.get("/", { schema: { hide: true } }, async (_req, reply) => reply.type("text/plain").send("OK"));

  app.post("/login/api_key", { schema: { tags: ["swanlab"], summary: "SwanLab SDK login: raw API key in Authorization → sid cookie", response: { 200: SwanlabLoginResponse, ...errors } } }, async (req) => {
    const actor = requireUser(req);
    if (actor.via !== "apiKey") throw Unauthorized("send the API key in the Authorization header");
    return svc.login(actor);
  });

  app.post("/project", { schema: { tags: ["swanlab"], body: SwanlabCreateProjectBody, response: { 201: SwanlabProject, 409: SwanlabProject, 400: SwanlabError, 401: SwanlabError, 403: SwanlabError, 404: SwanlabError } } }, async (req, reply) => {
    const actor = requireUser(req);
    const { project, created } = await svc.createProject(actor, req.body.username ?? actor.username, req.body.name, req.body.visibility);
    return reply.status(created ? 201 : 409).send(project);
  });
  app.post("/projects/:username", { schema: { tags: ["swanlab"], params: SwanlabWorkspaceParams, body: SwanlabCreateProjectInWorkspaceBody, response: { 200: SwanlabProject, 201: SwanlabProject, ...errors } } }, async (req, reply) => {
    const { project, created } = await svc.createProject(requireUser(req), req.params.username, req.body.name, req.body.visibility);
    return reply.status(created ? 201 : 200).send(project);
  });
  app.get("/project/:username/:project", { schema: { tags: ["swanlab"], params: SwanlabProjectParams, response: { 200: SwanlabProject, ...errors } } }, async (req) =>
    svc.getProject(req.actor, req.params.username, req.params.project),
  );

  app.post("/project/:username/:project/experiment", { schema: { tags: ["swanlab"], summary: "201 new, 200 existing (resume)", params: SwanlabProjectParams, body: SwanlabCreateExperimentBody, response: { 200: SwanlabExperiment, 201: SwanlabExperiment, ...errors } } }, async (req, reply) => {
    const { created, experiment } = await svc.createExperiment(requireUser(req), req.params.username, req.params.project, req.body);
    return reply.status(created ? 201 : 200).send(experiment);
  });
  app.get("/project/:username/:project/runs/:cuid", { schema: { tags: ["swanlab"], params: SwanlabRunParams, response: { 200: SwanlabExperiment.omit({ flagId: true }), ...errors } } }, async (req) =>
    svc.getExperiment(req.actor, req.params.username, req.params.project, req.params.cuid),
  );
  app.put("/project/:username/:project/runs/:cuid/profile", { schema: { tags: ["swanlab"], summary: "Merges config (unwrapped), metadata, requirements", params: SwanlabRunParams, body: SwanlabProfileBody, response: { 200: SwanlabAck, 202: SwanlabAck, ...errors } } }, async (req, reply) => {
    const r = await svc.profile(requireUser(req), req.params.username, req.params.project, req.params.cuid, req.body, flagOf(req));
    return reply.status(r.takenOver ? 202 : 200).send({});
  });
  app.put("/project/:username/:project/runs/:cuid/state", { schema: { tags: ["swanlab"], params: SwanlabRunParams, body: SwanlabStateBody, response: { 200: SwanlabAck, ...errors } } }, async (req) => {
    await svc.setState(requireUser(req), req.params.username, req.params.project, req.params.cuid, req.body);
    return {};
  });

  app.post("/experiment/:cuid/columns", { schema: { tags: ["swanlab"], params: SwanlabExperimentParams, body: SwanlabColumnsBody, response: { 201: SwanlabAck, 202: SwanlabAck, ...errors } } }, async (req, reply) => {
    const r = await svc.columns(requireUser(req), req.params.cuid, flagOf(req));
    return reply.status(r.takenOver ? 202 : 201).send({});
  });
  app.get("/experiment/:cuid/column", { schema: { tags: ["swanlab"], params: SwanlabExperimentParams, response: { 200: SwanlabColumnListResponse, ...errors } } }, async (req) =>
    svc.columnList(req.actor, req.params.cuid),
  );
  app.post("/projects/:username/:project/series", { schema: { tags: ["swanlab"], params: SwanlabProjectParams, body: SwanlabSeriesBody, response: { 201: SwanlabAck, ...errors } } }, async (req, reply) => {
    await svc.series(requireUser(req), req.params.username, req.params.project);
    return reply.status(201).send({});
  });

  app.post("/house/metrics", { schema: { tags: ["swanlab"], summary: "scalar, media and log records; re-sent batches are no-ops", body: SwanlabMetricsBody, response: { 200: SwanlabMetricsResponse, 202: SwanlabAck, ...errors } } }, async (req, reply) => {
    const r = await svc.ingest(requireUser(req), req.body, flagOf(req));
    if (r.takenOver) return reply.status(202).send({});
    return { accepted: r.accepted, skipped: r.skipped };
  });
  app.post("/house/experiments/:cuid/heartbeat", { schema: { tags: ["swanlab"], params: SwanlabExperimentParams, body: z.unknown().optional(), response: { 200: SwanlabAck, ...errors } } }, async (req) => {
    await svc.heartbeat(requireUser(req), req.params.cuid);
    return {};
  });
  app.get("/house/metrics/summaries/:projectCuid/:cuid", { schema: { tags: ["swanlab"], params: z.object({ projectCuid: z.string().max(512), cuid: z.string().min(1).max(512) }), response: { 200: SwanlabSummariesResponse, ...errors } } }, async (req) =>
    svc.summaries(req.actor, req.params.cuid),
  );

  app.post("/resources/presigned/put", { schema: { tags: ["swanlab"], body: SwanlabPresignBody, response: { 200: SwanlabPresignResponse, ...errors } } }, async (req) => {
    requireUser(req);
    return svc.presign(req.actor, req.body.experimentId, req.body.paths, baseUrlOf(req, publicUrl));
  });

  // swanlab.save() (0.7.15+)
  app.post("/experiment/:cuid/files/prepare", { schema: { tags: ["swanlab"], params: SwanlabExperimentParams, body: SwanlabFilesPrepareBody, response: { 200: SwanlabPresignResponse, ...errors } } }, async (req) =>
    files.prepare(requireUser(req), req.params.cuid, req.body.files, baseUrlOf(req, publicUrl)),
  );
  app.post("/experiment/:cuid/files/complete", { schema: { tags: ["swanlab"], params: SwanlabExperimentParams, body: SwanlabFilesCompleteBody, response: { 201: SwanlabAck, ...errors } } }, async (req, reply) =>
    reply.status(201).send(await files.complete(requireUser(req), req.params.cuid, req.body.files)),
  );
  app.post("/experiment/:cuid/files/prepare-multipart", { schema: { tags: ["swanlab"], params: SwanlabExperimentParams, body: SwanlabMultipartPrepareBody, response: { 200: SwanlabMultipartPrepareResponse, ...errors } } }, async (req) =>
    files.prepareMultipart(requireUser(req), req.params.cuid, req.body.files, baseUrlOf(req, publicUrl)),
  );
  app.post("/experiment/:cuid/files/complete-multipart", { schema: { tags: ["swanlab"], params: SwanlabExperimentParams, body: SwanlabMultipartCompleteBody, response: { 201: SwanlabAck, ...errors } } }, async (req, reply) =>
    reply.status(201).send(await files.completeMultipart(requireUser(req), req.params.cuid, req.body.files)),
  );

  // The PUT target: any content type, raw bytes, no cookie (the signed token authenticates it).
  await app.register(async (scope) => {
    const upload = scope.withTypeProvider<ZodTypeProvider>();
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    upload.put("/upload", { schema: { hide: true, querystring: z.object({ token: z.string().min(1).max(4096) }) } }, async (req, reply) => {
      const { etag } = await uploads.accept(req.query.token, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
      return reply.status(200).header("etag", etag).send({});
    });
  });
};

const mediaRoutes = (svc: SwanlabService, files: SavedFilesService): FastifyPluginAsyncZod => async (app) => {
  const errs = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError };
  app.get("/runs/:id/media", { schema: { tags: ["runs"], summary: "Media files of a run (images, audio…) for a gallery", params: RunParams, querystring: ListMediaQuery, response: { 200: ListMediaResponse, ...errs } } }, async (req) =>
    ({ media: await svc.listMedia(req.actor, req.params.id, req.query) }),
  );
  app.get("/runs/:id/files", { schema: { tags: ["runs"], summary: "Files saved with swanlab.save(); bytes at media/~files/<path>", params: RunParams, response: { 200: ListRunFilesResponse, ...errs } } }, async (req) =>
    ({ files: await files.list(req.actor, req.params.id) }),
  );
  app.get("/runs/:id/media/*", { schema: { tags: ["runs"], summary: "The bytes of one media file (path from the list)", params: RunParams.extend({ "*": z.string().min(1).max(512) }) } }, async (req, reply) => {
    const { bytes, contentType } = await svc.readMedia(req.actor, req.params.id, req.params["*"]);
    return reply.type(contentType).header("cache-control", "private, max-age=31536000, immutable").send(bytes);
  });
};

/** Registered once at the root by app.ts: /api (SDK wire protocol) and /api/v1 (media reads). */
export const swanlabRoutes: FastifyPluginAsyncZod = async (app) => {
  const { env, db, clock } = app.deps;
  const storage = await createStorage(env);
  // A deleted run's files go with it: logged media and saved files, and uploads still staged.
  // The rows are gone by then: a storage failure is logged, not answered as a failed delete.
  app.services.runs.onDeleted(async (runIds) => {
    for (const id of runIds) {
      for (const key of [`media/${id}`, `uploads/${id}`]) {
        await storage.remove(key).catch((err: unknown) => app.log.warn({ err, key }, "could not remove a deleted run's files"));
      }
    }
  });
  const uploads = createUploadUrls({ clock, storage, secret: () => loadUploadSecret(env.SWANHOUSE_DATA_DIR) });
  const svc = createSwanlabService({ db, clock, services: app.services, storage, uploads, sessionTtlDays: Math.max(env.SESSION_TTL_DAYS, SDK_SESSION_DAYS) });
  const files = createSavedFilesService({ db, services: app.services, storage, uploads });
  await app.register(sdkRoutes({ svc, files, uploads, publicUrl: env.PUBLIC_URL }), { prefix: "/api" });
  await app.register(mediaRoutes(svc, files), { prefix: "/api/v1" });
};
