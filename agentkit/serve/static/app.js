// agentkit serve: the browser half of a voice call. Plain JavaScript, no build step.
//
// Media and the service's events go over WebRTC (audio track + the "oai-events" data
// channel). What only the server knows (tool calls, handoffs, guardrails, approvals)
// comes from GET /api/calls/{call_id}/events (server-sent events). All text from either
// source is shown with textContent: nothing received is ever parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_LOG = 400;

const ui = {
  config: null,
  pc: null,
  dc: null,
  mic: null,
  events: null,
  callId: null,
  agent: null,
  muted: false,
  held: false,
  speechStoppedAt: null,
  latencies: [],
  messages: new Map(), // item id -> transcript entry
  tools: new Map(), // tool call id -> breadcrumb entry
  statsTimer: null,
  lastStats: null,
  following: true,
};

// -- start ------------------------------------------------------------------------------

async function init() {
  $("connect").addEventListener("click", () => (ui.pc ? hangUp("hung up") : connect()));
  $("mute").addEventListener("click", toggleMute);
  $("talk-mode").addEventListener("change", talkModeChanged);
  $("clear-log").addEventListener("click", () => $("log").replaceChildren());
  const transcript = $("transcript");
  transcript.addEventListener("scroll", () => {
    ui.following = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
  });
  const ptt = $("ptt");
  ptt.addEventListener("pointerdown", (e) => { e.preventDefault(); hold(true); });
  for (const kind of ["pointerup", "pointerleave", "pointercancel"]) ptt.addEventListener(kind, () => hold(false));
  document.addEventListener("keydown", (e) => { if (e.code === "Space" && pttMode() && !e.repeat && e.target === document.body) { e.preventDefault(); hold(true); } });
  document.addEventListener("keyup", (e) => { if (e.code === "Space" && pttMode()) hold(false); });
  try {
    const response = await fetch("/api/config");
    if (!response.ok) throw await apiError(response);
    ui.config = await response.json();
    drawGraph();
    setAgent(ui.config.starting_agent);
  } catch (err) {
    setStatus("error", "Server unavailable");
    crumb("error", `Could not load the configuration: ${err.message}`);
  }
}

// -- the call ---------------------------------------------------------------------------

async function connect() {
  setStatus("connecting", "Connecting…");
  $("connect").disabled = true;
  clearTranscript();
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    ui.mic = stream.getAudioTracks()[0];
    const pc = (ui.pc = new RTCPeerConnection());
    pc.ontrack = (e) => { $("remote").srcObject = e.streams[0] || new MediaStream([e.track]); };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") hangUp("the connection failed");
    };
    const transceiver = pc.addTransceiver(ui.mic, { direction: "sendrecv", streams: [stream] });
    preferCodec(transceiver, $("codec").value);
    const dc = (ui.dc = pc.createDataChannel("oai-events"));
    dc.onmessage = (m) => { try { onWire(JSON.parse(m.data)); } catch (err) { log("rtc", { type: "unreadable", data: String(m.data) }); } };
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    const offer = pc.localDescription.sdp;
    const ephemeral = $("signaling").value === "ephemeral";
    const { sdp, callId } = ephemeral ? await viaEphemeralKey(offer) : await viaRelay(offer);
    ui.callId = callId;
    if (!ephemeral) {
      await pc.setRemoteDescription({ type: "answer", sdp });
      subscribe(callId);
    }
    applyMic();
    $("mute").disabled = false;
    $("codec").disabled = $("signaling").disabled = true;
    $("connect").textContent = "Hang up";
    $("connect").classList.add("end");
    setStatus("live", "Live");
    ui.statsTimer = setInterval(readStats, 2000);
  } catch (err) {
    crumb("error", err.message);
    teardown();
    setStatus("error", "Could not connect");
  } finally {
    $("connect").disabled = false;
  }
}

async function viaRelay(offer) {
  const response = await fetch("/api/calls", { method: "POST", headers: { "Content-Type": "application/sdp" }, body: offer });
  if (response.status !== 201) throw await apiError(response);
  return { sdp: await response.text(), callId: callIdOf(response) };
}

