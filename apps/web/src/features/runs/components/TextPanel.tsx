// One text key of a run: a step picker (latest by default, follows new steps live), each item with its
// caption, whitespace kept (this is where the trainer's predictions appear).
import { useState } from "react";
import { useTexts } from "../api.js";

export function TextPanel({ runId, textKey }: { runId: string; textKey: string }) {
  const [step, setStep] = useState<number | undefined>(undefined);
  const texts = useTexts(runId, textKey, step);
  const steps = texts.data?.steps ?? [];
  const shown = step ?? steps.at(-1);
  const idx = shown === undefined ? -1 : steps.indexOf(shown);
  return (
    <figure className="chart-card text-panel" data-testid={`text-${textKey}`} data-key={textKey}>
      <figcaption>
        <span className="chart-title">{textKey}</span>
        <span className="chart-actions">
          <button className="icon-btn" aria-label="Previous step" disabled={idx <= 0} onClick={() => setStep(steps[idx - 1])}>‹</button>
          <select aria-label={`Step of ${textKey}`} value={step === undefined ? "latest" : String(step)} onChange={(e) => setStep(e.target.value === "latest" ? undefined : Number(e.target.value))}>
            <option value="latest">latest{steps.length ? ` (${steps.at(-1)})` : ""}</option>
            {[...steps].reverse().map((s) => <option key={s} value={s}>step {s}</option>)}
          </select>
          <button className="icon-btn" aria-label="Next step" disabled={idx < 0 || idx >= steps.length - 1} onClick={() => setStep(steps[idx + 1])}>›</button>
        </span>
      </figcaption>
      <div className="text-items">
        {texts.data?.items.length === 0 && <p className="muted">No text logged yet.</p>}
        {texts.data?.items.map((it) => (
          <div key={`${it.step}-${it.index}`} className="text-item" data-testid="text-item" data-step={it.step}>
            {it.caption && <div className="caption">{it.caption}</div>}
            <pre className="text-body">{it.text}</pre>
          </div>
        ))}
      </div>
    </figure>
  );
}
