/**
 * The HTML report: one self-contained file (inline CSS and JS, the data as one JSON island, no
 * network). A timeline, one row per event and one column (lane) per process plus Consensus and
 * Blob: each event is a dot in its process's lane, coloured by task, joined to the store it
 * called; a request held by a latency fault is drawn as a bar from the step it was issued to
 * the step it was answered. Faults, crashes and the failing step are marked. Rows are windowed
 * (only the visible ones exist in the DOM), so a 10,000-event trace loads and scrolls quickly.
 * Clicking an event shows its fields and the state at the seqno it saw.
 */
import { renderViolation } from "../sim/check/Violations.ts"
import { committedSeqno, shortIds } from "./Log.ts"
import { focusEventIndex, focusViolation, type ReportInput } from "./Report.ts"

/** Lane of an event: its process without the incarnation (`p1.2` → `p1`), or `world`. */
export const laneOf = (p: string): string => (p === "-" ? "world" : p.split(".")[0]!)

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!)

/** JSON that is safe inside a <script> element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, "\\u003c")

export const renderHtml = (input: ReportInput): string => {
  const { trace, probe } = input
  const events = trace.events
  // Processes in numeric order, then the janitor, then the world's own events.
  const rank = (l: string) => (l === "world" ? 2 : l === "janitor" ? 1 : 0)
  const lanes = [...new Set(events.map((e) => laneOf(e.p)))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, "en", { numeric: true }))
  const focus = focusViolation(input)
  const fi = focusEventIndex(events, focus)
  // Issue → reply: a held request's delivery is the next event of the same process, call and arg.
  const replyOf = new Array<number>(events.length).fill(-1)
  const open = new Map<string, number>()
  events.forEach((e, i) => {
    const k = `${e.p}|${e.call}|${e.arg}`
    const o = open.get(k)
    if (o !== undefined && (e.fault === "none" || e.fault === "response" || !e.result.includes("held"))) {
      replyOf[o] = i
      open.delete(k)
    }
    if (e.result === "held" || e.result.endsWith("(response held)")) open.set(k, i)
  })
  const head = new Array<number>(events.length).fill(-1)
  let h = -1
  events.forEach((e, i) => {
    const q = committedSeqno(e)
    if (q !== null) h = q
    head[i] = h
  })
  const data = {
    lanes,
    focus: fi,
    // Compact rows: [step, t, lane, p, task, cmd, op, site, attempt, call, arg, fault, result, head, reply]
    ev: events.map((e, i) => [e.step, e.t, lanes.indexOf(laneOf(e.p)), e.p, e.task, e.cmd, e.op, e.site, e.attempt, e.call, shortIds(e.arg), e.fault, shortIds(e.result), head[i], replyOf[i]]),
    states: Object.fromEntries([...probe.states.entries()].map(([q, s]) => [q, { ...s, rollups: s.rollups.map(([n, k]) => [n, shortIds(k)]), readers: s.readers.map((r) => ({ ...r, id: shortIds(r.id) })), writers: s.writers.map((w) => ({ ...w, id: shortIds(w.id) })) }])),
    violations: trace.violations.map((v) => ({ step: v.step, kind: `${v.invariant} ${v._tag}`, text: shortIds(renderViolation(v)) }))
  }
  const title = `persist-sim ${trace.header.seed !== null ? `seed ${trace.header.seed}` : "shrunk tape"}${trace.header.bug !== null ? ` (${trace.header.bug})` : ""}`
  const summary = focus !== undefined ? `${focus.invariant} ${focus._tag} at step ${focus.step}: ${shortIds(renderViolation(focus))}` : "all invariants held"
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>
body{margin:0;font:12px/1.3 ui-monospace,Menlo,Consolas,monospace;color:#222;background:#fafafa;display:flex;flex-direction:column;height:100vh}
header{padding:6px 10px;background:#263238;color:#eee}
header h1{font-size:14px;margin:0 0 3px}
header .fail{color:#ff8a80}
#bar{padding:4px 10px;background:#eceff1;border-bottom:1px solid #cfd8dc;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
#main{flex:1;display:flex;min-height:0}
#tl{flex:1;overflow:auto;position:relative;background:#fff}
#lanesHead{position:sticky;top:0;z-index:3;height:22px;background:#eceff1;border-bottom:1px solid #b0bec5}
#lanesHead div{position:absolute;top:4px;font-weight:bold;text-align:center}
#canvas{position:relative}
.lane{position:absolute;top:0;bottom:0;border-left:1px dashed #e0e0e0}
.row{position:absolute;left:0;right:0;height:16px;cursor:pointer}
.row:hover{background:#f1f8e9}
.row.sel{background:#fff59d}
.row.failing{background:#ffcdd2;outline:2px solid #d32f2f}
.row .lbl{position:absolute;left:4px;color:#90a4ae;width:92px;overflow:hidden;white-space:nowrap}
.ev{position:absolute;top:3px;width:10px;height:10px;border-radius:50%;border:1px solid #0003}
.ev.fault{border:2px solid #e65100;border-radius:2px}
.ev.crash{background:#000 !important;border-radius:0;transform:rotate(45deg)}
.link{position:absolute;top:7px;height:2px;opacity:.55}
.req{position:absolute;width:3px;opacity:.5;border-radius:2px}
.txt{position:absolute;white-space:nowrap;overflow:hidden;color:#455a64}
#side{width:380px;overflow:auto;border-left:1px solid #b0bec5;padding:8px;background:#fff}
#side h2{font-size:13px;margin:6px 0}
#side pre{white-space:pre-wrap;margin:0}
.legend span{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 3px 0 8px;vertical-align:middle}
button{font:inherit}
</style></head><body>
<header><h1>${esc(title)}</h1><div class="${focus !== undefined ? "fail" : ""}">${esc(summary)}</div>
<div>${esc(String((trace.header.config as { summary?: string }).summary ?? ""))}</div></header>
<div id="bar"><button id="jump">jump to failing step</button><span id="count"></span><span class="legend" id="legend"></span>
<label>zoom <input id="zoom" type="range" min="4" max="24" value="16"></label></div>
<div id="main"><div id="tl"><div id="lanesHead"></div><div id="canvas"></div></div>
<div id="side"><h2>Details</h2><div id="details">Click an event.</div><h2>Violations</h2><div id="viol"></div></div></div>
<script id="data" type="application/json">${scriptJson(data)}</script>
<script>
"use strict";
(function(){
const D = JSON.parse(document.getElementById("data").textContent);
const TASK = {cmd:"#1e88e5",init:"#8e24aa",rollup:"#43a047","gc-worker":"#f4511e",heartbeat:"#90a4ae",compaction:"#00897b",janitor:"#6d4c41","":"#bdbdbd"};
const LANE_W = 84, LEFT = 100;
const lanes = D.lanes.concat(["Consensus","Blob"]);
const CONS = D.lanes.length, BLOB = D.lanes.length + 1;
const width = LEFT + lanes.length * LANE_W + 420;
let rowH = 16, sel = -1;
const tl = document.getElementById("tl"), canvas = document.getElementById("canvas"), head = document.getElementById("lanesHead");
const x = (l) => LEFT + l * LANE_W + LANE_W / 2;
head.style.width = width + "px";
head.innerHTML = lanes.map((l, i) => '<div style="left:' + (LEFT + i * LANE_W) + 'px;width:' + LANE_W + 'px">' + l + '</div>').join("");
document.getElementById("legend").innerHTML = Object.keys(TASK).filter(k => k).map(k => '<span style="background:' + TASK[k] + '"></span>' + k).join("");
document.getElementById("count").textContent = D.ev.length + " events, " + D.lanes.length + " process lanes";
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"})[c]);
function store(call){ return call.startsWith("consensus.") ? CONS : call.startsWith("blob.") ? BLOB : -1; }
function rowHtml(i){
  const e = D.ev[i], lane = e[2], s = store(e[9]), col = TASK[e[4]] || "#bdbdbd";
  const fault = e[11] !== "none" && e[11] !== "", crash = e[9] === "process.crash" || e[11].startsWith("crash");
  let h = '<div class="row' + (i === D.focus ? " failing" : "") + (i === sel ? " sel" : "") + '" data-i="' + i + '" style="top:' + (22 + i * rowH) + 'px;height:' + rowH + 'px">';
  h += '<span class="lbl">#' + i + ' t=' + (e[1] / 1000).toFixed(1) + 's</span>';
  if (s >= 0) { const a = Math.min(x(lane), x(s)), b = Math.max(x(lane), x(s)); h += '<div class="link" style="left:' + a + 'px;width:' + (b - a) + 'px;background:' + col + '"></div>'; h += '<div class="ev" style="left:' + (x(s) - 4) + 'px;background:#fff"></div>'; }
  h += '<div class="ev' + (fault ? " fault" : "") + (crash ? " crash" : "") + '" title="' + esc(e[9]) + '" style="left:' + (x(lane) - 5) + 'px;background:' + col + '"></div>';
  if (e[14] >= 0) h += '<div class="req" style="left:' + (x(lane) + 6) + 'px;top:8px;height:' + ((e[14] - i) * rowH) + 'px;background:' + col + '"></div>';
  h += '<span class="txt" style="left:' + (LEFT + lanes.length * LANE_W + 6) + 'px;width:410px">' + esc((e[5] || e[6]) + " " + e[9] + " " + e[10] + (fault ? " [" + e[11] + "]" : "") + " " + e[12]) + '</span>';
  return h + '</div>';
}
let last = "";
function render(){
  const top = tl.scrollTop, h = tl.clientHeight;
  const from = Math.max(0, Math.floor(top / rowH) - 20), to = Math.min(D.ev.length, Math.ceil((top + h) / rowH) + 20);
  const key = from + ":" + to + ":" + rowH + ":" + sel;
  if (key === last) return; last = key;
  canvas.style.height = (22 + D.ev.length * rowH) + "px"; canvas.style.width = width + "px";
  let html = lanes.map((_l, i) => '<div class="lane" style="left:' + x(i) + 'px"></div>').join("");
  for (let i = from; i < to; i++) html += rowHtml(i);
  canvas.innerHTML = html;
}
function stateHtml(q){
  const s = D.states[q];
  if (!s) return "no state recorded at v" + q;
  return "seqno v" + s.seqno + "\\nearliest live diff v" + s.earliest + "\\nseqno_since v" + s.seqnoSince + "\\nlast_gc_req v" + s.lastGcReq + "\\nupper " + s.upper + " since " + s.since + " (" + s.batches + " batches)\\nrollups:\\n" + s.rollups.map(r => "  v" + r[0] + " " + r[1]).join("\\n") + "\\nreaders:\\n" + s.readers.map(r => "  " + r.id + " @v" + r.seqno + " since " + r.since).join("\\n") + "\\nwriters:\\n" + s.writers.map(w => "  " + w.id + " upper " + w.upper).join("\\n");
}
function show(i){
  sel = i; last = ""; render();
  const e = D.ev[i];
  const names = ["step","t (ms)","lane","process","task","cmd","op","site","attempt","call","arg","fault","result"];
  let h = "<pre>event #" + i + (i === D.focus ? "  <b style='color:#d32f2f'>FAILING STEP</b>" : "") + "\\n" + names.map((n, k) => n.padEnd(8) + " " + esc(k === 2 ? D.lanes[e[2]] : e[k])).join("\\n");
  if (e[14] >= 0) h += "\\nanswered at event #" + e[14];
  for (const v of D.violations) if (v.step === e[0]) h += "\\n\\n<b>" + esc(v.kind) + "</b>: " + esc(v.text);
  h += "\\n\\n<b>state at v" + e[13] + "</b>\\n" + esc(stateHtml(e[13])) + "</pre>";
  document.getElementById("details").innerHTML = h;
}
canvas.addEventListener("click", (ev) => { const r = ev.target.closest(".row"); if (r) show(Number(r.dataset.i)); });
tl.addEventListener("scroll", () => requestAnimationFrame(render));
document.getElementById("zoom").addEventListener("input", (ev) => { const c = tl.scrollTop / rowH; rowH = Number(ev.target.value); last = ""; tl.scrollTop = c * rowH; render(); });
document.getElementById("jump").addEventListener("click", () => { if (D.focus >= 0) { tl.scrollTop = Math.max(0, D.focus * rowH - tl.clientHeight / 2); show(D.focus); } });
document.getElementById("viol").innerHTML = D.violations.map(v => "<pre><b>" + esc(v.kind) + "</b> step " + v.step + ": " + esc(v.text) + "</pre>").join("") || "none";
window.addEventListener("resize", () => { last = ""; render(); });
render();
if (D.focus >= 0) { tl.scrollTop = Math.max(0, D.focus * rowH - tl.clientHeight / 2); render(); }
document.body.dataset.ready = "1";
})();
</script></body></html>
`
}
