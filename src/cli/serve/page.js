// The explorer page: every change becomes `--set` settings for POST
// /api/run; the newest request wins (the server cancels the older run of the
// same client). window.replisim is the page's state, read by the tests.
"use strict";

const client = "page-" + Math.random().toString(36).slice(2, 12);
const state = {
  phase: "loading", runs: 0, request: null, summary: null, error: null,
  preliminary: null, preliminaryOf: 0, preliminaryText: null,
};
window.replisim = state;
const $ = (id) => document.getElementById(id);
let initialOptions = [];
let latest = 0;
let timer = null;
let aborter = null;

function text(tag, content, attrs) {
  const e = document.createElement(tag);
  e.textContent = content;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function init() {
  const base = await (await fetch("/api/controls")).json();
  $("scenario").textContent = `${base.file}: at most ${base.max_trials} trials per run`;
  for (const c of base.controls) {
    let value = c.value ?? "";
    const label = text("label", c.label + " ");
    const input = text("input", "", { type: "text", "data-path": c.path, placeholder: c.hint });
    input.dataset.initial = value;
    // Over the server's budget: ask for what it allows (sent as a setting).
    if (c.path === "trials" && Number(value) > base.max_trials) value = String(base.max_trials);
    input.value = value;
    label.append(input);
    $("fields").append(label);
  }
  initialOptions = base.options.filter((o) => base.standard_options.includes(o));
  for (const o of base.standard_options) {
    const box = text("input", "", { type: "checkbox", "data-option": o });
    box.checked = initialOptions.includes(o);
    const label = text("label", "");
    label.append(box, " " + o);
    $("options").append(label);
  }
  $("form").addEventListener("input", () => schedule(400));
  $("form").addEventListener("submit", (e) => { e.preventDefault(); schedule(0); });
  schedule(0);
}

// The settings that make the page's scenario from the server's.
function settings() {
  const sets = [];
  for (const input of document.querySelectorAll("input[data-path]")) {
    const v = input.value.trim();
    const changed = v !== "" && v !== input.dataset.initial;
    input.classList.toggle("changed", changed);
    if (changed) sets.push(`${input.dataset.path}=${v}`);
  }
  const ticked = [...document.querySelectorAll("input[data-option]:checked")].map((b) => b.dataset.option);
  if (ticked.join() !== initialOptions.join()) {
    sets.push(`options=[${ticked.map((o) => `"${o}"`).join(", ")}]`, "expect={}");
  }
  const copies = $("copies").value.trim();
  if (copies !== "") {
    const needed = $("needed").value.trim() || "1";
    sets.push(`custom=[{ name = "code ${needed} of ${copies}", copies = ${copies}, needed = ${needed}, ` +
      `within = "${$("within").value}", spread = "${$("spread").value}" }]`);
  }
  return sets;
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(run, ms);
}

async function run() {
  const seq = ++latest;
  if (aborter) aborter.abort();
  aborter = new AbortController();
  const request = { client, set: settings() };
  Object.assign(state, { phase: "running", request, error: null });
  const poll = setInterval(() => showProgress(seq), 250);
  try {
    const r = await fetch("/api/run", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify(request), signal: aborter.signal,
    });
    const body = await r.json();
    if (seq !== latest) return;
    if (!r.ok) throw new Error(body.error);
    state.summary = body;
    $("error").textContent = "";
    render(body);
    await drawFigures(seq);
    $("download").href = `/api/scenario?client=${client}&download=true`;
    $("status").textContent = `${body.trials} trials, seed ${body.seed}: done`;
    state.runs += 1;
    state.phase = "done";
  } catch (e) {
    if (e.name === "AbortError" || seq !== latest) return;
    Object.assign(state, { phase: "error", error: e.message });
    $("status").textContent = "";
    $("error").textContent = e.message;
  } finally {
    clearInterval(poll);
  }
}

