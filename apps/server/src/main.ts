// The process: parse env, get a database (DATABASE_URL or embedded PostgreSQL), migrate, listen,
// close with grace. The only place that exits.
import closeWithGrace from "close-with-grace";
import { createDb, migrate, startEmbeddedPostgres, type EmbeddedDatabase } from "@swanhouse/db";
import { embeddedDataDir, parseEnv } from "./env.js";
import { buildApp } from "./app.js";
import { startEmbeddedWorker } from "./modules/jobs/embedded-worker.js";

async function main(): Promise<void> {
  const env = parseEnv();
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = embeddedDataDir(env);
    console.log(`DATABASE_URL is not set: starting embedded PostgreSQL in ${dataDir}`);
    embedded = await startEmbeddedPostgres({ dataDir, port: env.EMBEDDED_PG_PORT });
    databaseUrl = embedded.url;
  }
  const applied = await migrate(databaseUrl);
  if (applied.length) console.log(`applied migrations: ${applied.join(", ")}`);

  const db = createDb(databaseUrl);
  const app = await buildApp({ env, db });
  await app.listen({ host: env.HOST, port: env.PORT });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : env.PORT;
  const url = env.PUBLIC_URL ?? `http://localhost:${port}`;
  await app.jobsRuntime.start();
  const worker = env.START_WORKER
    ? startEmbeddedWorker({ databaseUrl, redisUrl: env.REDIS_URL, host: `http://127.0.0.1:${port}`, log: (m) => console.log(m) })
    : undefined;
  console.log(
    [
      ``,
      `Swanhouse is running at ${url}`,
      `  Dashboard: ${url}/   API docs: ${url}/api/docs`,
      `  First account: open ${url}/ and sign up, or`,
      `    curl -X POST ${url}/api/v1/auth/register -H 'content-type: application/json' -d '{"username":"me","password":"a-long-password"}'`,
      `  Then create an API key in Settings and run: swanlab login --host ${url}`,
      ``,
    ].join("\n"),
  );

  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) console.error(err);
    await worker?.stop();
    await app.close();
    await db.close();
    await embedded?.stop();
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
