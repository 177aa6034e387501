// The console: hash routes over the same-origin HTTP API. Every value reaches the page through
// textContent or DOM properties, never as HTML (ui.js), so data cannot inject markup or script.
import { lang, setLang, t, termsFor } from "./i18n.js";
import { policiesPage, policyPage, versionPage } from "./policies.js";
import { revealSection } from "./reveal.js";
import { beginSignIn, completeSignIn, loadConfig, signInMode } from "./signin.js";
import { timelinePage } from "./timeline.js";
import {
  announce, api, clearErrors, el, field, fmt, kv, main, money, onUnauthorized, select, session, show, showErrors, table,
  whoAmI,
} from "./ui.js";

// ---- sign in ---------------------------------------------------------------------------------

function takeAfter() {
  const target = sessionStorage.getItem("lendguard.after") || "#/queue";
  sessionStorage.removeItem("lendguard.after");
  return target;
}

function goTo(target) { if (location.hash === target) route(); else location.hash = target; }

// Through the identity provider: one button to its sign-in page (authorization code + PKCE).
function providerSignIn(message) {
  const button = el("button", { type: "button", id: "signin-provider", text: t("signin.provider") });
  button.addEventListener("click", () => { button.disabled = true; beginSignIn(takeAfter()); });
  const form = el("div", { class: "card", id: "signin" },
    el("p", { class: "form-error", role: "alert", text: message || "" }), button);
  show(el("h1", { text: t("signin.title") }), form);
  renderChrome();
  button.focus();
}

function signIn(message) {
  document.title = `${t("signin.title")} · LendGuard`;
  if (signInMode() === "oidc") { providerSignIn(message); return; }
  const token = el("input", { type: "password", autocomplete: "current-password", required: true });
  const user = el("input", { type: "text", autocomplete: "username", required: true, value: session.user });
  const form = el("form", { class: "card", id: "signin" },
    el("p", { class: "form-error", role: "alert", text: message || "" }),
    field(t("signin.user"), user, "user"),
    field(t("signin.token"), token, "token"),
    el("button", { type: "submit", text: t("signin.submit") }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearErrors(form);
    let bad = false;
    for (const [input, name] of [[user, "user"], [token, "token"]]) {
      if (!input.value.trim()) { form.querySelector(`[data-error-for="${name}"]`).textContent = t("signin.required"); bad = true; }
    }
    if (bad) return;
    session.set(token.value.trim(), user.value.trim());
    goTo(takeAfter());
  });
  show(el("h1", { text: t("signin.title") }), form);
  renderChrome();
  user.focus();
}

// ---- review queue ------------------------------------------------------------------------------

function waited(since) {
  if (!since) return "—";
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 60000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

async function queue(params) {
  document.title = `${t("queue.title")} · LendGuard`;
  const q = new URLSearchParams(params);
  if (!q.has("status")) q.set("status", "PENDING_REVIEW");
  q.set("order", "oldest");
  const form = el("form", { class: "filters", id: "queue-filters" },
    field(t("queue.status"), select([["PENDING_REVIEW", "PENDING_REVIEW"], ["DECIDED", "DECIDED"], ["FAILED", "FAILED"]], q.get("status")), "status"),
    field(t("queue.decision"), select([["", t("queue.any")], ["REVIEW", "REVIEW"], ["APPROVE", "APPROVE"], ["REJECT", "REJECT"]], q.get("decision") || ""), "decision"),
    field(t("queue.product"), el("input", { type: "text", value: q.get("product") || "" }), "product"),
    field(t("queue.from"), el("input", { type: "date", value: q.get("from") || "" }), "from"),
    field(t("queue.to"), el("input", { type: "date", value: q.get("to") || "" }), "to"),
    el("button", { type: "submit", text: t("queue.apply") }),
    el("p", { class: "form-error", role: "alert" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) next.set(k, v);
    location.hash = `#/queue?${next}`;
  });
  const body = el("div", { id: "queue-body", text: t("loading") });
  show(el("h1", { text: t("queue.title") }), form, body);
  let data;
  try {
    data = await api("GET", `/v1/cases?${q}`);
  } catch (err) {
    if (err.status !== 401) { body.textContent = ""; showErrors(form, err); }
    return;
  }
  const headers = ["queue.case", "queue.created", "queue.waiting", "queue.level", "queue.amount", "queue.limit", "queue.score", "queue.reasons"];
  const rows = data.cases.map((c) => el("tr", { "data-case": c.case_id },
    el("td", {}, el("a", { href: `#/case/${encodeURIComponent(c.case_id)}`, text: c.case_id })),
    el("td", { text: new Date(c.created_at).toLocaleString(lang()) }),
    el("td", { text: waited(c.review_opened_at || c.decided_at || c.created_at) }),
    el("td", { text: c.review_waiting ? t(`review.${c.review_waiting}`) : "—" }),
    el("td", { text: money(c.requested_amount) }),
    el("td", { text: money(c.credit_limit) }),
    el("td", { text: fmt(c.score) }),
    el("td", { text: (c.reasons || []).join(", ") || "—" })));
  const pager = el("div", { class: "pager" });
  if (params.has("next_token")) {
    const first = new URLSearchParams(params); first.delete("next_token");
    pager.append(el("a", { href: `#/queue?${first}`, text: t("queue.first") }));
  }
  if (data.next_token) {
    const next = new URLSearchParams(params); next.set("next_token", data.next_token);
    pager.append(el("a", { href: `#/queue?${next}`, id: "next-page", text: t("queue.next") }));
  }
  body.replaceChildren(
    rows.length ? el("table", { id: "queue" },
      el("caption", { class: "sr", text: t("queue.title") }),
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: t(h) })))),
      el("tbody", {}, rows)) : el("p", { text: t("queue.empty") }),
    pager);
}

