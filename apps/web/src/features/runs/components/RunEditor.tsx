// The run's name, description and tags, edited in place on the run page (members and up; the server
// checks). Tags are typed comma-separated; the server trims them and names the one it refuses.
import { useState, type FormEvent } from "react";
import type { Run } from "@swanhouse/contracts";
import { useUpdateRun } from "../api.js";
import { ErrorNote } from "../../../components/ui.js";

const parseTags = (text: string) => [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];

export function RunEditor({ run, onDone }: { run: Run; onDone: () => void }) {
  const update = useUpdateRun(run.id);
  const [name, setName] = useState(run.name);
  const [description, setDescription] = useState(run.description);
  const [tags, setTags] = useState(run.tags.join(", "));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ name, description, tags: parseTags(tags) }, { onSuccess: onDone });
  };
  return (
    <form className="card fields run-editor" onSubmit={submit} aria-label="Edit run">
      <label>
        Name
        <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Description
        <textarea rows={3} maxLength={2000} value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label>
        Tags (comma-separated)
        <input value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <ErrorNote error={update.error} />
      <div className="row">
        <button className="btn primary" type="submit" disabled={update.isPending}>Save</button>
        <button className="btn" type="button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}
