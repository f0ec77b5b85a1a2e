import { describe, expect, it } from "vitest";
import { buildJobBody, initialForm } from "./form.js";

describe("job form", () => {
  it("gives the recipe defaults and a synthetic demo body", () => {
    const r = buildJobBody({ ...initialForm(), project: "demo", runName: "first" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body.hyperparameters).toMatchObject({ learningRate: 1e-4, epochs: 2, microBatch: 4, gradientAccumulation: 4, loraR: 8, loraAlpha: 32, loraDropout: 0.1, maxLength: 384 });
    expect(r.body.data).toEqual({ kind: "synthetic", trainSamples: 1600, testSamples: 100, seed: 1 });
    expect(r.body.model).toEqual({ kind: "init-random", config: "tiny", seed: 1 });
  });

  it("names each bad field", () => {
    const f = initialForm();
    f.hyper.learningRate = "fast";
    f.hyper.epochs = "1.5";
    f.dataMode = "path";
    f.trainPath = "relative.jsonl";
    const r = buildJobBody(f);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toMatchObject({
      project: expect.any(String),
      runName: expect.any(String),
      "hyperparameters.learningRate": "not a number",
      "hyperparameters.epochs": "a whole number",
      "data.train": "an absolute path on the worker host",
    });
  });

  it("requires a file in upload mode", () => {
    const r = buildJobBody({ ...initialForm(), project: "p", runName: "r", dataMode: "upload" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors["data.train"]).toBe("choose a JSONL file");
  });
});