// ---- case page ---------------------------------------------------------------------------------

function kvText(obj) {
  return Object.entries(obj || {}).map(([k, v]) => `${k}=${fmt(v)}`).join("; ") || "—";
}

function rulesSection(rules) {
  const byStage = new Map();
  for (const r of rules) { if (!byStage.has(r.stage)) byStage.set(r.stage, []); byStage.get(r.stage).push(r); }
  const out = [];
  for (const [stage, list] of byStage) {
    out.push(el("h3", { text: stage }));
    out.push(table(`rules-${stage}`, [t("case.rule"), t("case.action"), t("case.params"), t("case.observed"), t("case.outcome"), t("case.effect")],
      list.map((r) => ({ r, cells: [
        el("span", {}, r.rule_id, ...termsFor(r.rule_id).map((term) => el("span", { class: "term", text: term }))), r.action, kvText(r.params),
        el("span", { class: "observed", text: kvText(r.observed) }),
        r.outcome === "hit" ? el("span", { class: "badge hit", text: "hit 命中" }) : r.outcome,
        r.points !== null && r.points !== undefined ? `${r.effect} (${r.points})` : r.effect] })),
      ({ r }) => ({ class: r.outcome === "hit" ? "hit" : "", "data-rule": r.rule_id })));
  }
  return out;
}

function reviewForm(c, reload) {
  const pending = c.review?.pending;
  const decision = select([["APPROVE", t("review.approve")], ["REJECT", t("review.reject")]], "APPROVE");
  const limit = el("input", { type: "number", step: "0.01", min: "0", inputmode: "decimal" });
  const form = el("form", { class: "card", id: "review-form" },
    el("h3", { text: `${t("review.title")} · ${t("review.level")}: ${t(`review.${pending.level}`)}` }),
    el("p", { class: "form-error", role: "alert" }),
    field(t("review.reviewer"), el("input", { type: "text", value: session.user, autocomplete: "username" }), "reviewer"),
    field(t("review.decision"), decision, "decision"),
    field(`${t("review.limit")} ≤ ${money(c.offer?.credit_limit)}`, limit, "limit"),
    field(t("review.note"), el("textarea", { rows: 3, maxlength: 2000 }), "note"),
    el("button", { type: "submit", text: t("review.submit") }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const data = Object.fromEntries(new FormData(form));
    const body = { reviewer: data.reviewer, decision: data.decision, level: pending.level };
    if (data.limit) body.limit = Number(data.limit);
    if (data.note) body.note = data.note;
    try {
      await api("POST", `/v1/cases/${encodeURIComponent(c.case_id)}/review`, body);
      announce(t("review.done"));
      await reload();
    } catch (err) {
      if (err.status !== 401) showErrors(form, err);
    }
  });
  return form;
}

async function loadCase(id) {
  return api("GET", `/v1/cases/${encodeURIComponent(id)}`);
}

