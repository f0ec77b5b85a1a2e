// /api/v1/projects/:workspace/:project/webhooks: list, create (the secret is answered once), delete, and
// send a test message.
// Owners and admins only.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ApiError, CreatedWebhookResponse, CreateWebhookBody, ListWebhooksResponse, OkResponse, ProjectParams, WebhookParams, WebhookResponse } from "@swanhouse/contracts";
import { requireUser } from "../../plugins/auth.js";

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError };

export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const webhooks = app.services.webhooks;
  app.get("/projects/:workspace/:project/webhooks", { schema: { tags: ["webhooks"], params: ProjectParams, response: { 200: ListWebhooksResponse, ...errors } } }, async (req) =>
    ({ webhooks: await webhooks.list(requireUser(req), req.params.workspace, req.params.project) }),
  );
  app.post("/projects/:workspace/:project/webhooks", { schema: { tags: ["webhooks"], summary: "POST to a URL when a run of the project ends (signed; the secret is shown once)", params: ProjectParams, body: CreateWebhookBody, response: { 201: CreatedWebhookResponse, ...errors } } }, async (req, reply) =>
    reply.status(201).send(await webhooks.create(requireUser(req), req.params.workspace, req.params.project, req.body)),
  );
  app.post("/projects/:workspace/:project/webhooks/:id/test", { schema: { tags: ["webhooks"], summary: "POST a signed webhook.test message now (one attempt); answers the webhook with its outcome", params: WebhookParams, response: { 200: WebhookResponse, ...errors } } }, async (req) =>
    ({ webhook: await webhooks.test(requireUser(req), req.params.workspace, req.params.project, req.params.id) }),
  );
  app.delete("/projects/:workspace/:project/webhooks/:id", { schema: { tags: ["webhooks"], params: WebhookParams, response: { 200: OkResponse, ...errors } } }, async (req) => {
    await webhooks.remove(requireUser(req), req.params.workspace, req.params.project, req.params.id);
    return { ok: true as const };
  });
};
