// .qld round trip: write with prepareDataset, read back, compare with the encoder's output byte for byte.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows, parseTaskJsonl, prepareDataset, readQld } from "./dataset.js";
import { decodeQld, encodeQld } from "./qld.js";
import { makeSynthetic, toJsonl } from "./synthetic.js";
import { loadTokenizer, type QwenTokenizer } from "./tokenizer.js";

let tok: QwenTokenizer;
const dir = mkdtempSync(join(tmpdir(), "qld-"));
beforeAll(() => {
  tok = loadTokenizer();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(".qld file", () => {
  it("round-trips tokens, labels, prompt lengths, texts and the decode table", () => {
    const rows = makeSynthetic({ seed: 7, train: 12, test: 0 }).train;
    rows.push({ text: "引号'和\"反斜杠\\ 😀 ñ", category: ["Law", "Art"], output: "Law" });
    const input = join(dir, "in.jsonl");
    const out = join(dir, "out.qld");
    writeFileSync(input, toJsonl(rows));
    const opts = { maxLen: 64, truncation: "fit" as const };
    const stats = prepareDataset(tok, input, out, opts);
    const { samples } = encodeRows(tok, rows, opts);
    expect(stats.samples).toBe(13);
    expect(stats.maxTokens).toBeLessThanOrEqual(64);

    const file = readQld(out);
    expect(file.samples).toHaveLength(13);
    file.samples.forEach((s, i) => {
      const want = samples[i]!;
      expect([...s.tokens]).toEqual(want.tokens);
      expect([...s.labels]).toEqual(want.labels);
      expect(s.promptLen).toBe(want.promptLen);
      expect(s.prompt).toBe(want.prompt);
      expect(s.answer).toBe(rows[i]!.output);
    });
    const table = file.decodeTable!;
    expect(table).toHaveLength(tok.vocabSize);
    const last = file.samples[12]!;
    const text = Buffer.concat([...last.tokens].map((id) => table[id]!)).toString("utf8");
    expect(text).toContain("引号'和\"反斜杠\\ 😀 ñ");
    expect(text.endsWith("Law<|endoftext|>")).toBe(true);
  });

  it("has the documented header and rejects damaged files", () => {
    const buf = encodeQld([{ tokens: [1, 2, 3], labels: [-100, 2, 3], promptLen: 1, prompt: "p", answer: "a" }]);
    expect(buf.subarray(0, 4).toString()).toBe("QLD1");
    expect([buf.readUInt32LE(4), buf.readUInt32LE(8), buf.readUInt32LE(12)]).toEqual([1, 1, 0]);
    // 16 header + offsets 2*8 + tokens 12 + labels 12 + prompt_len 4 + text offsets 3*8 + texts 2
    expect(buf.length).toBe(16 + 16 + 12 + 12 + 4 + 24 + 2);
    expect(decodeQld(buf).samples[0]!.labels).toEqual(Int32Array.from([-100, 2, 3]));
    expect(() => decodeQld(buf.subarray(0, buf.length - 1))).toThrow(/truncated/);
    expect(() => decodeQld(Buffer.concat([buf, Buffer.from([0])]))).toThrow(/trailing/);
    expect(() => decodeQld(Buffer.from("QLD2" + "\0".repeat(12)))).toThrow(/magic/);
  });

  it("reports bad JSONL lines with their line number", () => {
    expect(() => parseTaskJsonl('{"text":"a","category":["A"],"output":"A"}\n{"text":1}', "x.jsonl")).toThrow(
      /x\.jsonl:2: "text"/,
    );
    expect(() => parseTaskJsonl("{oops", "x.jsonl")).toThrow(/x\.jsonl:1: not JSON/);
    expect(parseTaskJsonl('\n{"text":"a","category":[],"output":"A"}\n\n')).toHaveLength(1);
  });

  it("writes exactly what readFileSync gives back", () => {
    const out = join(dir, "small.qld");
    const buf = encodeQld([{ tokens: [5], labels: [5], promptLen: 0, prompt: "", answer: "x" }], [Uint8Array.of(65)]);
    writeFileSync(out, buf);
    expect(readFileSync(out).equals(buf)).toBe(true);
    expect(readQld(out).decodeTable).toEqual([Uint8Array.of(65)]);
  });
});
