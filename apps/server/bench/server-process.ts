// The server under benchmark, in a process of its own as it is deployed (so that the load generator's
// and the raw baselines' work and garbage collection do not land inside its requests). Forked by
// ingest.bench.ts with DATABASE_URL set; answers its port over IPC and closes when the parent goes.
import { createDb } from "@swanhouse/db";
import { buildApp } from "../src/app.js";
import { parseEnv } from "../src/env.js";

const env = parseEnv({ NODE_ENV: "production", LOG_LEVEL: "silent", DATABASE_URL: process.env.DATABASE_URL } as NodeJS.ProcessEnv);
const db = createDb(env.DATABASE_URL!);
const app = await buildApp({ env, db });
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
process.send!({ port: typeof address === "object" && address ? address.port : 0 });
process.on("disconnect", async () => {
  await app.close();
  await db.close();
  process.exit(0);
});