async function showProgress(seq) {
  let p;
  try {
    p = await (await fetch(`/api/progress?client=${client}`)).json();
  } catch (e) {
    return; // a missed update; the next one comes in 250 ms
  }
  if (seq !== latest || state.phase !== "running") return;
  // The run's first pass, summarized while the rest runs: shown at once,
  // replaced by the whole run's numbers when they come.
  // Rendered again whenever it changes: a poll that came before the server
  // took this request may have seen the older run's.
  const shown = p.preliminary ? JSON.stringify(p.preliminary) : null;
  if (shown && shown !== state.preliminaryText) {
    Object.assign(state, { preliminaryOf: seq, preliminary: p.preliminary, preliminaryText: shown });
    render(p.preliminary);
  }
  const bar = text("progress", "", { max: p.total || 1, value: p.done });
  const first = state.preliminaryOf === seq && state.preliminary
    ? `preliminary numbers from the first ${state.preliminary.trials} trials; ` : "";
  $("status").replaceChildren(`${first}running: ${p.done} of ${p.total} trials `, bar);
}

async function drawFigures(seq) {
  const r = await fetch(`/api/figures?client=${client}`);
  if (!r.ok || seq !== latest) return;
  const box = $("figures");
  box.replaceChildren();
  // The server's own charts (every text in them escaped by the plotter).
  for (const [, svg] of await r.json()) box.insertAdjacentHTML("beforeend", svg);
}

const exp = (p) => (p === 0 ? "0" : p.toExponential(2));
const nines = (n) => (n === null || n === undefined ? "-" : n.toFixed(2));
function percent(f) {
  if (f >= 1) return "100%";
  const digits = Math.min(10, Math.max(2, Math.ceil(-Math.log10(1 - f))));
  return (100 * f).toFixed(digits) + "%";
}
function duration(s) {
  if (s === undefined || s === null) return "-";
  if (s < 120) return s.toFixed(0) + " s";
  if (s < 7200) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
}
function bytes(b) {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (b >= 1000 && i < units.length - 1) { b /= 1000; i++; }
  return (i === 0 ? b.toFixed(0) : b.toFixed(1)) + " " + units[i];
}
// No trial lost data: the exact upper bound, as `run` prints it.
const anyLoss = (d) => (d.trials_with_loss === 0 ? "< " + exp(d.any_loss_ci95[1]) : exp(d.any_loss_probability));
const spread = (d) => (d ? `${duration(d.p50)} / ${duration(d.p99)} / ${duration(d.max)}` : "-");

function table(head, rows) {
  const t = document.createElement("table");
  const tr = document.createElement("tr");
  for (const h of head) tr.append(text("th", h));
  t.append(tr);
  for (const cells of rows) {
    const row = document.createElement("tr");
    for (const c of cells) row.append(c instanceof Node ? c : text("td", c));
    t.append(row);
  }
  return t;
}

const share = (f) => (f === null || f === undefined ? "-" : (100 * f).toFixed(1) + "%");
const meanCi = (m, digits) =>
  `${m.mean.toFixed(digits)} [${m.ci95[0].toFixed(digits)}, ${m.ci95[1].toFixed(digits)}]`;
const interval = (ci) => `[${exp(ci[0])}, ${exp(ci[1])}]`;

// A heading and a table of the options that have `part` of the summary (a
// section the scenario may lack, or an older server's JSON), or nothing.
function optional(s, title, head, part, cells) {
  const rows = s.options.filter((o) => part(o)).map((o) => [o.option, ...cells(part(o))]);
  return rows.length === 0 ? [] : [text("h2", title), table(["option", ...head], rows)];
}

// The tables of the optional sections: latent errors, customer-managed keys,
// deletion, logical errors and Customer Lockbox, as `run` prints them.
function sections(s) {
  return [
    ...optional(s, "Latent sector errors",
      ["P(lost through a latent error)", "95% CI", "share of P(object lost)", "P(undetected error)"],
      (o) => o.latent,
      (l) => [exp(l.loss_probability), interval(l.ci95), share(l.share_of_loss),
        l.undetected_probability === null ? "-" : exp(l.undetected_probability)]),
    ...optional(s, "Customer-managed key",
      ["unreadable for the key (min/y)", "read with key", "nines", "down min/y",
        "P(object lost) with key", "nines", "crypto-shred days"],
      (o) => o.keys,
      (k) => [meanCi(k.unreadable_minutes_per_year, 1), percent(k.read_with_key.fraction),
        nines(k.read_with_key.nines), k.read_with_key.unavailable_minutes_per_year.toFixed(1),
        exp(k.loss_probability), nines(k.nines), k.crypto_shred_days.toFixed(1)]),
    ...optional(s, "Deletion and erasure",
      ["erasure mean", "erasure p50/p99/max", "resurrected/y"],
      (o) => o.deletion,
      (d) => [d.erasure_seconds ? duration(d.erasure_seconds.mean) : "-", spread(d.erasure_seconds),
        bytes(d.resurrected_bytes_per_year.mean)]),
    ...optional(s, "Logical errors",
      ["P(logical loss)", "95% CI", "nines", "P(object lost) with logical", "nines with logical"],
      (o) => o.logical,
      (l) => [exp(l.loss_probability), interval(l.ci95), nines(l.nines),
        exp(l.loss_probability_with_logical), nines(l.nines_with_logical)]),
    ...optional(s, "Customer Lockbox",
      ["RTO waiting for approval", "approval wait p50/p99/max", "granted h/y", "denials/y"],
      (o) => o.access,
      (a) => [share(a.approval_wait_share), spread(a.approval_wait_seconds),
        meanCi(a.granted_hours_per_year, 2), meanCi(a.denials_per_year, 3)]),
  ];
}

