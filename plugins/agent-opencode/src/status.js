// Installed by ao: tells ao what this OpenCode session is doing, by running `ao hook` (argv,
// no shell) on OpenCode's events. ao writes it beside the status file at each launch.
import { spawn } from "node:child_process";

const AO = __AO__;
const STATUS_FILE = __STATUS_FILE__;

// One `ao hook` at a time, in event order: two spawned at once (busy, then idle a few ms
// later) could append out of order and leave a finished turn reading as busy.
let queue = Promise.resolve();

function report(state, event, payload) {
  const args = [...AO.slice(1), "hook", "--agent", "opencode", "--state", state,
    "--status-file", STATUS_FILE, event, JSON.stringify(payload ?? {})];
  queue = queue.then(() => new Promise((done) => {
    try {
      const child = spawn(AO[0], args, { stdio: "ignore" });
      child.on("error", done);
      child.on("exit", done);
    } catch {
      done();
    }
  }));
}

// A turn that failed ends with session.error and, ~4 ms later, session.idle: the error is
// kept per session until the next turn starts, so the idle cannot hide it.
const failed = new Map();

export const AoStatus = async () => ({
  event: async ({ event }) => {
    const p = event.properties ?? {};
    const sessionID = p.sessionID ?? p.info?.sessionID ?? p.info?.id;
    const idle = () => {
      if (failed.has(sessionID)) report("blocked", event.type, { sessionID, message: failed.get(sessionID) });
      else report("ready", event.type, { sessionID });
    };
    switch (event.type) {
      case "session.status": {
        const t = p.status?.type;
        if (t === "busy" || t === "retry") {
          if (t === "busy") failed.delete(sessionID);
          report("active", event.type, { sessionID });
        } else if (t === "idle") idle();
        break;
      }
      case "session.idle":
        idle();
        break;
      case "permission.updated":
      case "permission.asked":
        report("waiting_input", event.type, { sessionID, message: String(p.title ?? "permission") });
        break;
      case "permission.replied":
        report("active", event.type, { sessionID });
        break;
      case "session.error": {
        const message = String(p.error?.data?.message ?? p.error?.name ?? "error");
        failed.set(sessionID, message);
        report("blocked", event.type, { sessionID, message });
        break;
      }
    }
  },
  "tool.execute.before": async (input) => {
    report("active", "tool.execute.before", { sessionID: input.sessionID, tool_name: input.tool });
  },
});
