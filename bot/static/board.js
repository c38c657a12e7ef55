"use strict";
// The office board: tiles per room, a feed, two server-drawn charts; kept current by server-sent events.
const params = new URLSearchParams(location.search);
const key = params.get("k") || "";
const dayInput = document.getElementById("day");
if (params.get("date")) dayInput.value = params.get("date");
const STATES = {
  overdue: "报告逾期", unacked: "提醒未确认", mismatch: "试卷核对不符", incident: "突发情况", violation: "违纪",
  reconciled: "试卷已核对", absent_reported: "缺考已报", in_progress: "考试中", ended: "已结束", not_started: "未开始",
};
let source = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function query(extra) {
  const q = new URLSearchParams({ k: key });
  if (dayInput.value) q.set("date", dayInput.value);
  for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
  return q.toString();
}

function legend() {
  const box = document.getElementById("legend");
  for (const [s, label] of Object.entries(STATES)) box.append(el("span", "s-" + s, label));
}

function tile(r) {
  const b = el("button", "tile s-" + r.state);
  b.type = "button";
  b.dataset.room = r.room_id;
  b.dataset.state = r.state;
  b.append(el("div", "name", r.room), el("div", "sub", `${r.starts}–${r.ends} ${r.session} ${r.kind}`),
    el("div", "sub", `${r.occupation} ${r.level}`), el("span", "state", STATES[r.state] || r.state));
  const absent = r.absent === null ? (r.absent_words || "缺考未报") : `实考 ${r.present} · 缺考 ${r.absent}`;
  b.append(el("div", "nums", `应考 ${r.expected} · ${absent}`));
  const check = r.papers_check ? `（领取 ${r.papers_check}）` : "";
  b.append(el("div", "nums", `试卷 ${r.papers_out ?? "-"}/${r.papers_in ?? "-"} ${r.papers_state || ""}${check}`));
  const extra = [];
  if (r.violations) extra.push(`违纪 ${r.violations}`);
  if (r.incidents) extra.push(`突发 ${r.incidents}`);
  if (r.unacked) extra.push(`未确认 ${r.unacked}`);
  const others = r.flags.slice(1, -1);
  if (extra.length || others.length) b.append(el("div", "flags", [...extra, ...others].join(" · ")));
  b.addEventListener("click", () => openRoom(r.room_id));
  return b;
}

function summary(rooms) {
  let expected = 0, present = 0, absent = 0, open = 0, violations = 0, incidents = 0;
  for (const r of rooms) {
    expected += r.expected; violations += r.violations; incidents += r.incidents;
    if (r.absent !== null) { present += r.present; absent += r.absent; }
    if (["overdue", "unacked", "mismatch"].includes(r.state)) open += 1;
  }
  const box = document.getElementById("summary");
  box.replaceChildren();
  for (const [label, value, bad] of [["考场", rooms.length], ["应考", expected], ["实考", present], ["缺考", absent],
    ["待处理考场", open, open > 0], ["违纪", violations, violations > 0], ["突发", incidents, incidents > 0]]) {
    const s = el("span", bad ? "bad" : "", label + " ");
    s.append(el("b", "", value));
    box.append(s);
  }
  if (!rooms.length) box.append(el("span", "", "这一天没有考试安排。"));
}

function render(data) {
  if (!dayInput.value) dayInput.value = data.date;
  const tiles = document.getElementById("tiles");
  tiles.replaceChildren(...data.rooms.map(tile));
  summary(data.rooms);
  const feed = document.getElementById("feed");
  feed.replaceChildren(...data.feed.map((f) => {
    const li = el("li");
    li.append(el("span", "t", `${f.at} ${f.room}`), `${f.text}${f.by ? "（" + f.by + "）" : ""}`);
    return li;
  }));
  if (!data.feed.length) feed.append(el("li", "", "还没有报告。"));
  for (const name of ["attendance", "violations"]) {
    document.getElementById("chart-" + name).src = `/board/chart/${name}.svg?` + query({ v: data.version });
  }
  document.getElementById("updated").textContent = "更新于 " + data.generated_at.slice(11, 19);
  document.body.dataset.version = data.version;
}

async function openRoom(id) {
  const r = await fetch(`/board/api/room/${id}?` + query(), { cache: "no-store" });
  const data = await r.json();
  if (!r.ok) { document.getElementById("error").textContent = data.error || "读取失败"; return; }
  document.getElementById("detail-title").textContent = `${data.room} · ${data.session}`;
  document.getElementById("detail-head").textContent = `${data.occupation} · ${data.location || ""} · 应考 ${data.expected}`;
  const list = document.getElementById("detail-records");
  list.replaceChildren(...data.records.map((x) => {
    const li = el("li", x.fate ? "gone" : "");
    li.append(el("span", "t", `#${x.id} ${x.at}`), `${x.text}${x.by ? "（" + x.by + "）" : ""}`);
    if (x.fate) li.append(` [${x.fate}]`);
    return li;
  }));
  if (!data.records.length) list.append(el("li", "", "还没有报告。"));
  const acks = document.getElementById("detail-acks");
  acks.replaceChildren(...data.acks.map((a) => el("li", "", `${a.step}：${a.by} ${a.at} 确认`)));
  if (!data.acks.length) acks.append(el("li", "", "暂无确认记录。"));
  const dialog = document.getElementById("detail");
  if (!dialog.open) dialog.showModal();
}

function connect() {
  if (source) source.close();
  source = new EventSource("/board/events?" + query());
  source.addEventListener("rooms", (e) => {
    document.getElementById("error").textContent = "";
    document.getElementById("live").textContent = "实时";
    render(JSON.parse(e.data));
  });
  source.addEventListener("expired", () => {
    source.close();
    document.getElementById("error").textContent = "看板链接已过期：请私聊考务助手发送 /看板 获取新链接。";
  });
  source.onerror = () => { document.getElementById("live").textContent = "连接中断，正在重连…"; };
}

dayInput.addEventListener("change", connect);
legend();
connect();