async function casePage(id) {
  document.title = `${t("case.title")} ${id} · LendGuard`;
  show(el("h1", { text: `${t("case.title")} ${id}` }), el("p", { text: t("loading") }));
  let c;
  try { c = await loadCase(id); } catch (err) {
    if (err.status !== 401) show(el("h1", { text: `${t("case.title")} ${id}` }), el("p", { class: "form-error", role: "alert", text: err.message }));
    return;
  }
  const reload = async () => {
    // The workflow moves on asynchronously: wait until the answered task is no longer the open one.
    const before = c.review?.pending?.task_id;
    for (let i = 0; i < 40; i++) {
      const fresh = await loadCase(id);
      const moved = fresh.review?.pending?.task_id !== before;
      if (moved && (fresh.review?.pending || fresh.status !== "PENDING_REVIEW")) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await casePage(id);
  };
  const trace = c.trace || { rules: [], vendors: [], list_hits: [], stages: [] };
  const score = c.score;
  const contributions = Object.entries(score?.contributions || {});
  const pointRules = trace.rules.filter((r) => r.points !== null && r.points !== undefined);
  const schedule = c.offer?.schedule;
  const history = c.review?.history || [];
  show(
    el("h1", {}, `${t("case.title")} ${c.case_id} `, c.decision ? el("span", { class: `badge ${c.decision}`, id: "case-decision", text: c.decision }) : null),
    el("p", {}, el("a", { href: `#/case/${encodeURIComponent(c.case_id)}/timeline`, id: "open-timeline", text: t("case.open_timeline") })),
    el("div", { class: "grid" },
      el("section", { "aria-labelledby": "h-summary" }, el("h2", { id: "h-summary", text: t("case.summary") }),
        kv([[t("case.status"), c.status], [t("case.decision"), c.decision], [t("case.automated"), c.automated_decision],
          ["application_id", c.application_id], [t("queue.product"), c.product], [t("queue.amount"), money(c.requested_amount)],
          ["term_months", c.term_months], [t("case.cost"), c.vendor_cost]])),
      el("section", { "aria-labelledby": "h-applicant" }, el("h2", { id: "h-applicant", text: t("case.applicant") }),
        el("div", { id: "applicant" }, kv(Object.entries(c.applicant || {}))),
        revealSection(c.case_id)),
      el("section", { "aria-labelledby": "h-versions" }, el("h2", { id: "h-versions", text: t("case.versions") }),
        kv([[t("case.policy"), c.policy ? `${c.policy.id} v${c.policy.version}` : null],
          [t("case.model"), c.model ? `${c.model.id} v${c.model.version}` : null],
          [t("case.arm"), c.policy?.arm ?? c.model?.arm ?? null]]))),
    el("section", { "aria-labelledby": "h-reasons" }, el("h2", { id: "h-reasons", text: t("case.reasons") }),
      table("reasons", ["code", "message", "source"], (c.reasons || []).map((r) => ({ cells: [r.code, r.message, r.source] })))),
    el("section", { "aria-labelledby": "h-offer" }, el("h2", { id: "h-offer", text: t("case.offer") }),
      c.offer ? kv([[t("queue.limit"), money(c.offer.credit_limit)], ["APR", c.offer.apr], ["term_months", c.offer.term_months],
        ["mode", c.offer.mode], ["monthly_payment", money(c.offer.monthly_payment)], ["limit_basis", c.offer.limit_basis],
        ["limit_candidates", kvText(c.offer.limit_candidates)]]) : el("p", { class: "muted", text: t("case.none") }),
      schedule ? el("h3", { text: t("case.schedule") }) : null,
      schedule ? table("schedule", Object.keys(schedule.rows?.[0] || schedule.instalments?.[0] || {}),
        (schedule.rows || schedule.instalments || []).map((row) => ({ cells: Object.values(row).map(fmt) }))) : null),
    el("section", { "aria-labelledby": "h-score" }, el("h2", { id: "h-score", text: t("case.score") }),
      score ? kv([["points", score.points], ["adjustment", score.adjustment], ["final_points", score.final_points], ["PD", score.pd],
        ["missing_inputs", (score.missing_inputs || []).join(", ") || "—"]]) : el("p", { class: "muted", text: t("case.none") }),
      contributions.length ? el("h3", { text: t("case.contributions") }) : null,
      contributions.length ? table("contributions", ["feature", "value"], contributions.map(([k, v]) => ({ cells: [k, fmt(v)] }))) : null,
      pointRules.length ? el("h3", { text: t("case.points") }) : null,
      pointRules.length ? table("points", [t("case.rule"), "points"], pointRules.map((r) => ({ cells: [r.rule_id, fmt(r.points)] }))) : null),
    el("section", { "aria-labelledby": "h-rules" }, el("h2", { id: "h-rules", text: t("case.rules") }), rulesSection(trace.rules)),
    el("section", { "aria-labelledby": "h-vendors" }, el("h2", { id: "h-vendors", text: t("case.vendors") }),
      table("vendors", [t("case.vendor"), "service", t("case.status"), t("case.cost"), t("case.latency"), t("case.cache"), "detail"],
        trace.vendors.map((v) => ({ cells: [v.vendor, v.service, v.status, fmt(v.cost), fmt(v.latency_ms),
          v.cache_hit ? "hit" : v.replayed ? "replayed" : "miss", v.error_type || v.detail || ""] })))),
    el("section", { "aria-labelledby": "h-lists" }, el("h2", { id: "h-lists", text: t("case.listhits") }),
      table("list-hits", [t("lists.kind"), t("lists.key_type"), t("lists.reason_code")],
        trace.list_hits.map((h) => ({ cells: [fmt(h.kind), fmt(h.key_type), fmt(h.reason_code)] })))),
    el("section", { "aria-labelledby": "h-timings" }, el("h2", { id: "h-timings", text: t("case.timings") }),
      kv([["decision_ms", c.timings?.decision_ms], ["review_ms", c.timings?.review_ms],
        ...Object.entries(c.timings?.stages_ms || {}).map(([k, v]) => [`${k} ms`, v])])),
    c.error ? el("section", {}, el("h2", { text: t("case.error") }), el("p", { text: fmt(c.error) })) : null,
    el("section", { "aria-labelledby": "h-review" }, el("h2", { id: "h-review", text: t("case.review") }),
      c.review ? kv([[t("case.status"), c.review.status], ["outcome", c.review.outcome],
        [t("review.level"), c.review.pending ? t(`review.${c.review.pending.level}`) : "—"],
        ["final_review_above", c.review.final_review_above]]) : el("p", { class: "muted", text: t("case.none") }),
      el("h3", { text: t("case.history") }),
      table("review-history", [t("lists.at"), "event", t("review.level"), t("review.reviewer"), t("review.decision"), t("queue.limit"), t("review.note")],
        history.map((h) => ({ cells: [new Date(h.at).toLocaleString(lang()), h.event, fmt(h.level), fmt(h.reviewer), fmt(h.decision), fmt(h.limit), h.note || h.detail || ""] }))),
      c.status === "PENDING_REVIEW" && c.review?.pending ? reviewForm(c, reload) : null),
  );
}

// ---- lists --------------------------------------------------------------------------------------

function listsPage() {
  document.title = `${t("lists.title")} · LendGuard`;
  const kinds = ["BLACK", "GREY", "WHITE"].map((k) => [k, t(`kind.${k}`)]);
  const keyTypes = ["ID_NUMBER", "PHONE", "DEVICE_ID", "BANK_CARD"].map((k) => [k, k]);
  const value = el("input", { type: "text", autocomplete: "off" });
  const result = el("section", { id: "list-result", "aria-live": "polite" });
  const form = el("form", { class: "card", id: "list-form" },
    el("p", { class: "form-error", role: "alert" }),
    field(t("lists.kind"), select(kinds, "BLACK"), "kind"),
    field(t("lists.key_type"), select(keyTypes, "PHONE"), "key_type"),
    field(t("lists.value"), value, "value"),
    el("button", { type: "submit", text: t("lists.lookup") }));
  const addForm = el("form", { class: "card", id: "list-add" },
    el("h2", { text: t("lists.add") }),
    el("p", { class: "form-error", role: "alert" }),
    field(t("lists.reason_code"), el("input", { type: "text" }), "reason_code"),
    field(t("lists.reason"), el("input", { type: "text" }), "reason"),
    field(t("lists.ttl"), el("input", { type: "number", min: "1", step: "1" }), "ttl_days"),
    el("button", { type: "submit", text: t("lists.add") }));
  const removeForm = el("form", { class: "card", id: "list-remove" },
    el("h2", { text: t("lists.remove") }),
    el("p", { class: "form-error", role: "alert" }),
    field(t("lists.reason"), el("input", { type: "text" }), "reason"),
    el("button", { type: "submit", class: "secondary", text: t("lists.remove") }));
  // The clear value stays in the input only: it goes to the API in the URL, the API hashes it.
  const target = () => {
    const d = Object.fromEntries(new FormData(form));
    return `/v1/lists/${encodeURIComponent(d.kind)}/${encodeURIComponent(d.key_type)}/${encodeURIComponent(d.value.trim())}`;
  };
  const lookup = async () => {
    clearErrors(form);
    try { render(await api("GET", target())); } catch (err) { if (err.status !== 401) showErrors(form, err); }
  };
  const render = (r) => {
    const e = r.entry;
    result.replaceChildren(
      el("h2", { text: r.listed ? t("lists.listed") : t("lists.not_listed"), id: "list-status", "data-listed": String(r.listed) }),
      e ? kv([[t("lists.kind"), t(`kind.${e.kind}`)], [t("lists.reason_code"), e.reason_code], [t("lists.reason"), e.reason],
        [t("lists.by"), e.added_by], [t("lists.expires"), e.permanent ? "∞" : e.expires_at_iso], ["hash", e.value_hash.slice(0, 12)]]) : null,
      el("h3", { text: t("lists.history") }),
      table("list-history", [t("lists.at"), t("lists.action"), t("lists.by"), t("lists.reason_code"), t("lists.reason"), t("lists.expires")],
        (r.history || []).map((h) => ({ cells: [new Date(h.at).toLocaleString(lang()), h.action, h.by, h.reason_code, h.reason, fmt(h.expires_at)] }))),
      r.listed ? removeForm : addForm);
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); lookup(); });
  addForm.addEventListener("submit", async (e) => {
    e.preventDefault(); clearErrors(addForm);
    const d = Object.fromEntries(new FormData(addForm));
    const body = { reason_code: d.reason_code, reason: d.reason, added_by: session.user };
    if (d.ttl_days) body.ttl_days = Number(d.ttl_days);
    try { await api("PUT", target(), body); await lookup(); } catch (err) { if (err.status !== 401) showErrors(addForm, err); }
  });
  removeForm.addEventListener("submit", async (e) => {
    e.preventDefault(); clearErrors(removeForm);
    const d = Object.fromEntries(new FormData(removeForm));
    const q = new URLSearchParams({ removed_by: session.user, reason: d.reason });
    try { await api("DELETE", `${target()}?${q}`); await lookup(); } catch (err) { if (err.status !== 401) showErrors(removeForm, err); }
  });
  show(el("h1", { text: t("lists.title") }), form, result);
}