async function viaEphemeralKey(offer) {
  const minted = await postJSON("/api/session", {});
  const key = minted.value || (minted.client_secret && minted.client_secret.value);
  const response = await fetch(ui.config.provider.calls_url, {
    method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/sdp" }, body: offer,
  });
  if (response.status !== 201) throw await apiError(response);
  const sdp = await response.text();
  const callId = callIdOf(response);
  await ui.pc.setRemoteDescription({ type: "answer", sdp });
  subscribe(callId);
  await postJSON(`/api/calls/${callId}/sideband`, {});
  return { sdp, callId };
}

function callIdOf(response) {
  const location = response.headers.get("Location") || "";
  const callId = location.replace(/\/+$/, "").split("/").pop();
  if (!/^rtc_[A-Za-z0-9_-]+$/.test(callId)) throw new Error("the answer named no call");
  return callId;
}

function preferCodec(transceiver, codec) {
  if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
  const mime = { opus: "audio/opus", pcmu: "audio/PCMU", pcma: "audio/PCMA" }[codec];
  const all = RTCRtpReceiver.getCapabilities("audio").codecs;
  const chosen = all.filter((c) => c.mimeType.toLowerCase() === mime.toLowerCase());
  if (chosen.length) transceiver.setCodecPreferences(chosen);
}

function iceGathered(pc) {
  // No trickle ICE: the offer carries its candidates. Host candidates take milliseconds.
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 2000);
  });
}

function subscribe(callId) {
  const source = (ui.events = new EventSource(`/api/calls/${callId}/events`));
  source.onmessage = (m) => onServer(JSON.parse(m.data));
  source.onerror = () => { if (source.readyState === EventSource.CLOSED && ui.pc) crumb("error", "Lost the server's event stream."); };
}

async function hangUp(reason) {
  const callId = ui.callId;
  if (ui.events) ui.events.close();
  if (callId && reason === "hung up") {
    // Before the peer connection closes, which ends the call at the service anyway.
    try { await fetch(`/api/calls/${callId}/hangup`, { method: "POST" }); } catch (err) { /* already gone */ }
  }
  teardown();
  setStatus("idle", "Call ended");
  if (reason) crumb("note", `Call ended: ${reason}.`);
}

function teardown() {
  clearInterval(ui.statsTimer);
  if (ui.events) ui.events.close();
  if (ui.dc) ui.dc.close();
  if (ui.pc) ui.pc.close();
  if (ui.mic) ui.mic.stop();
  Object.assign(ui, { pc: null, dc: null, mic: null, events: null, callId: null, statsTimer: null, lastStats: null, speechStoppedAt: null });
  $("connect").textContent = "Start call";
  $("connect").classList.remove("end");
  $("mute").disabled = true;
  $("codec").disabled = $("signaling").disabled = false;
}

// -- microphone: mute and push-to-talk ----------------------------------------------------

function pttMode() { return $("talk-mode").value === "ptt"; }

function applyMic() {
  if (ui.mic) ui.mic.enabled = !ui.muted && (!pttMode() || ui.held);
}

function toggleMute() {
  ui.muted = !ui.muted;
  $("mute").setAttribute("aria-pressed", String(ui.muted));
  $("mute").textContent = ui.muted ? "Unmute" : "Mute";
  applyMic();
}

function talkModeChanged() {
  $("ptt").hidden = !pttMode();
  ui.held = false;
  applyMic();
}

function hold(held) {
  if (!pttMode() || ui.held === held) return;
  ui.held = held;
  $("ptt").classList.toggle("held", held);
  $("ptt").setAttribute("aria-pressed", String(held));
  $("ptt").textContent = held ? "Listening…" : "Hold to talk";
  applyMic();
}

// -- the service's events (data channel) ----------------------------------------------------

