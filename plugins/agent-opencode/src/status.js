// Installed by ao: tells ao what this OpenCode session is doing, by running `ao hook` (argv,
// no shell) on OpenCode's events. Safe to delete; ao reinstalls it at the next spawn.
import { spawn } from "node:child_process";

const AO = __AO__;
const STATUS_FILE = __STATUS_FILE__;

function report(state, event, payload) {
  try {
    const args = [...AO.slice(1), "hook", "--agent", "opencode", "--state", state,
      "--status-file", STATUS_FILE, event, JSON.stringify(payload ?? {})];
    const child = spawn(AO[0], args, { stdio: "ignore" });
    child.on("error", () => {});
    child.unref();
  } catch {}
}

export const AoStatus = async () => ({
  event: async ({ event }) => {
    const p = event.properties ?? {};
    const sessionID = p.sessionID ?? p.info?.sessionID ?? p.info?.id;
    switch (event.type) {
      case "session.status": {
        const t = p.status?.type;
        if (t === "busy" || t === "retry") report("active", event.type, { sessionID });
        else if (t === "idle") report("ready", event.type, { sessionID });
        break;
      }
      case "session.idle":
        report("ready", event.type, { sessionID });
        break;
      case "permission.updated":
      case "permission.asked":
        report("waiting_input", event.type, { sessionID, message: String(p.title ?? "permission") });
        break;
      case "permission.replied":
        report("active", event.type, { sessionID });
        break;
      case "session.error":
        report("blocked", event.type, {
          sessionID,
          message: String(p.error?.data?.message ?? p.error?.name ?? "error"),
        });
        break;
    }
  },
  "tool.execute.before": async (input) => {
    report("active", "tool.execute.before", { sessionID: input.sessionID, tool_name: input.tool });
  },
});
