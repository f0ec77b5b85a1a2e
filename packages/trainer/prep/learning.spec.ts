// Issue 8's learning test: on the synthetic set, a tiny random Qwen3 (hidden 64, 2 layers, full vocab)
// trained with LoRA by the native CLI on CPU answers >= 95% of held-out samples in under a minute.
// Needs packages/trainer/build/qwen3-lora (scripts/build-native.sh); skipped, saying why, without it.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { encodeRows, decodeTableOf } from "./dataset.js";
import { encodeQld } from "./qld.js";
import { makeSynthetic } from "./synthetic.js";
import { loadTokenizer } from "./tokenizer.js";

const BIN = fileURLToPath(new URL("../build/qwen3-lora", import.meta.url));
const haveBinary = existsSync(BIN);
if (!haveBinary) console.warn(`learning.spec: skipped, ${BIN} is not built (run scripts/build-native.sh)`);

const MAX_LEN = 128;
const TRAIN_LIMIT_SECONDS = 60;
const TRAIN_ARGS = ["--epochs", "1", "--lr", "1e-2", "--micro-batch", "8", "--accum", "1", "--seed", "1"];

interface LogLine {
  event?: string;
  type?: string;
  correct?: boolean;
  message?: string;
  [key: string]: unknown;
}

function run(args: string[], timeoutSeconds: number) {
  const started = Date.now();
  const res = spawnSync(BIN, args, { encoding: "utf8", timeout: timeoutSeconds * 1000, maxBuffer: 64 << 20 });
  const seconds = (Date.now() - started) / 1000;
  const lines = res.stdout
    .split("\n")
    .filter((l) => l.trim().startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
  const errors = lines.filter((l) => (l.event ?? l.type) === "error").map((l) => l.message);
  if (res.status !== 0 || errors.length > 0) {
    throw new Error(`qwen3-lora ${args[0]} failed (status ${res.status}, ${res.signal ?? "no signal"}): ` +
      `${errors.join("; ")}\n${res.stderr.slice(-2000)}`);
  }
  return { lines, seconds };
}

describe.skipIf(!haveBinary)("learning on the synthetic set (native CLI, CPU)", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwen3-learn-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`answers >= 95% of held-out samples after < ${TRAIN_LIMIT_SECONDS} s of training`, () => {
    const tok = loadTokenizer();
    const split = makeSynthetic({ seed: 1, train: 1600, test: 100, sentences: [1, 2] });
    const opts = { maxLen: MAX_LEN, truncation: "fit" as const };
    const table = decodeTableOf(tok);
    for (const [name, rows] of [["train", split.train], ["test", split.test]] as const) {
      writeFileSync(join(dir, `${name}.qld`), encodeQld(encodeRows(tok, rows, opts).samples, table));
    }

    run(["init-random", "--config", "tiny", "--out", join(dir, "model"), "--seed", "1"], 60);
    const { lines, seconds } = run(
      ["train", "--model", join(dir, "model"), "--data", join(dir, "train.qld"), "--eval", join(dir, "test.qld"),
        "--out", join(dir, "out"), "--device", "cpu", "--max-len", String(MAX_LEN), ...TRAIN_ARGS],
      TRAIN_LIMIT_SECONDS * 3,
    );
    const predictions = lines.filter((l) => (l.event ?? l.type) === "prediction");
    const correct = predictions.filter((p) => p.correct === true).length;
    const steps = lines.filter((l) => (l.event ?? l.type) === "step");
    console.log(`learning.spec: ${correct}/${predictions.length} correct, ${steps.length} steps, ${seconds.toFixed(1)} s`);
    expect(predictions).toHaveLength(split.test.length);
    expect(correct / predictions.length).toBeGreaterThanOrEqual(0.95);
    expect(seconds).toBeLessThan(TRAIN_LIMIT_SECONDS);
  }, 300_000);
});
