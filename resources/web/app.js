// The desktop_chat web page: plain JavaScript, no build step.
// It keeps the API token in sessionStorage (this tab only), talks JSON with fetch, and
// follows a conversation through EventSource. EventSource cannot send an Authorization
// header, so each connection uses a fresh single-use stream ticket, and the page
// reconnects by itself, passing the last event id it saw so that nothing is lost.
// Files (files.js) and tool calls (tools.js) are drawn by their own scripts, loaded first.
"use strict";

(() => {
  const TOKEN_KEY = "desktop_chat.token";
  const RETRY_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const { files, tools } = window.DesktopChat;

  const state = {
    token: null,
    current: null, // id of the open conversation
    generation: 0, // bumped when another conversation opens: stale streams stand down
    messages: new Map(), // stored messages of the open conversation, by id
    pending: null, // the reply being written: {text, reasoning}
    busy: false,
    stream: null,
    lastEventId: null,
    retryTimer: null,
    renderQueued: false,
    offline: false, // the error shown is "the server cannot be reached"
    tray: null, // the files chosen for the next message (files.Tray)
    shelf: null, // the files of the open conversation's messages (files.Shelf)
    calls: null, // the tool calls of the open conversation (tools.Calls)
  };

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function request(method, path, body) {
    const headers = { Authorization: `Bearer ${state.token}` };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new HttpError(0, "The server cannot be reached."); // stopped, or the network is down
    }
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      const message = (data && data.error && data.error.message) || `${response.status} ${response.statusText}`;
      if (response.status === 401) forgetToken(message);
      throw new HttpError(response.status, message);
    }
    return response;
  }

  async function api(method, path, body) {
    const response = await request(method, path, body);
    if (response.status === 204) return null;
    return response.json().catch(() => null);
  }

  async function fetchBlob(path) {
    return (await request("GET", path)).blob();
  }

  // Token ----------------------------------------------------------------------------

  function takeTokenFromFragment() {
    // A link may carry the token in its #fragment, which never reaches any server.
    const match = /^#token=(.+)$/.exec(location.hash);
    if (match) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname);
    }
  }

  function forgetToken(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    closeStream();
    state.generation += 1;
    state.shelf.reset(null);
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("token").focus();
  }

  async function login(token) {
    state.token = token;
    try {
      await api("GET", "/api/agents");
    } catch (error) {
      if (error.status !== 401) forgetToken(error.message);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = ""; // the token is kept in sessionStorage, not left in the form
    $("login-error").textContent = "";
    $("login").hidden = true;
    $("app").hidden = false;
    await Promise.all([loadAgents(), loadConversations()]).catch(showError);
  }

  // Lists ----------------------------------------------------------------------------

  async function loadAgents() {
    const { items } = await api("GET", "/api/agents");
    const select = $("agent");
    select.replaceChildren(
      ...items.map((agent) => {
        const option = new Option(`${agent.name} (${agent.model})`, agent.agent_id);
        option.selected = agent.is_default;
        return option;
      }),
    );
  }

  let listTimer = null;
  function refreshListSoon() {
    clearTimeout(listTimer);
    listTimer = setTimeout(() => loadConversations().catch(showError), 300);
  }

  async function loadConversations() {
    const query = $("search").value.trim();
    const params = new URLSearchParams({ limit: "100" });
    if (query) params.set("q", query);
    const page = await api("GET", `/api/conversations?${params}`);
    $("conversations").replaceChildren(
      ...page.items.map((conversation) => {
        const item = document.createElement("li");
        item.textContent = (conversation.pinned ? "📌 " : "") + (conversation.title || "(untitled)");
        item.dataset.id = conversation.id;
        item.classList.toggle("active", conversation.id === state.current);
        item.addEventListener("click", () => openConversation(conversation.id));
        return item;
      }),
    );
  }

  // Conversation ---------------------------------------------------------------------

  function openConversation(id) {
    closeStream();
    state.generation += 1;
    state.current = id;
    state.messages.clear();
    state.shelf.reset(id); // the files shown so far: their blob URLs are revoked
    state.calls.reset();
    state.pending = null;
    state.busy = false;
    state.lastEventId = null;
    showError("");
    for (const item of $("conversations").children) {
      item.classList.toggle("active", item.dataset.id === id);
    }
    $("text").disabled = false;
    $("attach").disabled = false;
    connect(state.generation);
    render();
  }

  async function loadDetail(generation) {
    const detail = await api("GET", `/api/conversations/${encodeURIComponent(state.current)}`);
    if (generation !== state.generation) return;
    $("title").textContent = detail.title || "(untitled)";
    for (const message of detail.messages) state.messages.set(message.id, message);
    if (detail.reply) state.calls.waitingFrom(detail.reply.tool_approvals);
    state.busy = state.busy || detail.reply !== null;
    render();
  }

  function closeStream() {
    clearTimeout(state.retryTimer);
    if (state.stream) state.stream.close();
    state.stream = null;
  }

  async function connect(generation) {
    if (generation !== state.generation || !state.token) return;
    let ticket;
    try {
      ticket = await api("POST", "/api/stream-tickets", { conversation_id: state.current });
    } catch (error) {
      if (error.status === 404) return showError(error.message); // the conversation is gone
      if (error.status !== 401) retry(generation);
      return;
    }
    if (generation !== state.generation) return;
    let url = ticket.stream;
    const resuming = state.lastEventId !== null;
    if (resuming) url += `&last_event_id=${encodeURIComponent(state.lastEventId)}`;
    else state.pending = null; // the server replays the reply in flight from its start
    const source = new EventSource(url);
    state.stream = source;
    source.onopen = () => {
      setStatus("");
      if (state.offline) {
        showError(""); // the server is back: what failed meanwhile no longer matters
        refreshListSoon();
      }
      // Subscribed now: load the stored messages; events from here on are not missed.
      if (!resuming) loadDetail(generation).catch(showError);
    };
    source.onmessage = (event) => {
      if (generation !== state.generation) return;
      if (event.lastEventId) state.lastEventId = event.lastEventId;
      handle(JSON.parse(event.data));
    };
    source.onerror = () => {
      // A ticket opens one connection only: reconnect ourselves with a fresh one.
      source.close();
      if (state.stream === source) state.stream = null;
      if (generation === state.generation) retry(generation);
    };
  }

  function retry(generation) {
    setStatus("reconnecting…");
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(() => connect(generation), RETRY_MS);
  }

  function handle({ type, data }) {
    switch (type) {
      case "message":
        state.messages.set(data.id, data);
        if (data.role === "assistant") {
          // A reply is announced once stored, so it has ended. After a reconnect this may
          // be all there is of it (no `done` follows), so it must free the composer too.
          // A turn that calls tools is stored too, but the reply goes on after the calls.
          state.pending = null;
          if (!(data.tool_calls && data.tool_calls.length)) state.busy = false;
        }
        break;
      case "tool_call":
      case "tool_approval":
      case "tool_result":
        state.calls.event(type, data);
        break;
      case "delta":
        if (!state.pending) state.pending = { text: "", reasoning: "" };
        state.pending.text += data.text || "";
        state.pending.reasoning += data.reasoning || "";
        state.busy = true;
        break;
      case "done":
        state.pending = null;
        state.busy = false;
        refreshListSoon();
        break;
      case "error":
        showError(data.message || "The reply failed.");
        break;
      case "title":
        $("title").textContent = data.title || "(untitled)";
        refreshListSoon();
        break;
      default:
        return;
    }
    render();
  }

  // Rendering ------------------------------------------------------------------------

  function render() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    requestAnimationFrame(() => {
      state.renderQueued = false;
      const list = $("messages");
      const ordered = [...state.messages.values()].sort((a, b) => a.id - b.id);
      const items = state.calls.rows(ordered, (message) => bubble(message.role, message.content, message));
      if (state.pending) items.push(bubble("assistant", state.pending.text, null));
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      list.replaceChildren(...items);
      if (atBottom) list.scrollTop = list.scrollHeight;
      updateSend();
      $("stop").disabled = !state.current || !state.busy;
    });
  }

  function bubble(role, text, message) {
    const item = document.createElement("li");
    item.className = `message ${role}`;
    item.textContent = text; // text, never HTML: replies cannot inject markup
    if (message && message.attachments && message.attachments.length) {
      item.append(state.shelf.view(message));
    }
    if (message === null) {
      item.classList.add("pending");
    } else if (message.status && message.status !== "complete") {
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = message.error ? `${message.status}: ${message.error}` : message.status;
      item.append(meta);
    }
    return item;
  }

  function updateSend() {
    $("send").disabled = !state.current || state.busy;
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  function showError(error) {
    state.offline = error instanceof HttpError && error.status === 0;
    $("error").textContent = typeof error === "string" ? error : error.message;
  }

  // Actions --------------------------------------------------------------------------

  async function send() {
    const text = $("text").value;
    if (!state.current || (!text.trim() && state.tray.empty) || state.busy) return;
    showError("");
    const conversation = state.current;
    state.busy = true; // no second send while the files are read
    try {
      const body = { text };
      if (!state.tray.empty) body.attachments = await state.tray.encode(text);
      const path = `/api/conversations/${encodeURIComponent(conversation)}/messages`;
      const accepted = await api("POST", path, body);
      if (conversation === state.current) state.messages.set(accepted.message.id, accepted.message);
      $("text").value = "";
      state.tray.clear();
    } catch (error) {
      if (conversation === state.current) state.busy = false;
      showError(error);
    }
    render();
  }

  function attach(chosen) {
    const refused = state.tray.add([...chosen]);
    if (refused) showError(refused);
  }

  async function decide(callId, decision) {
    const conversation = encodeURIComponent(state.current);
    const path = `/api/conversations/${conversation}/tool-calls/${encodeURIComponent(callId)}`;
    const generation = state.generation;
    state.calls.answering(callId, true);
    render();
    try {
      await api("POST", path, { decision });
      if (generation === state.generation) state.calls.answered(callId); // its result follows
    } catch (error) {
      if (generation !== state.generation) return; // another conversation is open now
      if (error.status === 404) state.calls.answered(callId); // answered elsewhere already
      else {
        state.calls.answering(callId, false);
        showError(error);
      }
    }
    render();
  }

  async function stop() {
    if (!state.current) return;
    await api("POST", `/api/conversations/${encodeURIComponent(state.current)}/stop`, {}).catch(showError);
  }

  async function create(event) {
    event.preventDefault();
    try {
      const agent = $("agent").value || undefined;
      const created = await api("POST", "/api/conversations", agent ? { agent } : {});
      await loadConversations();
      openConversation(created.id);
      $("title").textContent = created.title || "(untitled)";
      $("text").focus();
    } catch (error) {
      showError(error);
    }
  }

  function acceptFiles() {
    $("attach").addEventListener("click", () => $("files").click());
    $("files").addEventListener("change", () => {
      attach($("files").files);
      $("files").value = ""; // the same file may be chosen again
    });
    // Files dropped anywhere on the page: never opened by the browser in place of the page.
    const chat = document.querySelector(".chat");
    const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
    document.addEventListener("dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      chat.classList.toggle("dropping", Boolean(state.current));
    });
    document.addEventListener("dragleave", (event) => {
      if (event.relatedTarget === null) chat.classList.remove("dropping"); // left the window
    });
    document.addEventListener("drop", (event) => {
      chat.classList.remove("dropping");
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (!state.current) showError("Open a conversation first, then add the files.");
      else attach(event.dataTransfer.files);
    });
    $("text").addEventListener("paste", (event) => {
      const pasted = event.clipboardData ? [...event.clipboardData.files] : [];
      if (!pasted.length) return;
      if (!event.clipboardData.types.includes("text/plain")) event.preventDefault();
      attach(pasted);
    });
  }

  function start() {
    state.tray = new files.Tray($("attachments"), updateSend);
    state.shelf = new files.Shelf(fetchBlob, showError);
    state.calls = new tools.Calls(decide);
    acceptFiles();
    $("login").addEventListener("submit", (event) => {
      event.preventDefault();
      login($("token").value.trim());
    });
    $("new-conversation").addEventListener("submit", create);
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });
    $("text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
      } else if (event.key === "Escape") {
        stop();
      }
    });
    $("stop").addEventListener("click", stop);
    $("search").addEventListener("input", refreshListSoon);
    $("logout").addEventListener("click", () => forgetToken(""));

    takeTokenFromFragment();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) login(token);
    else forgetToken("");
  }

  start();
})();
