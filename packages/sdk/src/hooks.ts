// Process exit hooks for active runs: the event loop emptying finishes them, SIGINT/SIGTERM marks them
// aborted, an uncaught error marks them crashed (its stack goes to the run's logs). A bare
// process.exit() leaves no time for the network: the finish record is written for `swanlab sync`.
import type { Run } from "./run.js";

const active = new Set<Run>();
let installed = false;
let exiting = false;

export function registerRun(run: Run): void {
  active.add(run);
  if (installed) return;
  installed = true;
  process.on("beforeExit", onBeforeExit);
  process.on("exit", onExit);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("uncaughtException", onUncaught);
}

export function unregisterRun(run: Run): void {
  active.delete(run);
  if (active.size || !installed || exiting) return;
  installed = false;
  process.off("beforeExit", onBeforeExit);
  process.off("exit", onExit);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.off("uncaughtException", onUncaught);
}

function finishAll(state: "finished" | "crashed" | "aborted"): Promise<unknown> {
  return Promise.all([...active].map((r) => r.finish(state)));
}

function onBeforeExit(): void {
  if (active.size) void finishAll("finished");
}

function onExit(code: number): void {
  for (const r of active) {
    r.finishSync(code === 0 ? "finished" : "crashed");
    console.error(`swanlab: the process exited before run '${r.id}' was delivered; upload the rest with:\n  swanlab sync ${r.dir}`);
  }
}

function onSignal(signal: NodeJS.Signals): void {
  if (exiting) {
    // A second Ctrl-C: stop waiting.
    onExit(1);
    process.exit(signal === "SIGINT" ? 130 : 143);
  }
  exiting = true;
  for (const r of active) r.logMessage(`received ${signal}: run aborted`, "warning");
  console.error(`swanlab: ${signal}: finishing ${active.size} run(s) as aborted (press Ctrl-C again to quit now)`);
  void finishAll("aborted").finally(() => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // Re-raise so the exit status says "killed by signal", as without the hook.
    process.kill(process.pid, signal);
  });
}

function onUncaught(err: unknown): void {
  const stack = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  console.error(stack);
  if (exiting) process.exit(1);
  exiting = true;
  for (const r of active) r.logMessage(stack, "error");
  void finishAll("crashed").finally(() => process.exit(1));
}
