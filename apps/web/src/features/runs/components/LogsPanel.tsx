// Console output of a run, live; follows the end unless the reader scrolled up.
import { useEffect, useRef } from "react";
import { useLogs } from "../api.js";

export function LogsPanel({ runId }: { runId: string }) {
  const logs = useLogs(runId);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [logs.data]);
  return (
    <div
      className="logs"
      ref={box}
      data-testid="logs"
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
      }}
    >
      {logs.data?.length === 0 && <p className="muted">No console output yet.</p>}
      {logs.data?.map((l) => (
        <div key={l.seq} className={`log-line level-${l.level}`}>
          <span className="log-time">{new Date(l.time).toLocaleTimeString()}</span>
          <span className="log-msg">{l.message}</span>
        </div>
      ))}
    </div>
  );
}
