// What this worker offers: NVIDIA GPUs (nvidia-smi), CPUs, memory, the model folders in its models
// folder, the trainer binary's presence. Sent in every heartbeat.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { GpuInfo } from "@swanhouse/contracts";

export async function nvidiaGpus(): Promise<GpuInfo[]> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", ["--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"], { timeout: 10_000 }, (err, stdout) => {
      if (err) return resolve([]);
      resolve(parseNvidiaSmi(stdout));
    });
  });
}

export function parseNvidiaSmi(csv: string): GpuInfo[] {
  return csv
    .split("\n")
    .map((l) => l.split(",").map((s) => s.trim()))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[0]!))
    .map(([index, name, mem]) => ({ index: Number(index), name: name!, memoryMiB: Math.round(Number(mem)) || 0 }));
}

/** Sub-folders holding a Hugging Face config.json (a Qwen3 model directory). */
export function scanModels(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && fs.existsSync(path.join(dir, e.name, "config.json")))
    .map((e) => e.name)
    .sort();
}

export function hostInfo() {
  return { hostname: os.hostname(), cpus: os.availableParallelism?.() ?? os.cpus().length, memoryBytes: os.totalmem() };
}