function render(s) {
  const durability = s.options.map((o) => {
    const d = o.durability;
    const cell = text("td", (d.upper_bound_only ? "> " : "") + nines(d.nines), {
      class: "nines", "data-option": o.option, "data-nines": String(d.nines),
    });
    const [lo, hi] = d.nines_ci95;
    // An interval the tail diagnostics cannot vouch for is said to be so, as `run` prints it.
    const doubt = d.reliable === false ? "unreliable " : "";
    return [o.option, String(o.copies), exp(d.loss_probability),
      `${doubt}[${exp(d.ci95[0])}, ${exp(d.ci95[1])}]`,
      cell, d.reliable === false ? "unreliable" : `[${nines(lo)}, ${nines(hi)}]`, anyLoss(d),
      bytes(d.bytes_lost.mean), o.warnings.join("; ")];
  });
  // P(object lost) by cause (the rare-event method's split), as `run`'s third table.
  const causeCell = (c) => (c.loss_probability === 0 && c.ci95[1] === 0
    ? "0" : `${exp(c.loss_probability)} [${exp(c.ci95[0])}, ${exp(c.ci95[1])}]`);
  const causes = s.options
    .filter((o) => (o.durability.by_cause || []).length > 0)
    .map((o) => [o.option, ...o.durability.by_cause.map(causeCell)]);
  const causeTable = causes.length === 0 ? [] : [
    text("h2", "P(object lost) by cause"),
    table(["option", "lost by hardware (disk, node, rack)", "by site (facility, zone)", "by region"],
      causes),
  ];
  // Reads of the data not lost, a column only when the JSON has it.
  const kept = s.options.some((o) => o.availability.read_of_kept_data);
  const keptCell = (a) => (a.read_of_kept_data ? [percent(a.read_of_kept_data.fraction)] : ["-"]);
  const service = s.options.map((o) => {
    const a = o.availability;
    const f = o.failover;
    return [o.option, percent(a.read.fraction), nines(a.read.nines), ...(kept ? keptCell(a) : []),
      percent(a.write.fraction), nines(a.write.nines),
      `${a.read.unavailable_minutes_per_year.toFixed(1)} / ${a.write.unavailable_minutes_per_year.toFixed(1)}`,
      f ? f.count_per_year.toFixed(3) : "-", spread(f && f.rpo_seconds), spread(f && f.rto_seconds),
      spread(o.geo_replication && o.geo_replication.lag_seconds)];
  });
  // Doubtful values of the scenario (an afr of 2 is 200% a year), as `run` prints them.
  const doubts = (s.warnings || []).map((w) => text("p", "warning: " + w, { class: "warning" }));
  $("results").replaceChildren(
    ...doubts,
    text("h2", `Durability over ${s.horizon_years} year(s), ${s.trials} trials`),
    table(["option", "copies", "P(object lost)", "95% CI", "nines", "nines 95% CI", "P(any loss)",
      "bytes lost", "notes"], durability),
    ...causeTable,
    text("h2", "Availability, failover, RPO and RTO"),
    table(["option", "read", "nines", ...(kept ? ["read of data kept"] : []), "write", "nines",
      "down min/y (r/w)", "failovers/y", "RPO p50/p99/max", "RTO p50/p99/max", "lag p50/p99/max"],
    service),
    ...sections(s),
  );
}

init().catch((e) => {
  Object.assign(state, { phase: "error", error: String(e) });
  $("error").textContent = String(e);
});
