// The execution timeline: the decision state machine drawn from its ASL (asl/decision.json, the
// file the stack deploys) as an SVG, with the path this case took from its stage trace. Nothing
// here names a state: a state added to the ASL is drawn, and its stage's timing shown, as is.
import { t } from "./i18n.js";
import { api, el, failure, fmt, show, svg, table } from "./ui.js";

const norm = (s) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
const ms = (v) => `${Math.round(v * 100) / 100} ms`;

/** Every transition of a state: [target, kind, label] (kind: next, default, choice, catch). */
export function transitions(state) {
  const out = [];
  if (state.Next) out.push([state.Next, "next", ""]);
  (state.Choices || []).forEach((c) => out.push([c.Next, "choice", choiceLabel(c)]));
  if (state.Default) out.push([state.Default, "default", "default"]);
  (state.Catch || []).forEach((c) => out.push([c.Next, "catch", (c.ErrorEquals || []).join(",")]));
  return out;
}

function choiceLabel(rule) {
  const test = Object.keys(rule).find((k) => k !== "Variable" && k !== "Next");
  return test ? `${rule.Variable || ""} ${test} ${fmt(rule[test])}`.trim() : "";
}

/**
 * Columns and rows: the spine (StartAt along Next / Default) in column 0, every other state
 * (choice branches, catch targets, and anything unreachable) in column 1 beside the first state
 * that leads to it.
 */
export function layout(asl) {
  const names = Object.keys(asl.States);
  const place = new Map();
  let name = asl.StartAt;
  for (let row = 0; name && asl.States[name] && !place.has(name); row++) {
    place.set(name, { col: 0, row });
    const s = asl.States[name];
    name = s.Next || s.Default;
  }
  const rest = [];
  const seen = new Set(place.keys());
  const visit = (n) => {
    if (!n || seen.has(n) || !asl.States[n]) return;
    seen.add(n); rest.push(n);
    transitions(asl.States[n]).forEach(([to]) => visit(to));
  };
  for (const n of place.keys()) transitions(asl.States[n]).forEach(([to]) => visit(to));
  names.forEach(visit);
  let previous = -1;
  for (const n of rest) {
    const from = names.filter((m) => place.get(m)?.col === 0 && transitions(asl.States[m]).some(([to]) => to === n));
    const anchor = from.length ? Math.min(...from.map((m) => place.get(m).row)) + 1 : 0;
    previous = Math.max(previous + 1, anchor);
    place.set(n, { col: 1, row: previous });
  }
  return place;
}

// Tiny evaluator for the Choice rules this ASL uses, over the facts a case record has.
function matches(rule, facts) {
  const key = (rule.Variable || "").replace(/^\$\./, "");
  const value = facts[key];
  if ("BooleanEquals" in rule) return value === rule.BooleanEquals;
  if ("StringEquals" in rule) return value === rule.StringEquals;
  if ("IsPresent" in rule) return (value !== undefined && value !== null) === rule.IsPresent;
  return false;
}

/**
 * The path: states → {kind: visited|failed, ms, note, ended}, and the transitions taken
 * ("From>To"), walked from StartAt along the case's stage trace (Task state ↔ stage by name).
 */
