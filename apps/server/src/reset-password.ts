// `npm run reset-password -- <username>`: the server operator's way back into an account whose password
// is lost (there is no mail to send a reset link with). Sets a generated password, prints it once, and
// signs out every session of that user; they change it in Settings afterwards. Uses DATABASE_URL, or
// the embedded PostgreSQL: the running server's when it answers, else started here for the change.
import { createDb, embeddedUrl, hasEmbeddedData, startEmbeddedPostgres, type EmbeddedDatabase } from "@swanhouse/db";
import { embeddedDataDir, parseEnv, type Env } from "./env.js";
import { createAuthService } from "./modules/auth/auth.service.js";
import { newTemporaryPassword } from "./lib/ids.js";

class UsageError extends Error {}

async function main(args: string[]): Promise<void> {
  const username = args[0];
  if (!username || args.length > 1 || username.startsWith("-")) throw new UsageError("usage: npm run reset-password -- <username>");
  const env = parseEnv();
  const { url, embedded } = await database(env);
  const db = createDb(url, { max: 1 });
  try {
    const auth = createAuthService({ db, clock: { now: () => new Date() }, sessionTtlDays: env.SESSION_TTL_DAYS });
    const password = newTemporaryPassword();
    if (!(await auth.resetPassword(username, password))) throw new UsageError(`there is no user '${username}'`);
    console.log(`New password for ${username}: ${password}`);
    console.log("Their sessions were signed out (API keys still work). Log in with it and change it in Settings.");
  } finally {
    await db.close();
    await embedded?.stop();
  }
}

/** DATABASE_URL, the running server's embedded PostgreSQL, or the embedded one started for this. */
async function database(env: Env): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL };
  const dataDir = embeddedDataDir(env);
  if (!hasEmbeddedData(dataDir)) throw new UsageError(`no embedded database in ${dataDir}: set DATABASE_URL, or run this where you ran npm start`);
  const url = embeddedUrl(env.EMBEDDED_PG_PORT);
  if (await answers(url)) return { url };
  const embedded = await startEmbeddedPostgres({ dataDir, port: env.EMBEDDED_PG_PORT });
  return { url: embedded.url, embedded };
}

async function answers(url: string): Promise<boolean> {
  const probe = createDb(url, { max: 1 });
  try {
    await probe.pool.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await probe.close();
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof UsageError ? err.message : err);
  process.exit(1);
});
