// The server operator's commands, run where the server runs:
//   npm run create-user -- <username> [email]   an account with a generated password (SIGNUP=closed servers)
//   npm run reset-password -- <username>        a lost password replaced; the user is signed out everywhere
// Each prints the generated password once; the user changes it in Settings. They use DATABASE_URL, or
// the embedded PostgreSQL: the running server's when it answers, else started here for the change.
import { createDb, embeddedUrl, hasEmbeddedData, startEmbeddedPostgres, type EmbeddedDatabase } from "@swanhouse/db";
import { RegisterBody } from "@swanhouse/contracts";
import { embeddedDataDir, parseEnv, type Env } from "./env.js";
import { createAuthService } from "./modules/auth/auth.service.js";
import { newTemporaryPassword } from "./lib/ids.js";
import { HttpError } from "./lib/errors.js";

class UsageError extends Error {}

type Auth = ReturnType<typeof createAuthService>;
const COMMANDS: Record<string, { usage: string; args: [min: number, max: number]; run: (auth: Auth, args: string[]) => Promise<void> }> = {
  "create-user": {
    usage: "npm run create-user -- <username> [email]",
    args: [1, 2],
    async run(auth, [username, email]) {
      const body = RegisterBody.safeParse({ username, email, password: newTemporaryPassword() });
      if (!body.success) throw new UsageError(body.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      await auth.register(body.data, { byOperator: true });
      console.log(`Created ${body.data.username} with the password: ${body.data.password}`);
      console.log("Log in with it and change it in Settings.");
    },
  },
  "reset-password": {
    usage: "npm run reset-password -- <username>",
    args: [1, 1],
    async run(auth, [username]) {
      const password = newTemporaryPassword();
      if (!(await auth.resetPassword(username!, password))) throw new UsageError(`there is no user '${username}'`);
      console.log(`New password for ${username}: ${password}`);
      console.log("Their sessions were signed out (API keys still work). Log in with it and change it in Settings.");
    },
  },
};

async function main([command, ...args]: string[]): Promise<void> {
  const cmd = COMMANDS[command ?? ""];
  if (!cmd) throw new UsageError(`usage: ${Object.values(COMMANDS).map((c) => c.usage).join("\n       ")}`);
  const [min, max] = cmd.args;
  if (args.length < min || args.length > max || args.some((a) => a.startsWith("-"))) throw new UsageError(`usage: ${cmd.usage}`);
  const env = parseEnv();
  const { url, embedded } = await database(env);
  const db = createDb(url, { max: 1 });
  try {
    await cmd.run(createAuthService({ db, clock: { now: () => new Date() }, sessionTtlDays: env.SESSION_TTL_DAYS }), args);
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
  // Expected refusals (a taken name, an unknown user) are one line; anything else keeps its stack.
  console.error(err instanceof UsageError || err instanceof HttpError ? err.message : err);
  process.exit(1);
});
