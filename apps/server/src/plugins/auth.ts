// Resolves who is calling, once per request: a session cookie (dashboard) or `Authorization: Bearer
// <api key>` (scripts, SDKs). Routes then ask `requireUser(req)`; anonymous callers may still read
// public projects. API key last-used time is written at most once a minute per key (hot path).
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
    if (key.length > 200) return undefined;
    // One query, through node-postgres rather than Prisma (~0.3 ms less): it runs in front of every ingest request.
    const { rows } = await db.pool.query<{ id: string; revokedAt: Date | null; userId: string; username: string }>(
      `SELECT k.id, k.revoked_at AS "revokedAt", u.id AS "userId", u.username
       FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1`,
      [sha256(key)],
    );
    const found = rows[0];
    if (!found || found.revokedAt) return undefined;
    const row = { id: found.id, user: { id: found.userId, username: found.username } };
    const now = Date.now();
    if ((lastTouched.get(row.id) ?? 0) < now - 60_000) {
      lastTouched.set(row.id, now);
      await db.prisma.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } });
    }
    return { kind: "user", userId: row.user.id, username: row.user.username, via: "apiKey" };
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
  return async function resolve(authorization: string | undefined, sessionToken: string | undefined): Promise<Actor> {
    const key = bearerToken(authorization);
    if (key) {
      const actor = await fromApiKey(key);
      if (!actor) throw Unauthorized("API key rejected: unknown or revoked");
      return actor;
    }
    if (sessionToken) return (await fromSession(sessionToken)) ?? { kind: "anonymous" };
    return { kind: "anonymous" };
  };
}

export function registerAuth(app: FastifyInstance, db: Db): void {
  const resolve = createActorResolver(db);
  app.decorateRequest("actor", null as never);
  app.addHook("onRequest", async (req) => {
    // Upload URLs served for the official SDK authenticate themselves (signed query).
    const cookies = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies ?? {};
    const actor = await resolve(req.headers.authorization, cookies[SESSION_COOKIE] ?? cookies["sid"]);
    req.actor = actor;
  });
}
