// The being's web console: plain JavaScript, no library, nothing fetched from another origin.
//
// Every value shown comes from the service's JSON and is put in the page with textContent,
// never as HTML. The token is kept for this tab only (sessionStorage) and sent in the
// Authorization header, never in a URL; the live stream is read with fetch, which can send
// that header (EventSource cannot).
"use strict";

const TOKEN_KEY = "being.token";
const REFRESH_MS = 3000;
const MAX_EPISODES = 200;
const REPLY_WAIT_S = 20;
const REPLY_GIVE_UP_MS = 30 * 60 * 1000;

const $ = (id) => document.getElementById(id);

// ---- the token -------------------------------------------------------------------------------

function takeTokenFromFragment() {
  // #token=... is never sent to the server by the browser; take it and drop it from the address bar.
  // Read by hand, not with URLSearchParams, which would turn a "+" of the token into a space.
  const match = /(?:^|&)token=([^&]*)/.exec(window.location.hash.slice(1));
  let token = match ? match[1] : "";
  try {
    token = decodeURIComponent(token);
  } catch (error) {
    // not percent-encoded: the token as it is written
  }
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function showTokenState(message, level) {
  const status = $("token-status");
  status.textContent = message || "";
  status.dataset.level = level || "";
  $("token-label").textContent = token() ? "Token (set)" : "Token";
}

function askForToken(why) {
  showTokenState(why + ": type the service's token (`being token` prints it).", "error");
  if (document.activeElement === document.body) $("token-input").focus(); // never away from what is being typed
}

// ---- talking to the service ------------------------------------------------------------------

class Unavailable extends Error {}

async function call(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const secret = token();
  if (secret) headers.set("Authorization", "Bearer " + secret);
  const response = await fetch(path, { ...options, headers, cache: "no-store", credentials: "omit" });
  if (response.status === 401) askForToken(`${options.method || "GET"} ${path.split("?")[0]} answered 401`);
  return response;
}

function isJson(response) {
  return (response.headers.get("Content-Type") || "").startsWith("application/json");
}

async function readJson(path, options = {}, { itemMayBeMissing = false } = {}) {
  // Returns the parsed body of a 2xx JSON answer; throws Unavailable when the route is not on this
  // service (a 405, or a 404 from a route without items of its own to miss: aiohttp's plain 404,
  // or a JSON one from a layer in front), Error with the service's message otherwise.
  const response = await call(path, options);
  const missing = response.status === 405 || (response.status === 404 && (!itemMayBeMissing || !isJson(response)));
  if (missing) {
    throw new Unavailable(`this service has no ${options.method || "GET"} ${path.split("?")[0]}`);
  }
  let body = null;
  if (isJson(response)) body = await response.json();
  if (!response.ok) {
    const detail = body && typeof body.error === "string" ? body.error : response.statusText;
    const error = new Error(`${response.status}: ${detail}`);
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return body;
}

function setNote(id, message, level) {
  const note = $(id);
  note.textContent = message;
  note.dataset.level = level || "";
}

function failure(id, error) {
  setNote(id, error instanceof Unavailable ? `not available: ${error.message}` : String(error.message || error),
    error instanceof Unavailable ? "" : "error");
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function definitionList(pairs) {
  const list = document.createElement("dl");
  for (const [term, value] of pairs) {
    list.append(element("dt", term));
    const detail = element("dd", value === null || value === undefined ? "—" : value);
    if (term === "state") detail.dataset.state = String(value);
    list.append(detail);
  }
  return list;
}

// ---- chat ------------------------------------------------------------------------------------

function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function replyText(reply) {
  if (typeof reply === "string") return reply;
  if (reply && typeof reply === "object") return String(reply.text ?? reply.description ?? JSON.stringify(reply));
  return "";
}

function chatLine(kind, text) {
  const line = element("li", text, kind);
  $("chat-log").append(line);
  line.scrollIntoView({ block: "nearest" });
  return line;
}

function showReply(line, reply, id) {
  line.className = "being";
  line.dataset.messageId = id;
  line.dataset.outcome = String(reply.outcome ?? "");
  const outcome = reply.outcome && reply.outcome !== "success" ? `(${reply.outcome}) ` : "";
  line.textContent = outcome + replyText(reply);
  line.scrollIntoView({ block: "nearest" });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForReply(id, line) {
  // GET /messages/{id}?wait_s=N until a reply is stored; after a fallback, on until its deferred answer.
  const started = Date.now();
  let shown = 0;
  let waiting = line;
  let asked = 0;
  while (Date.now() - started < REPLY_GIVE_UP_MS) {
    let body;
    try {
      // the first answer at once (a service with replies off says "stored"), then wait for the reply
      const wait = asked === 0 || shown > 0 ? 0 : REPLY_WAIT_S;
      asked += 1;
      const path = `/messages/${encodeURIComponent(id)}?wait_s=${wait}`;
      body = await readJson(path, {}, { itemMayBeMissing: true });
    } catch (error) {
      if (error instanceof Unavailable || (error.status && error.status < 500 && error.status !== 429)) {
        waiting.className = "failed";
        waiting.textContent = `no reply can be shown: ${error.message}`;
        return;
      }
      waiting.textContent = `waiting for the reply (${error.message}; asking again)`;
      await sleep(REFRESH_MS);
      continue;
    }
    const replies = Array.isArray(body.replies) ? body.replies : body.reply ? [body.reply] : [];
    for (; shown < replies.length; shown += 1) {
      if (waiting === null) waiting = chatLine("waiting", "");
      showReply(waiting, replies[shown], id);
      waiting = null;
    }
    if (body.state === "stored") {
      waiting.className = "failed";
      waiting.textContent = "stored; this service does not answer (replies are off)";
      return;
    }
    const last = replies[replies.length - 1];
    if (last && last.outcome !== "fallback") return;
    if (last) {
      await sleep(REFRESH_MS); // a fallback: a deferred answer may follow
    } else {
      waiting.textContent = `waiting for the reply (${body.state || "no reply yet"})`;
    }
  }
  if (waiting !== null) {
    waiting.className = "failed";
    waiting.textContent = "no reply after 30 minutes; it will be in the episodes when it comes";
  }
}

let unsent = null; // {text, urgent, key} of a message whose POST failed: sent again with the same key

async function send(event) {
  event.preventDefault();
  const input = $("chat-input");
  const text = input.value;
  if (!text.trim()) return;
  const urgent = $("chat-urgent").checked;
  if (unsent === null || unsent.text !== text || unsent.urgent !== urgent) unsent = { text, urgent, key: randomKey() };
  const key = unsent.key;
  const button = $("chat-send");
  button.disabled = true;
  setNote("chat-status", "sending…");
  try {
    const body = await readJson("/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify({ text, urgent, sender: "console" }),
    });
    unsent = null;
    chatLine("you", text);
    input.value = "";
    setNote("chat-status", body.duplicate ? `already sent as ${body.id}` : `sent as ${body.id}`);
    const waiting = chatLine("waiting", "waiting for the reply…");
    waitForReply(body.id, waiting);
  } catch (error) {
    failure("chat-status", error);
  } finally {
    button.disabled = false;
  }
}

// ---- the episode stream ----------------------------------------------------------------------

const shownEpisodes = new Set();
let lastEventId = null;

function showEpisode(episode) {
  if (!episode || typeof episode !== "object") return;
  const key = episode.id ?? JSON.stringify(episode);
  if (shownEpisodes.has(key)) return;
  shownEpisodes.add(key);
  const item = element("li");
  item.dataset.key = key;
  item.dataset.type = String(episode.type ?? "");
  item.append(element("span", episode.time ?? "", "meta"));
  item.append(element("span", episode.type ?? "?", "kind"));
  if (episode.outcome) item.append(element("span", episode.outcome, "meta"));
  item.append(element("span", episode.description ?? "", "text"));
  // newest on top, by time: the live stream and the episodes read back with GET /episodes interleave
  const parsed = Date.parse(episode.time);
  const at = Number.isNaN(parsed) ? Date.now() : parsed;
  item.dataset.time = String(at);
  const list = $("episodes");
  let next = null;
  for (const child of list.children) {
    if (Number(child.dataset.time) <= at) {
      next = child;
      break;
    }
  }
  list.insertBefore(item, next);
  while (list.children.length > MAX_EPISODES) {
    shownEpisodes.delete(list.lastElementChild.dataset.key);
    list.lastElementChild.remove();
  }
}

async function readBack() {
  // The stream sends what is stored from now on: the latest episodes before it come from GET /episodes.
  try {
    const body = await readJson("/episodes?limit=50");
    for (const episode of body.episodes) showEpisode(episode);
  } catch (error) {
    failure("stream-status", error);
  }
}

async function fillGap(message) {
  // The stream could not resume where this page left it (a restart, or too far behind): what the
  // ring no longer holds is read from GET /episodes.
  let reason = "";
  try {
    reason = JSON.parse(message.data).reason ?? "";
  } catch (error) {
    reason = "unreadable gap event";
  }
  setNote("stream-status", `live, after a gap (${reason}): the latest episodes were read again`);
  await readBack();
}

function dispatch(message) {
  if (message.id) lastEventId = message.id;
  if (message.event === "gap") {
    fillGap(message);
    return;
  }
  if (!message.data || (message.event && message.event !== "episode" && message.event !== "message")) return;
  try {
    showEpisode(JSON.parse(message.data));
  } catch (error) {
    setNote("stream-status", `an event that is not JSON was skipped (${error.message})`, "error");
  }
}

async function readStream(response) {
  // Server-Sent Events, parsed as the HTML standard says: lines, "field: value", a blank line ends an event.
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { data: "", event: "", id: "" };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1));
      if (line === "") {
        if (message.data.endsWith("\n")) message.data = message.data.slice(0, -1);
        dispatch(message);
        message = { data: "", event: "", id: "" };
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let data = colon < 0 ? "" : line.slice(colon + 1);
      if (data.startsWith(" ")) data = data.slice(1);
      if (field === "data") message.data += data + "\n";
      else if (field === "event") message.event = data;
      else if (field === "id") message.id = data;
    }
  }
}