function onWire(event) {
  log("rtc", event);
  switch (event.type) {
    case "input_audio_buffer.speech_started":
      userLine(event.item_id, "…", true);
      break;
    case "input_audio_buffer.speech_stopped":
      ui.speechStoppedAt = performance.now();
      break;
    case "conversation.item.input_audio_transcription.delta":
      appendLine(event.item_id, "user", event.delta);
      break;
    case "conversation.item.input_audio_transcription.completed":
      userLine(event.item_id, event.transcript || "(inaudible)", false);
      break;
    case "response.output_audio_transcript.delta":
    case "response.audio_transcript.delta":
    case "response.output_text.delta":
    case "response.text.delta":
      appendLine(event.item_id, "assistant", event.delta);
      break;
    case "response.output_audio_transcript.done":
    case "response.audio_transcript.done":
      finishLine(event.item_id, "assistant", event.transcript);
      break;
    case "output_audio_buffer.started":
      if (ui.speechStoppedAt !== null) {
        ui.latencies.push(performance.now() - ui.speechStoppedAt);
        ui.speechStoppedAt = null;
        showLatency();
      }
      break;
    case "error":
      crumb("error", (event.error && event.error.message) || "error");
      break;
  }
}

// -- the server's events (tools, handoffs, guardrails, approvals) ------------------------------

function onServer(event) {
  log("srv", event);
  switch (event.type) {
    case "agent":
      setAgent(event.agent);
      break;
    case "tool_call_progress":
      toolCrumb(event.call_id, event.tool, event.arguments, "writing arguments…");
      break;
    case "tool_start":
      toolCrumb(event.call_id, event.tool, event.arguments, "running…");
      break;
    case "tool_end": {
      const known = ui.tools.get(event.call_id);
      const decided = known && known.decision ? ` · ${known.decision}` : "";
      const entry = toolCrumb(event.call_id, event.tool, null, (event.error ? `failed (${event.error})` : "done") + decided);
      entry.node.classList.toggle("failed", Boolean(event.error));
      entry.result.textContent = `→ ${shorten(event.message || event.output, 300)}`;
      break;
    }
    case "tool_approval_required":
      approvalCrumb(event);
      break;
    case "tool_approval_resolved": {
      const decision = event.approved ? "approved" : "rejected";
      const entry = toolCrumb(event.call_id, event.tool, null, event.by === "app" ? decision : `${decision} (${event.by})`);
      entry.decision = entry.node.dataset.decision = decision;
      entry.approval.replaceChildren();
      break;
    }
    case "handoff":
      if (event.call_id && ui.tools.has(event.call_id)) {
        // The transfer's own call: the handoff line below says it better.
        ui.tools.get(event.call_id).node.remove();
        ui.tools.delete(event.call_id);
      }
      crumb("handoff", `⇄ ${event.from_agent} → ${event.to_agent}`);
      setAgent(event.to_agent);
      break;
    case "guardrail_tripped":
      crumb("guardrail", `⚠ ${event.guardrail} stopped ${event.stage === "input" ? "the caller's words" : "the agent's reply"}: “${shorten(event.text, 120)}”${event.safe_reply ? ` — replying: “${event.safe_reply}”` : ""}`);
      break;
    case "breadcrumb":
      crumb("note", `· ${event.text}`);
      break;
    case "error":
      crumb("error", event.message);
      break;
    case "ended":
      if (ui.pc) hangUp(event.reason);
      break;
  }
}

// -- the transcript ---------------------------------------------------------------------------

function clearTranscript() {
  $("transcript").replaceChildren();
  ui.messages.clear();
  ui.tools.clear();
}

function add(node) {
  $("transcript").append(node);
  follow();
  return node;
}

function follow() {
  // Keep the newest line in view, unless the reader scrolled up to read.
  const list = $("transcript");
  if (ui.following) list.scrollTop = list.scrollHeight;
}

function line(itemId, role) {
  let entry = itemId ? ui.messages.get(itemId) : null;
  if (!entry) {
    const node = document.createElement("li");
    node.className = `msg ${role}`;
    node.dataset.role = role;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "user" ? "You" : ui.agent || "Agent";
    const text = document.createElement("span");
    text.className = "text";
    node.append(who, text);
    add(node);
    entry = { node, text, fresh: true };
    if (itemId) ui.messages.set(itemId, entry);
  }
  return entry;
}

