// For a machine with NVIDIA GPUs (run by hand, no server needed): an offline run with the system
// sampler on for ~3 s, then prints what the SDK recorded. Exits 1 when nvidia-smi works but no GPU
// metadata or __swanlab__.gpu.* series were recorded. Run: npx tsx --conditions=source packages/sdk/bench/gpu-probe.ts
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { init } from "../src/index.js";
import { Spool } from "../src/spool.js";

let smi = "";
try {
  smi = execFileSync("nvidia-smi", ["-L"], { encoding: "utf8", timeout: 10_000 }).trim();
} catch {
  smi = "";
}
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "swanlog-gpu-"));
const run = await init({ project: "gpu-probe", mode: "offline", logDir, systemMetrics: 0.5, exitHooks: false, quiet: true });
await new Promise((r) => setTimeout(r, 3000));
await run.finish();
const spool = new Spool(run.dir!);
const keys = new Map<string, number[]>();
let metadata: Record<string, unknown> = {};
for (const r of spool.records()) {
  if (r.t === "m") keys.set(r.k, [...(keys.get(r.k) ?? []), Number(r.v)]);
  if (r.t === "u" && r.b.metadata) metadata = r.b.metadata;
}
const gpuKeys = [...keys.keys()].filter((k) => k.startsWith("__swanlab__.gpu."));
console.log(JSON.stringify({ nvidiaSmi: smi || null, metadataGpu: metadata.gpu ?? null, series: Object.fromEntries([...keys].map(([k, v]) => [k, v.slice(-1)[0]])) }, null, 2));
if (smi && (!metadata.gpu || !gpuKeys.length)) {
  console.error("FAIL: nvidia-smi works but the SDK recorded no GPU metadata or GPU series");
  process.exit(1);
}
console.log(smi ? `OK: ${gpuKeys.length} GPU series recorded` : "no nvidia-smi here: CPU/memory series only");
