// socket.io on the same HTTP server (fastify-socket.io does not support Fastify 5). Clients subscribe
// to a run or a project after a read-access check. Writes are batched per room and event and flushed
// every FLUSH_MS, so a run logging 1,000 points/s makes a few messages a second. Ingestion hands over
// functions that build the wire items: they run at flush time, and not at all when no one can receive
// them (no subscriber in this process and no Redis). With REDIS_URL the Redis adapter fans events out
// across server processes.
import type { FastifyInstance } from "fastify";
import { Server, type Socket } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { fastifyCookie } from "@fastify/cookie";
import type { Db } from "@swanhouse/db";
import {
  SubscribeBody,
  type ClientToServerEvents,
  type LogsAppendedEvent,
  type MetricsAppendedEvent,
  type Run,
  type RunDeletedEvent,
  type ServerToClientEvents,
  type TextsAppendedEvent,
} from "@swanhouse/contracts";
import type { Env } from "../env.js";
import { createActorResolver, SESSION_COOKIE, type Actor } from "./auth.js";
import { createAccessService } from "../modules/access/access.service.js";

export const FLUSH_MS = 100;

type Rooms = { runId: string; projectId: string };
/** Builds wire items when (and if) they are sent. */
type Lazy<T> = () => T[];
type Buffered = {
  metrics: Map<string, Array<Lazy<MetricsAppendedEvent["points"][number]>>>;
  texts: Map<string, Array<Lazy<TextsAppendedEvent["items"][number]>>>;
  logs: Map<string, Array<Lazy<LogsAppendedEvent["logs"][number]>>>;
  projectOf: Map<string, string>;
};

export type Realtime = {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  metrics: (rooms: Rooms, points: Lazy<MetricsAppendedEvent["points"][number]>) => void;
  texts: (rooms: Rooms, items: Lazy<TextsAppendedEvent["items"][number]>) => void;
  logs: (rooms: Rooms, logs: Lazy<LogsAppendedEvent["logs"][number]>) => void;
  runUpdated: (run: Run) => void;
  runDeleted: (e: RunDeletedEvent) => void;
  flush: () => void;
};

export const runRoom = (id: string) => `run:${id}`;
export const projectRoom = (id: string) => `project:${id}`;

export async function registerRealtime(app: FastifyInstance, deps: { env: Env; db: Db }): Promise<Realtime> {
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { actor: Actor }>(app.server, {
    path: "/socket.io",
    serveClient: false,
  });
  const redis = deps.env.REDIS_URL ? await attachRedis(io, deps.env.REDIS_URL, app.log) : undefined;
  const actors = createActorResolver(deps.db);
  const access = createAccessService(deps);

  io.use(async (socket, next) => {
    try {
      const cookies = fastifyCookie.parse(socket.handshake.headers.cookie ?? "");
      const token = typeof socket.handshake.auth?.token === "string" ? socket.handshake.auth.token : undefined;
      socket.data.actor = await actors.resolve(token ? `Bearer ${token}` : undefined, cookies[SESSION_COOKIE]);
      next();
    } catch (err) {
      next(err as Error);
    }
  });
  io.on("connection", (socket) => attachSubscriptions(socket, access));

  const buf: Buffered = { metrics: new Map(), texts: new Map(), logs: new Map(), projectOf: new Map() };
  const push = <T>(map: Map<string, Array<Lazy<T>>>, rooms: Rooms, items: Lazy<T>) => {
    buf.projectOf.set(rooms.runId, rooms.projectId);
    const list = map.get(rooms.runId);
    if (list) list.push(items);
    else map.set(rooms.runId, [items]);
  };
  const targets = (runId: string) => [runRoom(runId), projectRoom(buf.projectOf.get(runId) ?? "")];
  // Without Redis every subscriber is in this process, so an empty room means nobody to tell.
  const heard = (rooms: string[]) => redis !== undefined || rooms.some((r) => io.sockets.adapter.rooms.has(r));
  const build = <T>(parts: Array<Lazy<T>>): T[] => (parts.length === 1 ? parts[0]!() : parts.flatMap((f) => f()));
  // A failing emit (say, the Redis publish) must neither stop the timer nor drop the other rooms' events.
  const safely = (what: string, emit: () => void) => {
    try {
      emit();
    } catch (err) {
      app.log.error({ err }, `realtime: ${what} failed`);
    }
  };
  const flush = () => {
    for (const [runId, points] of buf.metrics) {
      const to = targets(runId);
      if (heard(to)) safely("metrics push", () => io.to(to).emit("metrics:appended", { runId, points: build(points) }));
    }
    for (const [runId, items] of buf.texts) {
      const to = targets(runId);
      if (heard(to)) safely("texts push", () => io.to(to).emit("texts:appended", { runId, items: build(items) }));
    }
    for (const [runId, logs] of buf.logs) {
      const to = [runRoom(runId)];
      if (heard(to)) safely("logs push", () => io.to(to).emit("logs:appended", { runId, logs: build(logs) }));
    }
    buf.metrics.clear();
    buf.texts.clear();
    buf.logs.clear();
    buf.projectOf.clear();
  };
  const timer = setInterval(flush, FLUSH_MS);
  timer.unref();

  // preClose, not onClose: upgraded websocket connections keep app.server.close() waiting, and
  // Fastify runs onClose hooks only after the server has closed.
  app.addHook("preClose", async () => {
    clearInterval(timer);
    flush();
    io.disconnectSockets(true);
  });
  app.addHook("onClose", async () => {
    await new Promise<void>((resolve) => io.close(() => resolve()));
    if (redis) await Promise.all([redis.pub.quit(), redis.sub.quit()]).catch(() => {});
  });

  return {
    io,
    metrics: (rooms, points) => push(buf.metrics, rooms, points),
    texts: (rooms, items) => push(buf.texts, rooms, items),
    logs: (rooms, logs) => push(buf.logs, rooms, logs),
    runUpdated: (run) => io.to([runRoom(run.id), projectRoom(run.projectId)]).emit("run:updated", { run }),
    runDeleted: (e) => io.to([runRoom(e.runId), projectRoom(e.projectId)]).emit("run:deleted", e),
    flush,
  };
}

async function attachRedis(io: Server, url: string, log: FastifyInstance["log"]) {
  const pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null });
  const sub = pub.duplicate();
  // Connection errors are logged (ioredis reconnects by itself), never left as unhandled events.
  for (const [name, client] of [["publisher", pub], ["subscriber", sub]] as const) {
    client.on("error", (err) => log.warn({ err }, `realtime: Redis ${name} error`));
  }
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
  return { pub, sub };
}

type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { actor: Actor }>;

function attachSubscriptions(socket: AppSocket, access: ReturnType<typeof createAccessService>): void {
  const roomFor = async (raw: unknown): Promise<string> => {
    const body = SubscribeBody.parse(raw);
    if ("runId" in body) {
      await access.runFor(socket.data.actor, body.runId, "read");
      return runRoom(body.runId);
    }
    await access.projectById(socket.data.actor, body.projectId, "read");
    return projectRoom(body.projectId);
  };
  socket.on("subscribe", async (raw, ack) => {
    try {
      await socket.join(await roomFor(raw));
      ack?.({ ok: true });
    } catch (err) {
      ack?.({ ok: false, error: err instanceof Error ? err.message : "subscribe failed" });
    }
  });
  socket.on("unsubscribe", async (raw, ack) => {
    const body = SubscribeBody.safeParse(raw);
    if (body.success) await socket.leave("runId" in body.data ? runRoom(body.data.runId) : projectRoom(body.data.projectId));
    ack?.({ ok: body.success });
  });
}
