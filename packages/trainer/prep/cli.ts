#!/usr/bin/env node
// qwen3-prep: task JSONL -> .qld for the native trainer; synthetic data; decoding ids and .qld files.
// Results go to stdout as JSON, errors to stderr with exit code 1.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { prepareDataset, readQld } from "./dataset.js";
import { DEFAULT_MAX_LEN, type Truncation } from "./prompt.js";
import { makeSynthetic, toJsonl } from "./synthetic.js";
import { loadTokenizer } from "./tokenizer.js";

const USAGE = `usage:
  qwen3-prep [encode] --input FILE.jsonl --out FILE.qld [--max-len ${DEFAULT_MAX_LEN}] [--truncate fit|classic] [--tokenizer DIR]
  qwen3-prep synthetic --out-dir DIR [--train 4000] [--test 200] [--seed 1] [--sentences 2-5]
  qwen3-prep decode --ids 40979,151643 [--tokenizer DIR] [--skip-special]
  qwen3-prep inspect FILE.qld [--n 2]`;

function main(argv: string[]): void {
  const command = argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : "encode";
  const rest = command === argv[0] ? argv.slice(1) : argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      input: { type: "string" },
      out: { type: "string" },
      "max-len": { type: "string", default: String(DEFAULT_MAX_LEN) },
      truncate: { type: "string", default: "fit" },
      tokenizer: { type: "string" },
      "out-dir": { type: "string" },
      train: { type: "string", default: "4000" },
      test: { type: "string", default: "200" },
      seed: { type: "string", default: "1" },
      sentences: { type: "string", default: "2-5" },
      ids: { type: "string" },
      "skip-special": { type: "boolean", default: false },
      n: { type: "string", default: "2" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return void console.log(USAGE);

  switch (command) {
    case "encode": {
      const truncation = values.truncate;
      if (truncation !== "fit" && truncation !== "classic") throw new Error(`--truncate must be fit or classic`);
      const input = required(values.input, "--input");
      const out = required(values.out, "--out");
      const tok = loadTokenizer(values.tokenizer);
      const stats = prepareDataset(tok, input, out, {
        maxLen: positiveInt(values["max-len"], "--max-len"),
        truncation: truncation satisfies Truncation,
      });
      return void console.log(JSON.stringify({ out, ...stats }));
    }
    case "synthetic": {
      const dir = required(values["out-dir"], "--out-dir");
      const [sMin, sMax] = values.sentences.split("-").map((s) => positiveInt(s, "--sentences"));
      const split = makeSynthetic({
        seed: Number(values.seed),
        train: positiveInt(values.train, "--train"),
        test: positiveInt(values.test, "--test"),
        sentences: [sMin ?? 2, sMax ?? sMin ?? 5],
      });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "train.jsonl"), toJsonl(split.train));
      writeFileSync(join(dir, "test.jsonl"), toJsonl(split.test));
      return void console.log(JSON.stringify({ dir, train: split.train.length, test: split.test.length }));
    }
    case "decode": {
      const ids = required(values.ids, "--ids").split(",").map((s) => Number(s.trim()));
      const text = loadTokenizer(values.tokenizer).decode(ids, { skipSpecial: values["skip-special"] });
      return void console.log(JSON.stringify({ text }));
    }
    case "inspect": {
      const file = readQld(required(positionals[0], "FILE.qld"));
      const n = Number(values.n);
      console.log(JSON.stringify({ samples: file.samples.length, decodeTable: file.decodeTable?.length ?? 0 }));
      for (const s of file.samples.slice(0, n)) {
        console.log(JSON.stringify({ ...s, tokens: [...s.tokens], labels: [...s.labels] }));
      }
      return;
    }
    default:
      throw new Error(`unknown command ${command}\n${USAGE}`);
  }
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new Error(`${name} is required\n${USAGE}`);
  return value;
}

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${value}`);
  return n;
}

try {
  main(process.argv.slice(2));
} catch (e) {
  console.error(`qwen3-prep: ${(e as Error).message}`);
  process.exitCode = 1;
}
