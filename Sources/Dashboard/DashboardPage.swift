/// The dashboard page: one self-contained HTML document (inline CSS and JavaScript, SVG
/// charts drawn in the browser, nothing fetched from the internet) that reads
/// `/api/summary` every 5 seconds. Labels in Chinese and English.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="zh-Hans">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>工作专班看板 · Task-force dashboard</title>
<style>
  :root { --ink:#1d2733; --muted:#5b6b7d; --line:#d9e1ea; --bg:#f5f7fa; --card:#fff;
          --queued:#4e79a7; --running:#f28e2b; --escalated:#e15759; --resolved:#59a14f; --received:#76b7b2; --warn:#edc948; --people:#b07aa1; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 -apple-system, "Segoe UI", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; color:var(--ink); background:var(--bg); }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 22px; background:#12263a; color:#fff; }
  header h1 { font-size:20px; margin:0; font-weight:600; }
  header .sub { color:#b8c7d6; font-size:13px; }
  .asof { color:#6b7785; font-size:11px; margin-top:4px; }
  header .status { margin-left:auto; font-size:12px; color:#b8c7d6; }
  main { padding:16px 22px 28px; display:grid; gap:16px; grid-template-columns: repeat(12, 1fr); }
  section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
  section h2 { font-size:14px; margin:0 0 8px; font-weight:600; }
  section h2 small { color:var(--muted); font-weight:400; margin-left:6px; }
  .w12 { grid-column: span 12; } .w8 { grid-column: span 8; } .w6 { grid-column: span 6; } .w4 { grid-column: span 4; }
  @media (max-width: 1100px) { .w8, .w6, .w4 { grid-column: span 12; } }
  .cards { display:grid; grid-template-columns: repeat(7, minmax(150px, 1fr)); gap:10px; }
  .card { border:1px solid var(--line); border-radius:6px; padding:8px 10px; }
  .card .name { font-weight:600; font-size:13px; } .card .en { color:var(--muted); font-size:11px; }
  .card .big { font-size:22px; font-weight:600; margin-top:4px; }
  .card .row { display:flex; justify-content:space-between; font-size:12px; color:var(--muted); }
  .card .bad { color:var(--escalated); font-weight:600; }
  table { width:100%; border-collapse:collapse; font-size:12px; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); white-space:nowrap; }
  td.num, th.num { text-align:right; }
  .dot { display:inline-block; width:8px; height:8px; border-radius:50%; margin-right:4px; }
  .legend { font-size:12px; color:var(--muted); display:flex; gap:12px; margin-top:4px; flex-wrap:wrap; }
  .legend span::before { content:""; display:inline-block; width:10px; height:10px; margin-right:4px; vertical-align:-1px; background:var(--c); }
  .empty { color:var(--muted); font-size:12px; }
  svg text { font-size:11px; fill:var(--muted); }
</style>
</head>
<body>
<header>
  <h1>企业诉求工作专班看板</h1><span class="sub">Task-force dashboard · seven task forces, deadlines, workers</span>
  <span class="status" id="status">加载中 loading…</span>
</header>
<main>
  <section class="w12"><h2>各工作专班 <small>Task forces: backlog, deadlines, rates</small></h2><div class="cards" id="cards"></div></section>
  <section class="w6"><h2>积压 <small>Backlog by state</small></h2><div id="backlog"></div>
    <div class="legend"><span style="--c:var(--queued)">排队 queued</span><span style="--c:var(--running)">处理中 running</span><span style="--c:var(--escalated)">已升级 escalated</span><span style="--c:var(--people)">人工办理 with people</span></div></section>
  <section class="w6"><h2>三率 <small>Response · on-time · resolution rates</small></h2><div id="rates"></div>
    <div class="legend"><span style="--c:var(--received)">响应率 response</span><span style="--c:var(--warn)">按时办结率 on time</span><span style="--c:var(--resolved)">办结率 resolution</span></div></section>
  <section class="w8"><h2>吞吐量（近48小时） <small>Throughput per hour, last 48 h</small></h2><div id="throughput"></div>
    <div class="legend"><span style="--c:var(--received)">受理 received</span><span style="--c:var(--resolved)">办结 resolved</span></div></section>
  <section class="w4"><h2>办理时长 <small>Time to resolve (median · p90)</small></h2><div id="durations"></div></section>
  <section class="w6"><h2>临期与超期 <small>Cases at risk and in breach</small></h2><div id="risk"></div></section>
  <section class="w6"><h2>工作进程 <small>Workers</small></h2><div id="workers"></div></section>
  <section class="w12"><h2>人工办理（本月） <small>Casework by people this month: response, resolution, satisfaction, returns, redos, supervision</small></h2><div id="casework"></div></section>
  <section class="w12"><h2>异常作业 <small>Attempts without heartbeats (silent) or past their time limit (overrunning)</small></h2><div id="troubled"></div></section>
  <section class="w12"><h2>失败作业 <small>Discarded jobs and their last error</small></h2><div id="discarded"></div></section>
</main>
<script>
"use strict";
const SVGNS = "http://www.w3.org/2000/svg";
const COLORS = { queued: "var(--queued)", running: "var(--running)", escalated: "var(--escalated)", people: "var(--people)" };
// The people's states (docs/casework.md), drawn as one part of the backlog.
const PEOPLE = ["signoff", "working", "suspended", "cohandling", "answered", "callback_due", "redo"];
function el(tag, attrs, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }
function dur(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return s.toFixed(0) + " s"; if (s < 3600) return (s / 60).toFixed(1) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h"; return (s / 86400).toFixed(1) + " d";
}
function when(t) { return t ? new Date(t).toLocaleString() : "–"; }
function replace(id, node) { const box = document.getElementById(id); box.replaceChildren(node); }

function cards(data) {
  const box = el("div", { class: "cards" });
  for (const tf of data.task_forces) {
    const open = Object.values(tf.backlog).reduce((a, b) => a + b, 0);
    const card = el("div", { class: "card", "data-task-force": tf.key, "data-resolved": String(tf.resolved) });
    card.append(el("div", { class: "name" }, tf.name_zh.replace("工作专班", "")), el("div", { class: "en" }, tf.name_en));
    card.append(el("div", { class: "big" }, String(open)), el("div", { class: "en" }, "未办结 open"));
    const rows = [["临期 at risk", tf.at_risk, tf.at_risk > 0], ["超期 overdue", tf.breached_open, tf.breached_open > 0],
                  ["已办结 resolved", tf.resolved, false], ["响应率 response", pct(tf.response_rate), false],
                  ["按时率 on time", pct(tf.on_time_resolution_rate), false], ["办结率 resolution", pct(tf.resolution_rate), false],
                  ["改派 rerouted", tf.rerouted_away, false]];
    for (const [label, value, bad] of rows) {
      const row = el("div", { class: "row" }); row.append(el("span", {}, label), el("span", bad ? { class: "bad" } : {}, String(value)));
      card.append(row);
    }
    box.append(card);
  }
  const triage = el("div", { class: "card" });
  triage.append(el("div", { class: "name" }, "人工分拨"), el("div", { class: "en" }, "Triage backlog"), el("div", { class: "big" }, String(data.triage_backlog)));
  box.append(triage);
  replace("cards", box);
}

function hbars(id, rows, series, maxValue, format) {
  const width = 560, rowH = 26, left = 110, height = rows.length * rowH + 20;
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img" });
  const max = maxValue || Math.max(1, ...rows.map(r => series.reduce((a, s) => a + (r.values[s.key] || 0), 0)));
  rows.forEach((r, i) => {
    const y = 6 + i * rowH;
    svg.append(el("svg:text", { x: 0, y: y + 14 }, r.label));
    let x = left;
    for (const s of series) {
      const v = r.values[s.key] || 0, w = (width - left - 60) * v / max;
      if (w > 0) svg.append(el("svg:rect", { x, y, width: w, height: rowH - 10, fill: s.color, rx: 2 }));
      x += s.stack ? w : 0;
      if (!s.stack) break;
    }
    svg.append(el("svg:text", { x: x + 4, y: y + 14 }, format(r)));
  });
  return svg;
}

function backlog(data) {
  const rows = data.task_forces.map(tf => {
    const values = { queued: tf.backlog.queued || 0, running: tf.backlog.running || 0, escalated: tf.backlog.escalated || 0,
                     people: PEOPLE.reduce((sum, k) => sum + (tf.backlog[k] || 0), 0) };
    return { label: tf.name_zh.replace("工作专班", "").slice(0, 8), values };
  });
  const series = ["queued", "running", "escalated", "people"].map(k => ({ key: k, color: COLORS[k], stack: true }));
  replace("backlog", hbars("backlog", rows, series, 0, r => String(Object.values(r.values).reduce((a, b) => a + b, 0))));
}

function rates(data) {
  const width = 560, group = 30, left = 110, height = data.task_forces.length * group + 10;
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img" });
  data.task_forces.forEach((tf, i) => {
    const y = 4 + i * group;
    svg.append(el("svg:text", { x: 0, y: y + 16 }, tf.name_zh.replace("工作专班", "").slice(0, 8)));
    [["response_rate", "var(--received)"], ["on_time_resolution_rate", "var(--warn)"], ["resolution_rate", "var(--resolved)"]].forEach(([k, c], j) => {
      const v = tf[k] || 0;
      svg.append(el("svg:rect", { x: left, y: y + j * 8, width: (width - left - 60) * v, height: 7, fill: c }));
    });
    svg.append(el("svg:text", { x: width - 55, y: y + 16 }, pct(tf.resolution_rate)));
  });
  replace("rates", svg);
}

function throughput(data) {
  const pts = data.throughput, width = 800, height = 190, left = 36, bottom = 22;
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img" });
  if (!pts.length) { replace("throughput", el("div", { class: "empty" }, "no data")); return; }
  const max = Math.max(1, ...pts.map(p => Math.max(p.received, p.resolved)));
  const step = (width - left - 10) / pts.length;
  for (let g = 0; g <= 4; g++) {
    const y = (height - bottom) * (1 - g / 4) + 4;
    svg.append(el("svg:line", { x1: left, x2: width, y1: y, y2: y, stroke: "#e6ebf1" }));
    svg.append(el("svg:text", { x: 0, y: y + 4 }, String(Math.round(max * g / 4))));
  }
  pts.forEach((p, i) => {
    const x = left + i * step, h1 = (height - bottom - 4) * p.received / max, h2 = (height - bottom - 4) * p.resolved / max;
    svg.append(el("svg:rect", { x, y: height - bottom - h1, width: Math.max(1, step / 2 - 1), height: h1, fill: "var(--received)" }));
    svg.append(el("svg:rect", { x: x + step / 2, y: height - bottom - h2, width: Math.max(1, step / 2 - 1), height: h2, fill: "var(--resolved)" }));
    if (i % 6 === 0) svg.append(el("svg:text", { x, y: height - 6 }, new Date(p.hour).getHours() + ":00"));
  });
  replace("throughput", svg);
}

function table(id, headers, rows) {
  if (!rows.length) { replace(id, el("div", { class: "empty" }, "无 none")); return; }
  const t = el("table"), head = el("tr");
  for (const [h, num] of headers) head.append(el("th", num ? { class: "num" } : {}, h));
  t.append(head);
  for (const r of rows) {
    const tr = el("tr");
    r.forEach((cell, i) => {
      const td = el("td", headers[i][1] ? { class: "num" } : {});
      if (cell instanceof Node) td.append(cell); else td.textContent = String(cell);
      tr.append(td);
    });
    t.append(tr);
  }
  replace(id, t);
}

function render(data) {
  cards(data); backlog(data); rates(data); throughput(data);
  table("durations", [["专班 task force"], ["办结 resolved", 1], ["中位 median", 1], ["P90", 1]],
        data.task_forces.map(tf => [tf.key, tf.resolved, dur(tf.median_resolve_seconds), dur(tf.p90_resolve_seconds)]));
  table("risk", [["案件 case", 1], ["专班 task force"], ["级别 level", 1], ["企业 enterprise"], ["到期 due"], ["剩余 min left", 1]],
        data.at_risk_cases.map(c => [c.case_id, c.task_force, c.level, c.enterprise || "–", when(c.due_at), c.breached ? "超期 " + c.minutes_to_due : c.minutes_to_due]));
  table("workers", [["进程 worker"], ["专班 task forces"], ["处理器 handler"], ["运行 running", 1], ["完成 done", 1], ["卡住 stuck", 1], ["心跳 heartbeat"]],
        data.workers.map(w => { const d = el("span"); d.append(el("span", { class: "dot", style: "background:" + (w.alive ? "var(--resolved)" : "var(--escalated)") }), document.createTextNode(w.name));
                               return [d, w.task_forces, w.handler, w.running_jobs, w.completed_jobs, w.stuck_handlers,
                                       w.stopped_at ? "已停止 stopped " + when(w.stopped_at) : when(w.last_heartbeat_at)]; }));
  document.getElementById("workers").setAttribute("data-completed", String(data.workers.reduce((sum, w) => sum + w.completed_jobs, 0)));
  const pct = v => v == null ? "–" : (100 * v).toFixed(1) + "%";
  table("casework", [["专班 task force"], ["转人工 held", 1], ["签收 signed off", 1], ["响应率 response", 1], ["答复 answered", 1],
                     ["办结率 resolution", 1], ["回访 callbacks", 1], ["满意率 satisfaction", 1], ["退单率 returns", 1],
                     ["重办率 redo", 1], ["督办 supervised", 1], ["催办 chased", 1], ["排名 rank", 1]],
        data.task_forces.filter(tf => tf.casework).map(tf => { const w = tf.casework;
          return [tf.key, w.held, w.signoffs, pct(w.response_rate), w.answers, pct(w.resolution_rate), w.callbacks,
                  pct(w.satisfaction_rate), pct(w.return_rate), pct(w.redo_rate), w.supervised, w.chased, w.rank]; }));
  table("troubled", [["作业 job", 1], ["队列 queue"], ["案件 case", 1], ["进程 worker"], ["心跳间隔 heartbeat age", 1], ["运行 running", 1], ["状态 status"]],
        data.troubled_attempts.map(a => [a.job_id, a.queue, a.case_id ?? "–", a.worker || "–", dur(a.heartbeat_age_seconds), dur(a.running_seconds),
                                         a.status === "silent" ? "无心跳 silent" : "超时仍在运行 overrunning"]));
  table("discarded", [["作业 job", 1], ["队列 queue"], ["案件 case", 1], ["次数 attempts", 1], ["时间 at"], ["最后错误 last error"]],
        data.discarded_jobs.map(j => [j.job_id, j.queue, j.case_id ?? "–", j.attempts, when(j.finished_at), (j.last_error || "").slice(0, 120)]));
  // Every figure carries its as-of time: live ones (backlog, risk, queues, workers) as of
  // the read, historical ones (received, resolved, rates, durations, throughput) as of
  // their last computation.
  document.getElementById("status").textContent = "实时数据 live " + new Date(data.generated_at).toLocaleTimeString()
    + " · 统计截至 totals as of " + new Date(data.aggregates_as_of).toLocaleTimeString() + " · 每5秒刷新 refresh 5 s";
  for (const id of ["rates", "throughput", "durations"]) {
    const box = document.getElementById(id);
    box.append(el("div", { class: "asof" }, "截至 as of " + new Date(data.aggregates_as_of).toLocaleTimeString()));
  }
}

async function refresh() {
  try {
    // Built from origin and path only: a page opened as http://user:pass@host/ must not
    // put credentials in the fetch URL (browsers refuse it); the login is sent anyway.
    const response = await fetch(new URL("api/summary", location.origin + location.pathname), { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json());
  } catch (error) {
    document.getElementById("status").textContent = "连接失败 unavailable: " + error.message;
  }
}
refresh();
setInterval(refresh, 5000);
</script>
</body>
</html>
"""#
}
