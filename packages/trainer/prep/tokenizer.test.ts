// The bundled Qwen3 tokenizer against Hugging Face tokenizers (Rust) ids in fixtures/tokenizer_golden.json.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDOFTEXT_ID, IM_END_ID, loadTokenizer, type QwenTokenizer } from "./tokenizer.js";

interface GoldenCase {
  text: string;
  ids: number[];
  decoded_skip_special: string;
}
const golden = JSON.parse(
  readFileSync(new URL("./fixtures/tokenizer_golden.json", import.meta.url), "utf8"),
) as GoldenCase[];

let tok: QwenTokenizer;
beforeAll(() => {
  tok = loadTokenizer();
});

describe("Qwen3 tokenizer", () => {
  it.each(golden.map((c) => [c.text.slice(0, 24), c] as const))("encodes %j like Hugging Face", (_, c) => {
    expect(tok.encode(c.text)).toEqual(c.ids);
  });

  it.each(golden.map((c) => [c.text.slice(0, 24), c] as const))("decodes %j", (_, c) => {
    expect(tok.decode(c.ids, { skipSpecial: true })).toBe(c.decoded_skip_special);
    expect(tok.decode(c.ids)).toBe(c.text);
  });

  it("decode table bytes concatenate to the UTF-8 text", () => {
    for (const c of golden) {
      const bytes = Buffer.concat(c.ids.map((id) => tok.tokenBytes(id)));
      expect(bytes.toString("utf8")).toBe(c.text);
    }
    // 128505 is a partial UTF-8 token: 'é' split across tokens, so it must stay raw bytes.
    expect(Buffer.from(tok.tokenBytes(ENDOFTEXT_ID)).toString()).toBe("<|endoftext|>");
    expect(Buffer.from(tok.tokenBytes(IM_END_ID)).toString()).toBe("<|im_end|>");
    expect(tok.vocabSize).toBe(151669);
    expect(tok.tokenBytes(151935).length).toBe(0);
  });

  it("loads a model directory's own tokenizer.json and fails clearly without one", () => {
    expect(() => loadTokenizer("/nonexistent-model-dir")).toThrow(/tokenizer.json not found/);
  });
});
