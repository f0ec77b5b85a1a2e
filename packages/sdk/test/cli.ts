// Runs the `swanlab` CLI (from its sources, through tsx) as a real subprocess.
import { spawn } from "node:child_process";
import path from "node:path";
import { SDK_DIR } from "./server.js";

export type CliResult = { code: number | null; stdout: string; stderr: string };

export function runNode(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", ...args], {
      cwd: opts.cwd ?? SDK_DIR,
      env: { ...cleanEnv(), ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

export const swanlab = (args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}) =>
  runNode([path.join(SDK_DIR, "src/cli.ts"), ...args], opts);

/** No SWANLAB_* from the developer's shell leaks into a test. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("SWANLAB_")) delete env[k];
  return env;
}