export function casePath(asl, c) {
  const stages = new Map((c.trace?.stages || []).map((s) => [norm(s.stage), s]));
  const states = new Map();
  const edges = new Set();
  const go = (from, to) => { if (to) edges.add(`${from}>${to}`); return to; };
  let name = asl.StartAt;
  let last = null;
  for (let guard = 0; name && asl.States[name] && !states.has(name) && guard < 200; guard++) {
    const s = asl.States[name];
    if (s.Type === "Task") {
      const stage = stages.get(norm(name));
      if (!stage || stage.outcome === "skipped") {
        if (c.status === "FAILED") {
          states.set(name, { kind: "failed", note: `✗ ${c.error?.error || "error"}` });
          name = go(name, s.Catch?.[0]?.Next);
          // The failure path: its own states run (they are not stages of the trace).
          while (name && asl.States[name] && !states.has(name)) {
            states.set(name, { kind: "visited" });
            name = go(name, asl.States[name].Next);
          }
        }
        break;
      }
      states.set(name, { kind: "visited", ms: stage.elapsed_ms, note: stage.outcome === "reject" ? "reject" : "" });
      last = stage;
      name = go(name, s.Next);
    } else if (s.Type === "Choice") {
      const facts = { halted: last?.outcome === "reject", status: c.status, decision: c.decision };
      const rule = (s.Choices || []).find((r) => matches(r, facts));
      const next = rule ? rule.Next : s.Default;
      // A matching rule that leaves the spine is the Choice that ended the flow early.
      states.set(name, { kind: "visited", note: `→ ${next}`, ended: Boolean(rule) });
      name = go(name, next);
    } else {
      states.set(name, { kind: "visited" });
      name = go(name, s.Next);
    }
  }
  return { states, edges };
}

const W = 210, H = 44, GAP = 70, X0 = 24, X1 = 440, Y0 = 16;

function box(place) {
  return { x: place.col === 0 ? X0 : X1, y: Y0 + place.row * GAP };
}

function edgePath(a, b, pa, pb, bend) {
  if (pa.col === pb.col && pb.row === pa.row + 1) return `M${a.x + W / 2},${a.y + H} L${b.x + W / 2},${b.y}`;
  if (pa.col === 0 && pb.col === 0) {
    const out = a.x + W + 24 + bend;
    return `M${a.x + W},${a.y + H / 2} C${out},${a.y + H / 2} ${out},${b.y + H / 2} ${b.x + W},${b.y + H / 2}`;
  }
  if (pa.col === 1 && pb.col === 1) {
    const out = a.x + W + 20;
    return `M${a.x + W},${a.y + H / 2} C${out},${a.y + H / 2} ${out},${b.y + H / 2} ${b.x + W},${b.y + H / 2}`;
  }
  if (pa.col === 0) return `M${a.x + W},${a.y + H / 2} L${b.x},${b.y + H / 2}`;
  return `M${a.x},${a.y + H / 2} L${b.x + W},${b.y + H / 2}`;
}

function shape(type, x, y) {
  if (type === "Choice") {
    const m = H / 2;
    return svg("polygon", { class: "shape", points: `${x + m},${y} ${x + W - m},${y} ${x + W},${y + m} ${x + W - m},${y + H} ${x + m},${y + H} ${x},${y + m}` });
  }
  const round = type === "Succeed" || type === "Fail" ? H / 2 : 6;
  return svg("rect", { class: "shape", x, y, width: W, height: H, rx: round, ry: round });
}

