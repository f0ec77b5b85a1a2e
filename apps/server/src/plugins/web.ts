// Serves the built dashboard (apps/web/dist) at / when it exists; the SPA's routes fall back to index.html.
import type { FastifyInstance } from "fastify";
import type { Env } from "../env.js";

export async function registerWeb(_app: FastifyInstance, _env: Env): Promise<void> {
  // Filled in by the dashboard (apps/web): static files + SPA fallback.
}