// ---- routing and chrome -------------------------------------------------------------------------

function renderChrome() {
  document.querySelectorAll("[data-t]").forEach((n) => { n.textContent = t(n.dataset.t); });
  document.getElementById("skip-link").textContent = t("skip");
  const other = lang() === "zh-CN" ? ["en", "English"] : ["zh-CN", "中文"];
  const button = document.getElementById("lang");
  button.textContent = other[1];
  button.lang = other[0];
  document.getElementById("who").textContent = session.user;
  document.getElementById("signout").hidden = !session.token;
  document.getElementById("nav").hidden = !session.token;
}

function route() {
  renderChrome();
  const hash = location.hash || "#/queue";
  if (!session.token) {
    if (hash !== "#/signin") sessionStorage.setItem("lendguard.after", hash);
    signIn();
    return;
  }
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  if (parts[0] === "case" && parts[1] && parts[2] === "timeline") timelinePage(parts[1]);
  else if (parts[0] === "case" && parts[1]) casePage(parts[1]);
  else if (parts[0] === "lists") listsPage();
  else if (parts[0] === "policies" && parts[1] && parts[2] === "versions" && parts[3]) versionPage(parts[1], parts[3]);
  else if (parts[0] === "policies" && parts[1]) policyPage(parts[1], params);
  else if (parts[0] === "policies") policiesPage();
  else queue(params);
  main().focus({ preventScroll: true });
}

// Back from the identity provider: trade the code for the id token, then ask the API who that is
// (the name the review and list forms send is the API's subject, not one typed in).
async function start() {
  await loadConfig();
  let returned = null;
  try {
    returned = await completeSignIn();
  } catch (err) {
    session.clear();
    signIn(`${t("signin.failed")}: ${err.message}`);
    return;
  }
  if (returned) {
    session.set(returned.token, "");
    try {
      const me = await whoAmI();
      session.set(returned.token, me.sub);
    } catch (err) {
      // A 401 has shown the sign-in page already; anything else is said there.
      if (err.status !== 401) { session.clear(); signIn(`${t("signin.failed")}: ${err.message}`); }
      return;
    }
    goTo(returned.after || "#/queue");
    return;
  }
  route();
}

onUnauthorized(signIn);
document.getElementById("lang").addEventListener("click", () => { setLang(lang() === "zh-CN" ? "en" : "zh-CN"); route(); });
document.getElementById("signout").addEventListener("click", () => { session.clear(); location.hash = "#/signin"; route(); });
window.addEventListener("hashchange", route);
setLang(lang());
start();
