// Optional system metrics, as system series (`__swanlab__.*` keys, the names the official SDK uses):
// CPU and memory use of the machine and process, and per NVIDIA GPU utilisation, memory, temperature, power.
import { execFile } from "node:child_process";
import os from "node:os";

export type Sample = Record<string, number>;

function cpuTimes() {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

function gpuSample(): Promise<Sample> {
  return new Promise((resolve) => {
    execFile(
      "nvidia-smi",
      ["--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw", "--format=csv,noheader,nounits"],
      { timeout: 5000 },
      (err, stdout) => {
        const out: Sample = {};
        if (!err) {
          for (const line of stdout.trim().split("\n")) {
            const [i, util, used, total, temp, power] = line.split(",").map((s) => Number(s.trim()));
            if (i === undefined || !Number.isFinite(i)) continue;
            const put = (k: string, v: number | undefined) => {
              if (v !== undefined && Number.isFinite(v)) out[`__swanlab__.gpu.${i}.${k}`] = v;
            };
            put("pct", util);
            put("mem.value", used);
            put("mem.pct", used !== undefined && total ? (100 * used) / total : undefined);
            put("temp", temp);
            put("power", power);
          }
        }
        resolve(out);
      },
    );
  });
}

/** Calls `emit` every `intervalMs` (unref'd timer); stop() ends it. GPU queries stop after one failure. */
export function startSampler(emit: (s: Sample) => void, intervalMs: number): { stop: () => void } {
  let prev = cpuTimes();
  let gpus = true;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = cpuTimes();
      const dt = now.total - prev.total;
      const s: Sample = {
        "__swanlab__.mem.pct": (100 * (os.totalmem() - os.freemem())) / os.totalmem(),
        "__swanlab__.mem.proc": process.memoryUsage.rss() / 2 ** 20,
      };
      if (dt > 0) s["__swanlab__.cpu.pct"] = 100 * (1 - (now.idle - prev.idle) / dt);
      prev = now;
      if (gpus) {
        const g = await gpuSample();
        if (!Object.keys(g).length) gpus = false;
        Object.assign(s, g);
      }
      emit(s);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
