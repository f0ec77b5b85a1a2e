// Task JSONL (text, category list, output) -> encoded samples -> .qld file, plus the matching readers.
// Each bad line is reported with its line number; nothing is written unless every line parses.

import { readFileSync, writeFileSync } from "node:fs";
import { encodeSample, type EncodeOptions, type EncodedSample, type TaskRow } from "./prompt.js";
import { decodeQld, encodeQld, type QldFile } from "./qld.js";
import type { QwenTokenizer } from "./tokenizer.js";

export interface DatasetStats {
  samples: number;
  tokens: number;
  maxTokens: number;
  truncated: number;
  /** Samples left without any label token (classic cut); they train nothing. */
  answerLost: number;
}

export function parseTaskJsonl(content: string, source = "input"): TaskRow[] {
  const rows: TaskRow[] = [];
  content.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${source}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    rows.push(checkRow(value, `${source}:${i + 1}`));
  });
  return rows;
}

function checkRow(value: unknown, where: string): TaskRow {
  const v = value as Partial<Record<keyof TaskRow, unknown>> | null;
  if (typeof v !== "object" || v === null) throw new Error(`${where}: expected an object`);
  if (typeof v.text !== "string") throw new Error(`${where}: "text" must be a string`);
  if (typeof v.output !== "string") throw new Error(`${where}: "output" must be a string`);
  if (!Array.isArray(v.category) || !v.category.every((c) => typeof c === "string")) {
    throw new Error(`${where}: "category" must be a list of strings`);
  }
  return { text: v.text, category: v.category as string[], output: v.output };
}

export function encodeRows(tok: QwenTokenizer, rows: readonly TaskRow[], opts: EncodeOptions) {
  const samples = rows.map((row) => encodeSample(tok, row, opts));
  return { samples, stats: statsOf(samples) };
}

function statsOf(samples: readonly EncodedSample[]): DatasetStats {
  return {
    samples: samples.length,
    tokens: samples.reduce((a, s) => a + s.tokens.length, 0),
    maxTokens: samples.reduce((a, s) => Math.max(a, s.tokens.length), 0),
    truncated: samples.filter((s) => s.truncated).length,
    answerLost: samples.filter((s) => s.answerLost).length,
  };
}

export function decodeTableOf(tok: QwenTokenizer): Uint8Array[] {
  return Array.from({ length: tok.vocabSize }, (_, id) => tok.tokenBytes(id));
}

/** Reads the task JSONL at inputPath and writes the .qld file (with a decode table) to outPath. */
export function prepareDataset(
  tok: QwenTokenizer,
  inputPath: string,
  outPath: string,
  opts: EncodeOptions,
): DatasetStats {
  const rows = parseTaskJsonl(readFileSync(inputPath, "utf8"), inputPath);
  const { samples, stats } = encodeRows(tok, rows, opts);
  writeFileSync(outPath, encodeQld(samples, decodeTableOf(tok)));
  return stats;
}

export function readQld(path: string): QldFile {
  return decodeQld(readFileSync(path));
}
