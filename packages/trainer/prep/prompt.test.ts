// Prompt format (byte for byte against the golden prompt), Python list repr, and both truncation modes.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { chatPrompt, encodeSample, IGNORE_LABEL, userMessage, type TaskRow } from "./prompt.js";
import { pyReprList } from "./py-repr.js";
import { ENDOFTEXT_ID, loadTokenizer, type QwenTokenizer } from "./tokenizer.js";

const golden = JSON.parse(
  readFileSync(new URL("./fixtures/tokenizer_golden.json", import.meta.url), "utf8"),
) as { text: string; ids: number[] }[];
const goldenPrompt = golden[0]!;
const NEWS =
  "第四届全国大企业足球赛复赛结束新华社郑州５月３日电（实习生田兆运）上海大隆机器厂队昨天在洛阳进行的第四届牡丹杯全国大企业足球赛复赛中，以５：４力克成都冶金实验厂队，进入前四名。";

let tok: QwenTokenizer;
beforeAll(() => {
  tok = loadTokenizer();
});

describe("prompt", () => {
  it("matches the golden task prompt byte for byte, and its ids", () => {
    const prompt = chatPrompt(userMessage(NEWS, ["Sports", "Politics"]));
    expect(prompt).toBe(goldenPrompt.text);
    expect(tok.encode(prompt)).toEqual(goldenPrompt.ids);
  });

  it("prints category lists as Python's str(list) does", () => {
    // Expected strings printed by CPython 3: str(["it's", 'say "hi"', ...]).
    const items = ["it's", 'say "hi"', "both ' \"", "back\\slash", "tab\tnl\n", "\x00\x7f", "\u00a0\u200b\u2028", "😀", "中文"];
    expect(pyReprList(items)).toBe(
      `["it's", 'say "hi"', 'both \\' "', 'back\\\\slash', 'tab\\tnl\\n', '\\x00\\x7f', '\\xa0\\u200b\\u2028', '😀', '中文']`,
    );
    expect(pyReprList([])).toBe("[]");
  });

  it("labels only the answer and <|endoftext|>", () => {
    const s = encodeSample(tok, { text: NEWS, category: ["Sports", "Politics"], output: "Sports" }, { maxLen: 384, truncation: "fit" });
    expect(s.tokens).toEqual([...goldenPrompt.ids, 40979, ENDOFTEXT_ID]);
    expect(s.promptLen).toBe(goldenPrompt.ids.length);
    expect(s.labels).toEqual([...goldenPrompt.ids.map(() => IGNORE_LABEL), 40979, ENDOFTEXT_ID]);
    expect(s.truncated).toBe(false);
  });
});

describe("truncation", () => {
  const long: TaskRow = { text: NEWS.repeat(12), category: ["Economy", "Sports", "Law"], output: "Economy" };
  const answer = () => [...tok.encode("Economy"), ENDOFTEXT_ID];

  it("fit: shortens the text, keeps the whole answer and the category list, respects max length", () => {
    for (const maxLen of [96, 128, 384]) {
      const s = encodeSample(tok, long, { maxLen, truncation: "fit" });
      expect(s.tokens.length).toBeLessThanOrEqual(maxLen);
      expect(s.tokens.length).toBeGreaterThan(maxLen - 4); // the text fills the budget
      expect(s.truncated).toBe(true);
      expect(s.answerLost).toBe(false);
      expect(s.tokens.slice(s.promptLen)).toEqual(answer());
      expect(s.labels.filter((l) => l !== IGNORE_LABEL)).toEqual(answer());
      const prompt = tok.decode(s.tokens.slice(0, s.promptLen));
      expect(prompt.endsWith(`,类型选型:['Economy', 'Sports', 'Law']<|im_end|>\n<|im_start|>assistant\n`)).toBe(true);
      const cutText = /文本:(.*),类型选型:/s.exec(prompt)?.[1] ?? "";
      expect(cutText.length).toBeGreaterThan(0);
      expect(long.text.startsWith(cutText)).toBe(true);
      expect(s.prompt).toContain(cutText);
    }
  });

  it("fit: also fills the budget when tokens are long (the encoded head of the text is too short)", () => {
    const words: TaskRow = { text: " internationalization".repeat(400), category: ["Economy"], output: "Economy" };
    const s = encodeSample(tok, words, { maxLen: 128, truncation: "fit" });
    expect(s.tokens.length).toBeLessThanOrEqual(128);
    expect(s.tokens.length).toBeGreaterThan(124);
    expect(s.tokens.slice(s.promptLen)).toEqual(answer());
    const short = encodeSample(tok, { ...words, text: "短文本" }, { maxLen: 128, truncation: "fit" });
    expect(short.truncated).toBe(false);
    expect(short.prompt.endsWith("文本:短文本,类型选型:['Economy']")).toBe(true);
  });

  it("fit: falls back to the classic cut when even an empty text cannot fit", () => {
    const s = encodeSample(tok, long, { maxLen: 40, truncation: "fit" });
    expect(s.tokens.length).toBe(40);
    expect(s.answerLost).toBe(true);
  });

  it("classic: cuts the whole sequence from the right, losing the answer", () => {
    const full = encodeSample(tok, long, { maxLen: 100_000, truncation: "classic" });
    const s = encodeSample(tok, long, { maxLen: 128, truncation: "classic" });
    expect(s.tokens).toEqual(full.tokens.slice(0, 128));
    expect(s.labels.every((l) => l === IGNORE_LABEL)).toBe(true);
    expect(s.answerLost).toBe(true);
    expect(s.promptLen).toBe(128);
    const tight = encodeSample(tok, long, { maxLen: full.tokens.length - 1, truncation: "classic" });
    expect(tight.labels.filter((l) => l !== IGNORE_LABEL)).toEqual(answer().slice(0, -1));
    expect(tight.answerLost).toBe(false);
  });
});
