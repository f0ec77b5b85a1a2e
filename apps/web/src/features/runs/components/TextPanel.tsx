// One text key of a run: a step picker (latest by default, follows new steps live), each item with its
// caption, whitespace kept (this is where the trainer's predictions appear).
import { useState } from "react";
import { useTexts } from "../api.js";
import { StepPicker } from "./StepPicker.js";

export function TextPanel({ runId, textKey }: { runId: string; textKey: string }) {
  const [step, setStep] = useState<number | undefined>(undefined);
  const texts = useTexts(runId, textKey, step);
  const steps = texts.data?.steps ?? [];
  return (
    <figure className="chart-card text-panel" data-testid={`text-${textKey}`} data-key={textKey}>
      <figcaption>
        <span className="chart-title">{textKey}</span>
        <StepPicker label={textKey} steps={steps} step={step} onChange={setStep} />
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
