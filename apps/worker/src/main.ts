// The worker process: parse env, start consuming, stop with grace on SIGINT/SIGTERM (running jobs are
// cancelled: their trainers get SIGTERM and their runs end aborted). The only place that exits.
import { parseWorkerEnv } from "./env.js";
import { startWorker } from "./worker.js";

async function main(): Promise<void> {
  const env = parseWorkerEnv();
  const worker = await startWorker(env);
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    console.log(`[worker] ${signal}: stopping`);
    void worker.close().finally(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // Started by the server (npm start): stop when it goes, even if it was killed without a word.
  if (process.send) {
    process.on("disconnect", () => stop("SIGTERM"));
    process.channel?.unref();
  }
}

main().catch((err) => {
  console.error(`[worker] ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
