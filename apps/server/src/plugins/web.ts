// Serves the built dashboard (apps/web/dist, or WEB_DIST_DIR) at / when it exists; any other GET outside
// /api answers index.html so the SPA's own routes (deep links, reloads) work. Hashed assets are cached
// for a year; index.html is never cached so a new build is picked up at once.
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";
import type { Env } from "../env.js";

/** src/plugins and dist/plugins both sit three levels below apps/. */
const DEFAULT_DIST = path.resolve(import.meta.dirname, "../../../web/dist");

export async function registerWeb(app: FastifyInstance, env: Env): Promise<void> {
  const root = path.resolve(env.WEB_DIST_DIR ?? DEFAULT_DIST);
  if (!fs.existsSync(path.join(root, "index.html"))) {
    app.log.info(`dashboard not built (${root}/index.html missing): serving the API only`);
    return;
  }
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    index: ["index.html"],
    setHeaders: (reply, filePath) => {
      const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
      reply.header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
  app.get("/*", { schema: { hide: true } }, async (req, reply) => {
    const url = req.url.split("?")[0] ?? "/";
    if (url.startsWith("/api/") || url === "/api" || url.startsWith("/socket.io")) {
      return reply.status(404).send({ error: { code: "not_found", message: `no route ${req.method} ${url}` } });
    }
    reply.header("cache-control", "no-cache");
    return reply.sendFile("index.html");
  });
}
