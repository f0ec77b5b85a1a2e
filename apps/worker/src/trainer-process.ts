// Runs one qwen3-lora command: stdout JSON lines → onLine (validated TrainerLogLine), stderr lines →
// onStderr (also kept, the last 40, for the crash report). An abort signal sends SIGTERM, then SIGKILL
// after a grace period.
import { spawn } from "node:child_process";
import readline from "node:readline";
import { TrainerLogLine } from "@swanhouse/contracts";

export type TrainerExit = { code: number | null; signal: NodeJS.Signals | null; stderrTail: string[]; errorMessage: string | undefined };

export type TrainerCallbacks = {
  onLine?: (line: TrainerLogLine) => void;
  onStderr?: (line: string) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  killGraceMs?: number;
};

const TAIL = 40;

export function runTrainer(bin: string, args: string[], cb: TrainerCallbacks = {}): Promise<TrainerExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: cb.env ?? process.env });
    const tail: string[] = [];
    let errorMessage: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), cb.killGraceMs ?? 10_000);
      killTimer.unref();
    };
    if (cb.signal?.aborted) onAbort();
    else cb.signal?.addEventListener("abort", onAbort, { once: true });

    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
    };
    readline.createInterface({ input: child.stdout! }).on("line", (raw) => {
      const text = raw.trim();
      if (!text) return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        keep(text); // not a protocol line: treat it like a log line
        cb.onStderr?.(text);
        return;
      }
      const parsed = TrainerLogLine.safeParse(value);
      if (!parsed.success) return; // an event this worker does not know yet
      if (parsed.data.event === "error") errorMessage = parsed.data.message;
      cb.onLine?.(parsed.data);
    });
    const stderrDone = new Promise<void>((r) => {
      readline.createInterface({ input: child.stderr! }).on("line", (line) => {
        keep(line);
        cb.onStderr?.(line);
      }).on("close", r);
    });
    child.on("error", (err) => {
      cb.signal?.removeEventListener("abort", onAbort);
      reject(new Error(`cannot start the trainer '${bin}': ${err.message}`));
    });
    child.on("close", (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      cb.signal?.removeEventListener("abort", onAbort);
      void stderrDone.then(() => resolve({ code, signal, stderrTail: tail, errorMessage }));
    });
  });
}
