// Text values for run.log: a string with an optional caption (shown under it in the dashboard).

/** A text sample: `run.log({ sample: new Text("…", { caption: "Sports" }) })`. Arrays log several per step. */
export class Text {
  readonly text: string;
  readonly caption: string | undefined;
  constructor(text: string, options: { caption?: string } = {}) {
    this.text = String(text);
    this.caption = options.caption === undefined ? undefined : String(options.caption);
  }
}