const short = (text, n = 30) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** The diagram: one <g data-state> per state, edges under them, the path highlighted. */
export function diagram(asl, path) {
  const place = layout(asl);
  const rows = Math.max(...[...place.values()].map((p) => p.row)) + 1;
  const height = Y0 * 2 + rows * GAP - (GAP - H);
  const width = X1 + W + 48;
  const defs = svg("defs", {},
    ["arrow", "arrow-on"].map((id) => svg("marker", { id: `tl-${id}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerUnits: "userSpaceOnUse", markerWidth: 9, markerHeight: 9, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: id }))));
  const edges = [];
  let bend = 0;
  for (const [name, state] of Object.entries(asl.States)) {
    for (const [to, kind, label] of transitions(state)) {
      if (!place.has(to)) continue;
      const pa = place.get(name), pb = place.get(to);
      const taken = path.edges.has(`${name}>${to}`);
      if (pa.col === 0 && pb.col === 0 && pb.row !== pa.row + 1) bend = (bend + 10) % 60;
      edges.push(svg("path", {
        d: edgePath(box(pa), box(pb), pa, pb, bend), class: `edge ${kind}${taken ? " on" : ""}`,
        "marker-end": `url(#tl-${taken ? "arrow-on" : "arrow"})`, "data-from": name, "data-to": to, "data-taken": String(taken),
      }, svg("title", { text: `${name} → ${to}${label ? ` (${label})` : ""}` })));
    }
  }
  // Taken edges last: drawn on top of the others.
  edges.sort((a, b) => Number(a.dataset.taken === "true") - Number(b.dataset.taken === "true"));
  const nodes = Object.entries(asl.States).map(([name, state]) => {
    const p = path.states.get(name);
    const { x, y } = box(place.get(name));
    const status = p ? p.kind : "off";
    const second = p
      ? [p.ms !== undefined ? ms(p.ms) : "", p.note || (p.kind === "visited" ? "✓" : "")].filter(Boolean).join(" · ")
      : state.Type;
    return svg("g", { class: `node ${state.Type.toLowerCase()} ${status}${p?.ended ? " ended" : ""}`, "data-state": name, "data-type": state.Type,
      "data-path": status, "data-ended": p?.ended ? "true" : null, "data-ms": p?.ms },
    svg("title", { text: [name, state.Type, state.Comment, p?.note].filter(Boolean).join(" · ") }),
    shape(state.Type, x, y),
    svg("text", { x: x + W / 2, y: y + 18, class: "name", "text-anchor": "middle", text: short(name) }),
    svg("text", { x: x + W / 2, y: y + 35, class: "detail", "text-anchor": "middle", text: short(second, 34) }));
  });
  const visited = [...path.states.entries()].map(([n, p]) => `${n}${p.kind === "failed" ? " ✗" : ""}${p.ms !== undefined ? ` ${ms(p.ms)}` : ""}`);
  return svg("svg", { id: "timeline", role: "img", "aria-labelledby": "tl-title tl-desc", viewBox: `0 0 ${width} ${height}`, width, height, class: "timeline" },
    svg("title", { id: "tl-title", text: t("case.timeline") }),
    svg("desc", { id: "tl-desc", text: `${t("timeline.path")}: ${visited.join(" → ")}` }),
    defs, svg("g", { class: "edges" }, edges), svg("g", { class: "nodes" }, nodes));
}

/** The steps as a table: the path in order, each state's type, result, timing and note. */
function stepsTable(asl, path) {
  return table("timeline-steps", [t("timeline.state"), t("timeline.type"), t("timeline.result"), t("timeline.ms"), t("timeline.note")],
    [...path.states.entries()].map(([name, p]) => ({ name, p, cells: [name, asl.States[name].Type,
      p.kind === "failed" ? t("timeline.failed") : p.ended ? t("timeline.ended") : t("timeline.visited"),
      p.ms !== undefined ? ms(p.ms) : "—", p.note || ""] })),
    ({ name, p }) => ({ "data-step": name, class: p.kind === "failed" ? "hit" : "" }));
}

export async function timelinePage(id) {
  document.title = `${t("case.timeline")} ${id} · LendGuard`;
  show(el("h1", { text: `${t("case.timeline")} · ${id}` }), el("p", { text: t("loading") }));
  let c, asl;
  try {
    [c, asl] = await Promise.all([api("GET", `/v1/cases/${encodeURIComponent(id)}`), fetch("asl/decision.json").then((r) => r.json())]);
  } catch (err) {
    if (err.status !== 401) show(el("h1", { text: `${t("case.timeline")} · ${id}` }), failure(err));
    return;
  }
  const path = casePath(asl, c);
  show(
    el("h1", { text: `${t("case.timeline")} · ${id}` }),
    el("p", {}, el("a", { href: `#/case/${encodeURIComponent(id)}`, text: t("case.back") })),
    el("p", { class: "muted", text: `${asl.Comment || ""} · ${c.status} · ${c.decision || ""}` }),
    el("p", { class: "legend" },
      el("span", { class: "key visited", text: t("timeline.visited") }), " ",
      el("span", { class: "key ended", text: t("timeline.ended") }), " ",
      el("span", { class: "key failed", text: t("timeline.failed") }), " ",
      el("span", { class: "key off", text: t("timeline.off") })),
    el("div", { class: "diagram" }, diagram(asl, path)),
    el("h2", { text: t("timeline.steps") }),
    stepsTable(asl, path),
  );
}
