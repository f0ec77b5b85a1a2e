// socket.io on the same HTTP server (fastify-socket.io does not support Fastify 5). Clients subscribe
// to a run or a project after a read-access check. Writes are batched per room and event and flushed
// every FLUSH_MS, so a run logging 1,000 points/s makes a few messages a second. With REDIS_URL the
// Redis adapter fans events out across server processes.
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
  type ServerToClientEvents,
  type TextsAppendedEvent,
} from "@swanhouse/contracts";
import type { Env } from "../env.js";
import { createActorResolver, SESSION_COOKIE, type Actor } from "./auth.js";
import { createAccessService } from "../modules/access/access.service.js";

export const FLUSH_MS = 100;

type Rooms = { runId: string; projectId: string };
type Buffered = {
  metrics: Map<string, MetricsAppendedEvent["points"]>;
  texts: Map<string, TextsAppendedEvent["items"]>;
  logs: Map<string, LogsAppendedEvent["logs"]>;
  projectOf: Map<string, string>;
};

export type Realtime = {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  metrics: (rooms: Rooms, points: MetricsAppendedEvent["points"]) => void;
  texts: (rooms: Rooms, items: TextsAppendedEvent["items"]) => void;
  logs: (rooms: Rooms, logs: LogsAppendedEvent["logs"]) => void;
  runUpdated: (run: Run) => void;
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
  const resolveActor = createActorResolver(deps.db);
  const access = createAccessService(deps);

  io.use(async (socket, next) => {
    try {
      const cookies = fastifyCookie.parse(socket.handshake.headers.cookie ?? "");
      const token = typeof socket.handshake.auth?.token === "string" ? socket.handshake.auth.token : undefined;
      socket.data.actor = await resolveActor(token ? `Bearer ${token}` : undefined, cookies[SESSION_COOKIE]);
      next();
    } catch (err) {
      next(err as Error);
    }
  });
  io.on("connection", (socket) => attachSubscriptions(socket, access));

  const buf: Buffered = { metrics: new Map(), texts: new Map(), logs: new Map(), projectOf: new Map() };
  const push = <T>(map: Map<string, T[]>, rooms: Rooms, items: T[]) => {
    buf.projectOf.set(rooms.runId, rooms.projectId);
    const list = map.get(rooms.runId);
    if (list) for (const it of items) list.push(it);
    else map.set(rooms.runId, items.slice());
  };
  const targets = (runId: string) => [runRoom(runId), projectRoom(buf.projectOf.get(runId) ?? "")];
  // A failing emit (say, the Redis publish) must neither stop the timer nor drop the other rooms' events.
  const safely = (what: string, emit: () => void) => {
    try {
      emit();
    } catch (err) {
      app.log.error({ err }, `realtime: ${what} failed`);
    }
  };
  const flush = () => {
    for (const [runId, points] of buf.metrics) safely("metrics push", () => io.to(targets(runId)).emit("metrics:appended", { runId, points }));
    for (const [runId, items] of buf.texts) safely("texts push", () => io.to(targets(runId)).emit("texts:appended", { runId, items }));
    for (const [runId, logs] of buf.logs) safely("logs push", () => io.to(runRoom(runId)).emit("logs:appended", { runId, logs }));
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
