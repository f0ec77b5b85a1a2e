// What the run ran on, collected once at start: host, OS, CPU, memory, NVIDIA GPUs (nvidia-smi when
// present), Node, the command line with secrets masked, the git commit.
import { execFile } from "node:child_process";
import os from "node:os";
import { SDK_VERSION } from "./http.js";

const SECRET_FLAG = /^--?[\w-]*(key|token|secret|password|passwd|pwd|auth|credential)[\w-]*$/i;
const SECRET_ASSIGN = /^(--?[\w-]*(?:key|token|secret|password|passwd|pwd|auth|credential)[\w-]*|[\w]*(?:KEY|TOKEN|SECRET|PASSWORD)[\w]*)=(.+)$/i;

/** `--api-key X`, `--token=X`, `HF_TOKEN=X` and any known key value become `***`. */
export function maskArgv(argv: string[], secrets: Array<string | undefined> = []): string[] {
  const known = secrets.filter((s): s is string => !!s && s.length >= 4);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    for (const s of known) a = a.split(s).join("***");
    const assign = SECRET_ASSIGN.exec(a);
    if (assign) a = `${assign[1]}=***`;
    out.push(a);
    if (SECRET_FLAG.test(a) && !a.includes("=") && i + 1 < argv.length) {
      out.push("***");
      i++;
    }
  }
  return out.map((a) => a.replace(/(\/\/[^/:@\s]+:)[^@/\s]+@/g, "$1***@"));
}

function run(cmd: string, args: string[], timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
}

export type GpuInfo = { index: number; name: string; memoryMiB: number; driver: string };

export async function nvidiaGpus(): Promise<GpuInfo[]> {
  const out = await run("nvidia-smi", ["--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader,nounits"]);
  if (!out) return [];
  return out.split("\n").map((line) => line.split(",").map((s) => s.trim())).filter((f) => f.length >= 4).map((f) => ({
    index: Number(f[0]), name: f[1]!, memoryMiB: Number(f[2]), driver: f[3]!,
  }));
}

async function git(cwd: string) {
  const commit = await run("git", ["-C", cwd, "rev-parse", "HEAD"]);
  if (!commit) return undefined;
  const [branch, remote, status] = await Promise.all([
    run("git", ["-C", cwd, "rev-parse", "--abbrev-ref", "HEAD"]),
    run("git", ["-C", cwd, "config", "--get", "remote.origin.url"]),
    run("git", ["-C", cwd, "status", "--porcelain", "--untracked-files=no"]),
  ]);
  return { commit, branch, remote: remote ? maskArgv([remote])[0] : undefined, dirty: !!status };
}

export async function collectMetadata(secrets: Array<string | undefined>): Promise<Record<string, unknown>> {
  const cpus = os.cpus();
  const [gpus, repo] = await Promise.all([nvidiaGpus(), git(process.cwd())]);
  return {
    hostname: os.hostname(),
    os: { platform: process.platform, type: os.type(), release: os.release(), arch: process.arch },
    cpu: { brand: cpus[0]?.model.trim() ?? "unknown", cores: cpus.length },
    memory: { totalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10 },
    gpu: gpus.length ? { nvidia: gpus } : undefined,
    runtime: { node: process.version, sdk: `@swanhouse/sdk ${SDK_VERSION}` },
    pid: process.pid,
    cwd: process.cwd(),
    command: maskArgv(process.argv, secrets).join(" "),
    git: repo,
  };
}
