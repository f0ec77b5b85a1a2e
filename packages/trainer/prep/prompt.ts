// The task prompt (SwanLab's Qwen zh_cls fine-tune recipe, byte for byte as in tokenizer_golden.json:
// Qwen chat format, no <think> block) and one row -> tokens/labels with truncation to maxLen.
// Prompt and answer are tokenized separately, as the recipe does; labels are unshifted, -100 on the prompt.

import { pyReprList } from "./py-repr.js";
import { ENDOFTEXT_ID, type QwenTokenizer } from "./tokenizer.js";

export const SYSTEM_PROMPT =
  "你是一个文本分类领域的专家，你会接收到一段文本和几个潜在的分类选项，请输出文本内容的正确类型";
export const IGNORE_LABEL = -100;
export const DEFAULT_MAX_LEN = 384;

/** One line of the task JSONL (zh_cls_fudan-news). */
export interface TaskRow {
  text: string;
  category: string[];
  output: string;
}

/** fit: shorten the text inside the prompt so prompt + answer fit; classic: cut the sequence from the right. */
export type Truncation = "fit" | "classic";

export interface EncodeOptions {
  maxLen: number;
  truncation: Truncation;
}

export interface EncodedSample {
  tokens: number[];
  labels: number[];
  /** Tokens before the answer (generation starts from tokens[0:promptLen]). */
  promptLen: number;
  /** System + user message as a person reads it (with the shortened text in fit mode). */
  prompt: string;
  answer: string;
  /** Something was cut: the text (fit) or the sequence (classic). */
  truncated: boolean;
  /** No label token survived (classic cut, or a prompt without text longer than maxLen). */
  answerLost: boolean;
}

export function userMessage(text: string, categories: readonly string[]): string {
  return `文本:${text},类型选型:${pyReprList(categories)}`;
}

export function chatPrompt(user: string): string {
  return `<|im_start|>system\n${SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n`;
}

export function encodeSample(tok: QwenTokenizer, row: TaskRow, opts: EncodeOptions): EncodedSample {
  const answerIds = [...tok.encode(row.output), ENDOFTEXT_ID];
  const base = { answer: row.output, truncated: false, answerLost: false };
  if (opts.truncation === "fit") {
    const fitted = fitText(tok, row, opts.maxLen - answerIds.length);
    if (fitted !== null) {
      return { ...base, ...assemble(fitted.ids, answerIds), prompt: readable(fitted.user), truncated: fitted.truncated };
    }
  }
  const user = userMessage(row.text, row.category);
  const all = assemble(tok.encode(chatPrompt(user)), answerIds);
  if (all.tokens.length <= opts.maxLen) return { ...base, ...all, prompt: readable(user) };
  const tokens = all.tokens.slice(0, opts.maxLen);
  const labels = all.labels.slice(0, opts.maxLen);
  return {
    ...base,
    tokens,
    labels,
    promptLen: Math.min(all.promptLen, opts.maxLen),
    prompt: readable(user),
    truncated: true,
    answerLost: !labels.some((l) => l !== IGNORE_LABEL),
  };
}

function assemble(promptIds: number[], answerIds: number[]) {
  return {
    tokens: [...promptIds, ...answerIds],
    labels: [...promptIds.map(() => IGNORE_LABEL), ...answerIds],
    promptLen: promptIds.length,
  };
}

function readable(user: string): string {
  return `${SYSTEM_PROMPT}\n${user}`;
}

// The whole text when the prompt fits in budget tokens; else the text cut to its first k tokens (rounded
// down to a whole character), re-encoding the prompt and lowering k by the overshoot until it fits.
// Only the head of a long text can survive, so only a head with tokens to spare is encoded.
// null when even an empty text does not fit.
function fitText(tok: QwenTokenizer, row: TaskRow, budget: number) {
  const text = row.text.normalize("NFC"); // the tokenizer's normalizer: token bytes are NFC bytes
  let head = headOf(text, 4 * budget);
  let headIds = tok.encode(head);
  if (head.length < text.length && headIds.length < budget + 16) {
    head = text;
    headIds = tok.encode(text);
  }
  const headBytes = new TextEncoder().encode(head);
  const ends: number[] = [0];
  for (const id of headIds) ends.push((ends[ends.length - 1] ?? 0) + tok.tokenBytes(id).length);
  let k = headIds.length;
  if (head.length < text.length) k = budget - tok.encode(chatPrompt(userMessage("", row.category))).length;
  const utf8 = new TextDecoder();
  for (;;) {
    k = Math.min(Math.max(k, 0), headIds.length);
    const cut = utf8Boundary(headBytes, Math.min(ends[k] ?? 0, headBytes.length));
    const whole = head.length === text.length && cut === headBytes.length;
    const user = userMessage(whole ? row.text : utf8.decode(headBytes.subarray(0, cut)), row.category);
    const ids = tok.encode(chatPrompt(user));
    if (ids.length <= budget) return { ids, user, truncated: !whole };
    if (k === 0) return null;
    k -= ids.length - budget;
  }
}

/** The first n UTF-16 units of text, not splitting a surrogate pair. */
function headOf(text: string, n: number): string {
  if (text.length <= n) return text;
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/** Largest n' <= n such that bytes[0:n'] ends on a whole UTF-8 character. */
function utf8Boundary(bytes: Uint8Array, n: number): number {
  let i = n;
  while (i > 0 && ((bytes[i - 1] ?? 0) & 0xc0) === 0x80) i--; // back over continuation bytes
  if (i === 0) return 0;
  const lead = bytes[i - 1] ?? 0;
  const width = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  return i - 1 + width <= n ? n : i - 1;
}
