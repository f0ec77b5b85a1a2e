// The empty-project state: how to log into this server (CLI login, a SwanLab SDK snippet, curl).
import { CodeBlock } from "./ui.js";
import { Link } from "../app/router.js";

export function HowToLog({ workspace, project }: { workspace: string; project: string }) {
  const host = window.location.origin;
  const py = [
    "import swanlab",
    "",
    `swanlab.init(project="${project}", workspace="${workspace}", config={"lr": 1e-4})`,
    "for step in range(100):",
    '    swanlab.log({"train/loss": 1 / (step + 1)}, step=step)',
    "swanlab.finish()",
  ].join("\n");
  const curl = [
    `KEY=<your API key>`,
    `RUN=$(curl -s -X POST ${host}/api/v1/runs -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\`,
    `  -d '{"project":"${project}","workspace":"${workspace}","name":"first-run"}' | sed -E 's/.*"id":"([^"]+)".*/\\1/')`,
    `curl -X POST ${host}/api/v1/runs/$RUN/log -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\`,
    `  -d '{"metrics":[{"key":"train/loss","step":0,"value":1.0},{"key":"train/loss","step":1,"value":0.5}]}'`,
  ].join("\n");
  return (
    <div className="card how-to-log" data-testid="how-to-log">
      <h2>No runs yet: log your first one</h2>
      <ol>
        <li>
          Create an API key in <Link to="/settings">Settings</Link>, then log in from the command line:
          <CodeBlock code={`swanlab login --host ${host}`} />
        </li>
        <li>
          Log from Python with the SwanLab SDK:
          <CodeBlock code={py} />
        </li>
        <li>
          Or with plain HTTP:
          <CodeBlock code={curl} />
        </li>
      </ol>
    </div>
  );
}