function userLine(itemId, text, partial) {
  const entry = line(itemId, "user");
  if (!partial || entry.fresh) entry.text.textContent = text;
  entry.node.classList.toggle("partial", partial);
}

function appendLine(itemId, role, delta) {
  const entry = line(itemId, role);
  if (entry.fresh || entry.node.classList.contains("partial")) { entry.text.textContent = ""; entry.fresh = false; }
  entry.node.classList.remove("partial");
  entry.text.textContent += delta || "";
  follow();
}

function finishLine(itemId, role, transcript) {
  const entry = line(itemId, role);
  entry.fresh = false;
  if (transcript) entry.text.textContent = transcript;
  follow();
}

function crumb(kind, text) {
  const node = document.createElement("li");
  node.className = `crumb ${kind}`;
  node.dataset.kind = kind;
  node.textContent = text;
  return add(node);
}

function toolCrumb(callId, tool, args, stateText) {
  let entry = ui.tools.get(callId);
  if (!entry) {
    const node = crumb("tool", "");
    node.dataset.tool = tool;
    node.dataset.callId = callId;
    const name = document.createElement("strong");
    name.textContent = `⚙ ${tool}`;
    const code = document.createElement("code");
    const state = document.createElement("span");
    state.className = "state";
    const result = document.createElement("div");
    result.className = "result";
    const approval = document.createElement("div");
    approval.className = "approval";
    node.append(name, " ", code, state, result, approval);
    entry = { node, code, state, result, approval };
    ui.tools.set(callId, entry);
  }
  if (args !== null) entry.code.textContent = shorten(args, 400);
  entry.state.textContent = stateText;
  entry.node.dataset.state = stateText;
  follow();
  return entry;
}

function approvalCrumb(event) {
  const entry = toolCrumb(event.call_id, event.tool, event.arguments, "waiting for your approval");
  const approve = document.createElement("button");
  approve.type = "button";
  approve.className = "approve";
  approve.textContent = "Approve";
  const reject = document.createElement("button");
  reject.type = "button";
  reject.className = "reject";
  reject.textContent = "Reject";
  const decide = async (ok) => {
    approve.disabled = reject.disabled = true;
    try {
      await postJSON(`/api/calls/${ui.callId}/approvals/${event.call_id}`, { approve: ok });
    } catch (err) {
      crumb("error", err.message);
      approve.disabled = reject.disabled = false;
    }
  };
  approve.addEventListener("click", () => decide(true));
  reject.addEventListener("click", () => decide(false));
  entry.approval.replaceChildren(approve, reject);
}

// -- agents, latency, quality ---------------------------------------------------------------------

function setAgent(name) {
  ui.agent = name;
  $("m-agent").textContent = name || "–";
  for (const node of document.querySelectorAll("#graph g.node")) node.classList.toggle("active", node.dataset.agent === name);
}

function drawGraph() {
  const svg = $("graph");
  const ns = "http://www.w3.org/2000/svg";
  const agents = ui.config.agents;
  const width = 300, height = 200, cx = width / 2, cy = height / 2 - 6;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const at = new Map();
  agents.forEach((agent, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / agents.length;
    const r = agents.length > 1 ? 68 : 0;
    at.set(agent.name, [cx + r * Math.cos(angle) * 1.45, cy + r * Math.sin(angle)]);
  });
  const drawn = new Set();
  for (const agent of agents) {
    for (const target of agent.handoffs) {
      const key = [agent.name, target].sort().join("\u0000");
      if (drawn.has(key) || !at.has(target)) continue;
      drawn.add(key);
      const [x1, y1] = at.get(agent.name), [x2, y2] = at.get(target);
      const edge = document.createElementNS(ns, "line");
      Object.entries({ x1, y1, x2, y2 }).forEach(([k, v]) => edge.setAttribute(k, v));
      svg.append(edge);
    }
  }
  for (const agent of agents) {
    const [x, y] = at.get(agent.name);
    const group = document.createElementNS(ns, "g");
    group.setAttribute("class", "node");
    group.dataset.agent = agent.name;
    const dot = document.createElementNS(ns, "circle");
    Object.entries({ cx: x, cy: y, r: 9 }).forEach(([k, v]) => dot.setAttribute(k, v));
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", x);
    label.setAttribute("y", y + 23);
    label.textContent = agent.name;
    const title = document.createElementNS(ns, "title");
    const tools = agent.tools.map((t) => t.name + (t.needs_approval ? " (approval)" : ""));
    title.textContent = `${agent.name}\ntools: ${tools.join(", ") || "none"}\nhands off to: ${agent.handoffs.join(", ") || "nobody"}`;
    group.append(title, dot, label);
    svg.append(group);
  }
}