async function pollEpisodes(why) {
  setNote("stream-status", `live stream ${why}; showing GET /episodes every ${REFRESH_MS / 1000} s`);
  for (;;) {
    try {
      const body = await readJson("/episodes?limit=50");
      for (const episode of body.episodes) showEpisode(episode);
    } catch (error) {
      failure("stream-status", error);
    }
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
  }
}

async function follow() {
  let failures = 0;
  for (;;) {
    let response;
    try {
      const headers = { Accept: "text/event-stream" };
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      response = await call("/events", { headers });
    } catch (error) {
      response = null;
      setNote("stream-status", `live stream: ${error.message}; trying again`, "error");
    }
    if (response && (response.status === 404 || response.status === 405)) {
      return pollEpisodes("not available (this service has no GET /events)");
    }
    if (response && response.ok && (response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
      failures = 0;
      setNote("stream-status", "live: episodes appear here as they are stored");
      if (lastEventId === null) readBack(); // the first connection: show what came before it too
      try {
        await readStream(response);
        setNote("stream-status", "the live stream ended; reconnecting", "error");
      } catch (error) {
        setNote("stream-status", `the live stream broke (${error.message}); reconnecting`, "error");
      }
    } else if (response) {
      setNote("stream-status", `live stream: GET /events answered ${response.status}; trying again`, "error");
    }
    failures += 1;
    await new Promise((resolve) => setTimeout(resolve, Math.min(30000, 500 * 2 ** Math.min(failures, 6))));
  }
}

// ---- panels refreshed every few seconds ------------------------------------------------------

async function refreshReadiness() {
  const badge = $("readiness-badge");
  let body;
  try {
    const response = await call("/readyz");
    body = isJson(response) ? await response.json() : null;
    if (!body) throw new Error(`GET /readyz answered ${response.status}`);
  } catch (error) {
    badge.textContent = "readiness: unknown";
    badge.dataset.state = "unavailable";
    failure("readiness-status", error);
    return;
  }
  badge.textContent = `readiness: ${body.status}`;
  badge.dataset.state = body.status;
  setNote("readiness-status", body.stopping ? "stopping" : `status: ${body.status}`);
  const list = $("readiness-list");
  list.replaceChildren();
  for (const [name, component] of Object.entries(body.components || {})) {
    const item = element("li");
    item.append(element("span", name, "kind"));
    const state = element("span", component.status, "meta");
    state.dataset.state = component.status;
    item.append(state);
    item.append(element("span", component.detail ?? ""));
    list.append(item);
  }
}

function protectionBlock(protection) {
  const block = element("div");
  block.dataset.protection = protection.name;
  block.append(element("h3", protection.name, "kind"));
  const pairs = [];
  const b = protection.breaker;
  pairs.push(["breaker", b ? null : "off"]);
  if (b) {
    pairs.pop();
    pairs.push(["state", b.state]);
    pairs.push(["failure rate", b.failure_rate === null ? "not judged yet" : `${Math.round(b.failure_rate * 100)} %`]);
  }
  const budget = protection.budget;
  pairs.push(["budget left", budget ? `${budget.remaining} of ${budget.max_calls}` +
    (budget.window_s ? ` per ${budget.window_s} s` : "") : "off"]);
  const rate = protection.rate_limit;
  pairs.push(["rate limit", rate ? `${rate.tokens} of ${rate.burst} tokens, ${rate.rate_per_s}/s (${rate.mode})` : "off"]);
  const cache = protection.cache;
  const counts = cache && cache.hits !== null && cache.misses !== null ? `, ${cache.hits} hits, ${cache.misses} misses` : "";
  pairs.push(["cache", cache ? `${cache.entries} entries${counts}${cache.shared ? ", shared tier" : ""}` : "off"]);
  const bulkhead = protection.bulkhead;
  if (bulkhead) pairs.push(["bulkhead", `${bulkhead.in_flight} in flight of ${bulkhead.max_concurrent}, ${bulkhead.waiting} waiting`]);
  block.append(definitionList(pairs));
  return block;
}

async function refreshProtections() {
  try {
    const body = await readJson("/status");
    const list = $("protections-list");
    list.replaceChildren(...body.protections.map(protectionBlock));
    setNote("protections-status", body.protections.length ? "" : "no LLM calls are protected (replies are off, or not started yet)");
  } catch (error) {
    failure("protections-status", error);
  }
}

async function refreshGoals() {
  try {
    const body = await readJson("/goals?status=open");
    const list = $("goals-list");
    list.replaceChildren(...body.goals.map((goal) => {
      const item = element("li");
      item.append(element("span", goal.text ?? ""));
      if (goal.due) item.append(element("span", ` due ${goal.due}`, "meta"));
      return item;
    }));
    setNote("goals-status", body.goals.length ? `${body.goals.length} open` : "no open goals");
  } catch (error) {
    failure("goals-status", error);
  }
}

async function refreshDeadLetters() {
  try {
    const body = await readJson("/dead-letters?limit=20");
    const letters = body.dead_letters;
    const list = $("dead-letters-list");
    list.replaceChildren(...letters.map((letter) => {
      const item = element("li");
      item.append(element("span", letter.time ?? "", "meta"));
      item.append(element("span", letter.source ?? "", "kind"));
      item.append(element("span", letter.reason ?? ""));
      if (letter.raw) item.append(element("div", String(letter.raw).slice(0, 300), "meta"));
      return item;
    }));
    setNote("dead-letters-status", letters.length ? "" : "none");
  } catch (error) {
    failure("dead-letters-status", error);
  }
}

async function refreshAll() {
  await Promise.allSettled([refreshReadiness(), refreshProtections(), refreshGoals(), refreshDeadLetters()]);
}

// ---- start -----------------------------------------------------------------------------------

function start() {
  takeTokenFromFragment();
  showTokenState(token() ? "" : "no token set: if the service asks for one, type it above");
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token-input").value = "";
    showTokenState("token kept for this tab");
    refreshAll();
  });
  $("token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenState("token forgotten");
  });
  $("chat-form").addEventListener("submit", send);
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("chat-form").requestSubmit();
  });
  refreshAll();
  setInterval(refreshAll, REFRESH_MS);
  follow();
}

document.addEventListener("DOMContentLoaded", start);
