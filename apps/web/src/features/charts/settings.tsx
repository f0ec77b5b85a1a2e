// Chart settings shared by every chart of a page (as in SwanLab): smoothing, x axis, log y. Kept in
// localStorage so a reload keeps them.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import type { XAxisMode } from "../../charts/options/line.js";

export type ChartSettings = { smoothing: number; xAxis: XAxisMode; logY: boolean };
const DEFAULTS: ChartSettings = { smoothing: 0, xAxis: "step", logY: false };
const STORAGE_KEY = "swanhouse.chartSettings";

const Ctx = createContext<{ settings: ChartSettings; set: (p: Partial<ChartSettings>) => void }>({ settings: DEFAULTS, set: () => {} });

function load(): ChartSettings {
  try {
    return { ...DEFAULTS, ...(JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}") as Partial<ChartSettings>) };
  } catch {
    return DEFAULTS;
  }
}

export function ChartSettingsProvider({ children }: { children: ReactNode }) {
  const [settings, setSettings] = useState<ChartSettings>(load);
  useEffect(() => localStorage.setItem(STORAGE_KEY, JSON.stringify(settings)), [settings]);
  return <Ctx.Provider value={{ settings, set: (p) => setSettings((s) => ({ ...s, ...p })) }}>{children}</Ctx.Provider>;
}

export const useChartSettings = () => useContext(Ctx);

export function ChartToolbar() {
  const { settings, set } = useChartSettings();
  return (
    <div className="chart-toolbar" role="toolbar" aria-label="Chart settings">
      <label>
        Smoothing
        <input type="range" min={0} max={0.99} step={0.01} value={settings.smoothing} aria-label="Smoothing" onChange={(e) => set({ smoothing: Number(e.target.value) })} />
        <span className="mono">{settings.smoothing.toFixed(2)}</span>
      </label>
      <label>
        X axis
        <select value={settings.xAxis} aria-label="X axis" onChange={(e) => set({ xAxis: e.target.value as XAxisMode })}>
          <option value="step">Step</option>
          <option value="relative">Relative time</option>
          <option value="wall">Wall time</option>
        </select>
      </label>
      <label>
        <input type="checkbox" checked={settings.logY} aria-label="Log scale" onChange={(e) => set({ logY: e.target.checked })} /> Log y
      </label>
    </div>
  );
}