function showLatency() {
  const sorted = [...ui.latencies].sort((a, b) => a - b);
  const last = ui.latencies[ui.latencies.length - 1];
  const median = sorted[Math.floor(sorted.length / 2)];
  $("m-latency").textContent = `${Math.round(last)} ms (median ${Math.round(median)} ms, ${sorted.length} turn${sorted.length === 1 ? "" : "s"})`;
}

async function readStats() {
  if (!ui.pc) return;
  const report = await ui.pc.getStats();
  let inbound = null, pair = null;
  const codecs = new Map();
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") inbound = s;
    else if (s.type === "candidate-pair" && s.state === "succeeded" && (s.nominated || !pair)) pair = s;
    else if (s.type === "codec") codecs.set(s.id, s.mimeType);
  });
  if (inbound && codecs.has(inbound.codecId)) $("m-codec").textContent = codecs.get(inbound.codecId).replace("audio/", "");
  if (!inbound) return;
  const previous = ui.lastStats;
  ui.lastStats = { lost: inbound.packetsLost || 0, received: inbound.packetsReceived || 0 };
  const lost = ui.lastStats.lost - (previous ? previous.lost : 0);
  const received = ui.lastStats.received - (previous ? previous.received : 0);
  const loss = lost + received > 0 ? (100 * lost) / (lost + received) : 0;
  const jitter = (inbound.jitter || 0) * 1000;
  const rtt = pair && pair.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null;
  const word = loss > 5 || jitter > 60 || (rtt !== null && rtt > 500) ? "poor" : loss > 1 || jitter > 30 || (rtt !== null && rtt > 250) ? "fair" : "good";
  $("m-quality").textContent = `${word} · loss ${loss.toFixed(1)}% · jitter ${Math.round(jitter)} ms${rtt === null ? "" : ` · RTT ${Math.round(rtt)} ms`}`;
  $("m-quality").dataset.quality = word;
}

// -- the event log ------------------------------------------------------------------------------

function log(source, event) {
  const list = $("log");
  const item = document.createElement("li");
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  const time = document.createElement("span");
  time.className = "t";
  time.textContent = new Date().toISOString().slice(11, 23);
  const src = document.createElement("span");
  src.className = "src";
  src.textContent = source === "rtc" ? "↓" : "⚙";
  src.title = source === "rtc" ? "from the realtime service (data channel)" : "from this server (tools, handoffs, guardrails)";
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = event.type || "?";
  summary.append(time, src, kind);
  details.append(summary);
  details.addEventListener("toggle", () => {
    if (details.open && !details.querySelector("pre")) {
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(event, null, 2);
      details.append(pre);
    }
  }, { once: false });
  item.append(details);
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  while (list.childElementCount > MAX_LOG) list.firstElementChild.remove();
  if (atEnd) list.scrollTop = list.scrollHeight;
}

// -- helpers --------------------------------------------------------------------------------------

function setStatus(state, text) {
  const pill = $("status");
  pill.dataset.state = state;
  pill.textContent = text;
  document.body.dataset.state = state;
}

async function postJSON(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw await apiError(response);
  return response.json();
}

async function apiError(response) {
  try {
    const body = await response.json();
    return new Error((body.error && body.error.message) || `HTTP ${response.status}`);
  } catch (err) {
    return new Error(`HTTP ${response.status}`);
  }
}

function shorten(text, max) {
  text = String(text ?? "");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

init();
