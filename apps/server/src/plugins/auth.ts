// Resolves who is calling, once per request: a session cookie (dashboard) or `Authorization: Bearer
// <api key>` (scripts, SDKs). Routes then ask `requireUser(req)`; anonymous callers may still read
// public projects. API key last-used time is written at most once a minute per key (hot path).
// A route with `config.apiKeyInHandler` checks an API key itself, inside its own statement (ingest:
// one round trip instead of three), and calls `actorOf(req)` when it needs the actor.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Db } from "@swanhouse/db";
import { Unauthorized } from "../lib/errors.js";
import { sha256 } from "../lib/ids.js";

export const SESSION_COOKIE = "sh_session";

export type Actor =
  | { kind: "user"; userId: string; username: string; via: "session" | "apiKey" }
  | { kind: "anonymous" };

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor;
  }
  interface FastifyContextConfig {
    /** The handler authenticates a bearer API key itself; the hook leaves `req.actor` unset. */
    apiKeyInHandler?: boolean;
  }
  interface FastifyInstance {
    actors: ActorResolver;
  }
}

export type UserActor = Extract<Actor, { kind: "user" }>;

export function requireUser(req: FastifyRequest): UserActor {
  if (req.actor.kind !== "user") throw Unauthorized();
  return req.actor;
}

/** Extracts a bearer token; the official SwanLab SDK sends the raw key without "Bearer". */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return (m ? m[1]! : header).trim() || undefined;
}

export function createActorResolver(db: Db) {
  const lastTouched = new Map<string, number>();

  async function fromApiKey(key: string): Promise<Actor | undefined> {
    const hash = apiKeyHash(key);
    if (!hash) return undefined;
    // One query, through node-postgres rather than Prisma (~0.3 ms less): it runs in front of every ingest request.
    const { rows } = await db.pool.query<{ id: string; revokedAt: Date | null; userId: string; username: string }>(
      `SELECT k.id, k.revoked_at AS "revokedAt", u.id AS "userId", u.username
       FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1`,
      [hash],
    );
    const found = rows[0];
    if (!found || found.revokedAt) return undefined;
    await keyUsed(found.id);
    return { kind: "user", userId: found.userId, username: found.username, via: "apiKey" };
  }

  /** Records that an accepted key was used (at most once a minute per key and process). */
  async function keyUsed(keyId: string): Promise<void> {
    const now = Date.now();
    if ((lastTouched.get(keyId) ?? 0) >= now - 60_000) return;
    lastTouched.set(keyId, now);
    await db.prisma.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) } });
  }

  async function fromSession(token: string): Promise<Actor | undefined> {
    const row = await db.prisma.session.findUnique({
      where: { id: sha256(token) },
      select: { expiresAt: true, user: { select: { id: true, username: true } } },
    });
    if (!row || row.expiresAt.getTime() < Date.now()) return undefined;
    return { kind: "user", userId: row.user.id, username: row.user.username, via: "session" };
  }

  /** A bad key is an error (401), not a silent downgrade to anonymous. */
  async function resolve(authorization: string | undefined, sessionToken: string | undefined): Promise<Actor> {
    const key = bearerToken(authorization);
    if (key) {
      const actor = await fromApiKey(key);
      if (!actor) throw Unauthorized("API key rejected: unknown or revoked");
      return actor;
    }
    if (sessionToken) return (await fromSession(sessionToken)) ?? { kind: "anonymous" };
    return { kind: "anonymous" };
  }

  return { resolve, keyUsed };
}
export type ActorResolver = ReturnType<typeof createActorResolver>;

/** The hash an API key is stored under, or undefined for what cannot be a key. */
export function apiKeyHash(key: string): string | undefined {
  return key.length > 200 ? undefined : sha256(key);
}

/** The session token the request carries: the dashboard's cookie, or the official SDK's `sid`. */
export function sessionToken(req: FastifyRequest): string | undefined {
  const cookies = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies ?? {};
  return cookies[SESSION_COOKIE] ?? cookies["sid"];
}

function resolveRequest(resolver: ActorResolver, req: FastifyRequest): Promise<Actor> {
  // Upload URLs served for the official SDK authenticate themselves (signed query).
  return resolver.resolve(req.headers.authorization, sessionToken(req));
}

/** The caller, resolved now if the route deferred it (`apiKeyInHandler`). */
export async function actorOf(req: FastifyRequest): Promise<Actor> {
  return (req.actor ??= await resolveRequest(req.server.actors, req));
}

export function registerAuth(app: FastifyInstance, db: Db): void {
  const resolver = createActorResolver(db);
  app.decorate("actors", resolver);
  app.decorateRequest("actor", null as never);
  app.addHook("onRequest", async (req) => {
    if (req.routeOptions.config.apiKeyInHandler && bearerToken(req.headers.authorization)) return;
    req.actor = await resolveRequest(resolver, req);
  });
}
