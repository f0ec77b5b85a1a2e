// Synthetic data: deterministic per seed, well-formed rows, every category present, and tokenizes short.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FUDAN_CATEGORIES, makeSynthetic, toJsonl } from "./synthetic.js";
import { parseTaskJsonl } from "./dataset.js";

describe("synthetic data set", () => {
  it("is deterministic by seed", () => {
    const a = makeSynthetic({ seed: 42, train: 50, test: 10 });
    const b = makeSynthetic({ seed: 42, train: 50, test: 10 });
    const c = makeSynthetic({ seed: 43, train: 50, test: 10 });
    expect(toJsonl(a.train) + toJsonl(a.test)).toBe(toJsonl(b.train) + toJsonl(b.test));
    expect(toJsonl(a.train)).not.toBe(toJsonl(c.train));
    expect(toJsonl(a.test)).not.toBe(toJsonl(a.train.slice(0, 10)));
  });

  it("makes rows in the task format: true label among 2-4 distinct candidates", () => {
    const { train, test } = makeSynthetic({ seed: 1, train: 400, test: 40 });
    expect(FUDAN_CATEGORIES).toHaveLength(20);
    expect(parseTaskJsonl(toJsonl(train))).toEqual(train);
    for (const row of [...train, ...test]) {
      expect(row.category).toContain(row.output);
      expect(new Set(row.category).size).toBe(row.category.length);
      expect(row.category.length).toBeGreaterThanOrEqual(2);
      expect(row.category.length).toBeLessThanOrEqual(4);
      expect(row.text).toMatch(/^[\u4e00-\u9fff。，]+$/);
    }
    expect(new Set(train.map((r) => r.output)).size).toBe(20);
    // The true label is not always in the same slot of the list.
    expect(new Set(train.map((r) => r.category.indexOf(r.output))).size).toBeGreaterThan(2);
  });

  it("regenerates the committed sample data/sample (seed 1, 32 train + 8 test) byte for byte", () => {
    const { train, test } = makeSynthetic({ seed: 1, train: 32, test: 8 });
    const read = (name: string) => readFileSync(new URL(`../data/sample/${name}`, import.meta.url), "utf8");
    expect(toJsonl(train)).toBe(read("train.jsonl"));
    expect(toJsonl(test)).toBe(read("test.jsonl"));
  });
});
