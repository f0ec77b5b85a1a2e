// /api/v1/api-keys: create (the key is answered once), list, revoke. Session or key auth.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ApiError, ApiKeyParams, CreateApiKeyBody, CreatedApiKeyResponse, ListApiKeysResponse, OkResponse } from "@swanhouse/contracts";
import { requireUser } from "../../plugins/auth.js";
import { NotFound } from "../../lib/errors.js";
import { newApiKey, newUuid, sha256 } from "../../lib/ids.js";
import { iso, isoOrNull } from "../../lib/serialize.js";

const toApiKey = (k: { id: string; name: string; prefix: string; createdAt: Date; lastUsedAt: Date | null }) => ({
  id: k.id, name: k.name, prefix: k.prefix, createdAt: iso(k.createdAt), lastUsedAt: isoOrNull(k.lastUsedAt),
});

export const apiKeyRoutes: FastifyPluginAsyncZod = async (app) => {
  const { prisma } = app.deps.db;
  app.post("/api-keys", { schema: { tags: ["api-keys"], body: CreateApiKeyBody, response: { 201: CreatedApiKeyResponse, 400: ApiError, 401: ApiError } } }, async (req, reply) => {
    const actor = requireUser(req);
    const key = newApiKey();
    const row = await prisma.apiKey.create({ data: { id: newUuid(), userId: actor.userId, name: req.body.name, prefix: key.slice(0, 4), keyHash: sha256(key) } });
    return reply.status(201).send({ apiKey: toApiKey(row), key });
  });
  app.get("/api-keys", { schema: { tags: ["api-keys"], response: { 200: ListApiKeysResponse, 401: ApiError } } }, async (req) => {
    const actor = requireUser(req);
    const rows = await prisma.apiKey.findMany({ where: { userId: actor.userId, revokedAt: null }, orderBy: { createdAt: "desc" } });
    return { apiKeys: rows.map(toApiKey) };
  });
  app.delete("/api-keys/:id", { schema: { tags: ["api-keys"], params: ApiKeyParams, response: { 200: OkResponse, 401: ApiError, 404: ApiError } } }, async (req) => {
    const actor = requireUser(req);
    const { count } = await prisma.apiKey.updateMany({ where: { id: req.params.id, userId: actor.userId, revokedAt: null }, data: { revokedAt: new Date() } });
    if (!count) throw NotFound(`API key '${req.params.id}' not found`);
    return { ok: true as const };
  });
};
