// Public API of the trainer's data preparation (the job worker calls it before launching qwen3-lora).

export { loadTokenizer, bundledTokenizerPath, ENDOFTEXT_ID, IM_START_ID, IM_END_ID } from "./tokenizer.js";
export type { QwenTokenizer } from "./tokenizer.js";
export { SYSTEM_PROMPT, DEFAULT_MAX_LEN, IGNORE_LABEL, chatPrompt, userMessage, encodeSample } from "./prompt.js";
export type { TaskRow, Truncation, EncodeOptions, EncodedSample } from "./prompt.js";
export { parseTaskJsonl, encodeRows, prepareDataset, readQld, decodeTableOf } from "./dataset.js";
export type { DatasetStats } from "./dataset.js";
export { encodeQld, decodeQld } from "./qld.js";
export type { QldFile, QldSample } from "./qld.js";
export { makeSynthetic, toJsonl, FUDAN_CATEGORIES } from "./synthetic.js";
export type { SyntheticOptions, SyntheticSplit } from "./synthetic.js";
export { pyReprList, pyReprStr } from "./py-repr.js";
