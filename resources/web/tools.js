// Tool calls in the web page: a folded block per call (tool and server, arguments, result or
// error, time taken), live while it runs, asking for a decision when the call waits for one.
// A call is known from up to three places, merged here: the stored assistant message that
// made it (`tool_calls`), the stored `tool` message that answers it (`tool_call_id`), and
// the stream's `tool_call` / `tool_approval` / `tool_result` events. A tool's output is
// data: it is shown as text, never as markup.
"use strict";

window.DesktopChat = window.DesktopChat || {};

window.DesktopChat.tools = (() => {
  const DECISIONS = [
    ["once", "Run once"],
    ["always", "Always run this tool"],
    ["deny", "Deny"],
  ];

  function split(name) {
    // `server__tool` as the API names it; a name without the separator is all tool.
    const at = name.indexOf("__");
    return at < 0 ? { server: "", tool: name } : { server: name.slice(0, at), tool: name.slice(at + 2) };
  }

  function pretty(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  class Calls {
    constructor(decide) {
      this.decide = decide; // (callId, decision) => void
      this.live = new Map(); // call id -> what the stream told of it
      this.open = new Set(); // ids of the blocks unfolded, kept across renders
    }

    reset() {
      this.live.clear();
      this.open.clear();
    }

    update(id, fields) {
      this.live.set(id, { ...this.live.get(id), ...fields });
    }

    event(type, data) {
      const { call_id: id, server, tool, arguments: args } = data;
      if (type === "tool_call") this.update(id, { server, tool, arguments: args });
      else if (type === "tool_approval") this.update(id, { server, tool, arguments: args, waiting: true });
      else if (type === "tool_result") {
        const result = { text: data.result, error: data.is_error, ms: data.duration_ms };
        this.update(id, { server, tool, result, waiting: false, answering: false });
      }
    }

    // Calls still waiting when the conversation was opened (`reply.tool_approvals`).
    waitingFrom(approvals) {
      for (const asked of approvals || []) this.event("tool_approval", asked);
    }

    answering(id, busy) {
      this.update(id, { answering: busy });
    }

    answered(id) {
      this.update(id, { waiting: false, answering: false });
    }

    // The rows of the conversation: bubbles from `bubble`, each call's block after the
    // message that made it, `tool` messages inside their blocks, calls known only from
    // the stream (not stored yet) at the end.
    rows(ordered, bubble) {
      const results = new Map(ordered.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, m]));
      const placed = new Set();
      const rows = [];
      for (const message of ordered) {
        if (message.role === "tool") continue;
        const calls = message.tool_calls || [];
        const failed = message.status && message.status !== "complete";
        if (!calls.length || message.content.trim() || failed) rows.push(bubble(message));
        for (const call of calls) {
          placed.add(call.id);
          rows.push(this.block(call.id, call, results.get(call.id)));
        }
      }
      for (const id of [...this.live.keys(), ...results.keys()]) {
        if (placed.has(id)) continue;
        placed.add(id);
        rows.push(this.block(id, null, results.get(id)));
      }
      return rows;
    }

    block(id, stored, answer) {
      const live = this.live.get(id) || {};
      const named = stored ? split(stored.function.name) : { server: "", tool: "?" };
      const server = live.server ?? named.server;
      const tool = live.tool ?? named.tool;
      const args = live.arguments ?? (stored ? stored.function.arguments : "");
      const result = answer
        ? { text: answer.content, error: answer.status !== "complete", ms: answer.duration_ms }
        : live.result;
      const waiting = !result && live.waiting;
      let state = waiting ? "waiting for your decision" : "running…";
      if (result) {
        const took = `${((result.ms || 0) / 1000).toFixed(1)} s`;
        state = result.error ? `error · ${took}` : `done · ${took}`;
      }

      const row = element("li", "tool-call");
      row.dataset.callId = id;
      row.classList.toggle("failed", Boolean(result && result.error));
      row.classList.toggle("running", !result);
      const details = element("details");
      details.open = this.open.has(id) || Boolean(waiting);
      details.addEventListener("toggle", () => {
        if (details.open) this.open.add(id);
        else this.open.delete(id);
      });
      const name = server ? `${server}/${tool}` : tool;
      details.append(element("summary", "", `Tool ${name} · ${state}`));
      details.append(element("h4", "", "Arguments"), element("pre", "", pretty(args)));
      if (result) details.append(element("h4", "", "Result"), element("pre", "", result.text));
      row.append(details);
      if (waiting) row.append(this.prompt(id, server, tool, live.answering));
      return row;
    }

    prompt(id, server, tool, answering) {
      const box = element("div", "approval");
      box.append(element("p", "", `Let the MCP server ${server} run its tool ${tool} with these arguments?`));
      const buttons = element("div", "decisions");
      for (const [decision, label] of DECISIONS) {
        const button = element("button", decision === "once" ? "" : "secondary", label);
        button.type = "button";
        button.dataset.decision = decision;
        button.disabled = Boolean(answering);
        button.addEventListener("click", () => this.decide(id, decision));
        buttons.append(button);
      }
      box.append(buttons);
      return box;
    }
  }

  return { Calls };
})();
