import { describe, expect, it } from "vitest";
import { groupBySection, sectionOf } from "./sections.js";

describe("sections", () => {
  it("groups by the prefix before the first slash, default first", () => {
    expect(sectionOf("train/loss")).toBe("train");
    expect(sectionOf("a/b/c")).toBe("a");
    expect(sectionOf("loss")).toBe("default");
    expect(sectionOf("__swanlab__.gpu.0.util")).toBe("system");
    expect(groupBySection(["val/acc", "loss", "train/loss", "train/lr"])).toEqual([
      { section: "default", keys: ["loss"] },
      { section: "train", keys: ["train/loss", "train/lr"] },
      { section: "val", keys: ["val/acc"] },
    ]);
  });
});
