// Policies: each policy's versions (status, author, approver, timestamps), the routing in force
// (champion, arms, conditions, shadows), the semantic diff between two versions as the API
// returns it (old, new, changes[{path, kind, old, new}]), and approve / reject / activate for
// approvers. The API decides who may do what; the page only hides what the roles cannot do.
import { t } from "./i18n.js";
import { announce, api, clearErrors, el, failure, field, fmt, kv, select, show, showErrors, table, when, whoAmI } from "./ui.js";

const STATUSES = ["DRAFT", "PENDING_APPROVAL", "APPROVED", "REJECTED"];
const policyHref = (id, query) => `#/policies/${encodeURIComponent(id)}${query ? `?${query}` : ""}`;
const versionHref = (id, v) => `#/policies/${encodeURIComponent(id)}/versions/${encodeURIComponent(v)}`;
const statusBadge = (status) => el("span", { class: `badge status-${STATUSES.includes(status) ? status : "other"}`, text: t(`policy.status.${status}`) });

export async function policiesPage() {
  document.title = `${t("policies.title")} · LendGuard`;
  show(el("h1", { text: t("policies.title") }), el("p", { text: t("loading") }));
  let data;
  try { data = await api("GET", "/v1/policies"); } catch (err) {
    if (err.status !== 401) show(el("h1", { text: t("policies.title") }), failure(err));
    return;
  }
  show(
    el("h1", { text: t("policies.title") }),
    table("policies", [t("policies.id"), t("routing.champion"), t("routing.experiment"), t("routing.revision")],
      data.policies.map((p) => ({ id: p.policy_id, cells: [
        el("a", { href: policyHref(p.policy_id), text: p.policy_id }),
        p.routing ? `v${p.routing.champion}` : t("routing.none"),
        fmt(p.routing?.experiment), fmt(p.routing?.revision)] })),
      ({ id }) => ({ "data-policy": id })),
  );
}

/** What a version does in the routing in force: champion, an arm or condition, a shadow (or nothing). */
function inUse(routing, version) {
  if (!routing) return "—";
  const roles = [];
  if (routing.champion === version) roles.push(t("routing.champion"));
  routing.arms.filter((a) => a.version === version).forEach((a) => roles.push(`${t("routing.arm")} ${a.name} ${a.percent}%`));
  routing.conditions.filter((c) => c.version === version).forEach((c) => roles.push(`${t("routing.arm")} ${c.name}`));
  if (routing.shadows.includes(version)) roles.push(t("routing.shadow"));
  return roles.join(", ") || "—";
}

function routingSection(policyId, routing) {
  if (!routing) return el("p", { class: "muted", id: "routing", text: t("routing.none") });
  return el("div", { id: "routing" },
    kv([[t("routing.champion"), `v${routing.champion}`], [t("routing.experiment"), routing.experiment],
      [t("routing.shadows"), routing.shadows.length ? routing.shadows.map((v) => `v${v}`).join(", ") : "—"],
      [t("routing.revision"), routing.revision], [t("policy.by"), routing.changed_by], [t("policy.at"), when(routing.changed_at)],
      [t("routing.reason"), routing.reason || "—"]]),
    el("h3", { text: t("routing.arms") }),
    table("routing-arms", [t("routing.arm"), t("policy.version"), "%"],
      routing.arms.map((a) => ({ cells: [a.name, el("a", { href: versionHref(policyId, a.version), text: `v${a.version}` }), String(a.percent)] }))),
    el("h3", { text: t("routing.conditions") }),
    table("routing-conditions", [t("routing.arm"), t("routing.when"), t("policy.version")],
      routing.conditions.map((c) => ({ cells: [c.name, el("code", { text: c.when }), `v${c.version}`] }))));
}

/** One change: a section heading groups them; old and new as JSON text (never HTML). */
function changeRow(change) {
  const value = (v) => (v === null || v === undefined ? "—" : el("code", { class: "json", text: JSON.stringify(v, null, 1) }));
  return { change, cells: [el("code", { text: change.path }), el("span", { class: `badge change-${change.kind}`, text: t(`diff.${change.kind}`) }),
    value(change.old), value(change.new)] };
}

export function diffView(diff) {
  const sections = new Map();
  for (const c of diff.changes) {
    const section = c.path.split(".", 1)[0].split("[", 1)[0];
    if (!sections.has(section)) sections.set(section, []);
    sections.get(section).push(c);
  }
  const heading = `${diff.old.id} v${diff.old.version} → ${diff.new.id} v${diff.new.version} · ${diff.changes.length} ${t("diff.changes")}`;
  return el("section", { id: "diff", "aria-labelledby": "h-diff-result", "data-changes": diff.changes.length },
    el("h3", { id: "h-diff-result", text: heading }),
    diff.changes.length ? null : el("p", { class: "muted", text: t("diff.none") }),
    [...sections].map(([section, changes]) => el("div", { class: "diff-section", "data-section": section },
      el("h4", { text: section }),
      table(`diff-${section}`, [t("diff.path"), t("diff.kind"), t("diff.old"), t("diff.new")], changes.map(changeRow),
        ({ change }) => ({ "data-path": change.path, "data-kind": change.kind })))));
}

function diffForm(policyId, versions, params) {
  const numbers = versions.map((v) => [String(v.version), `v${v.version} · ${t(`policy.status.${v.status}`)}`]);
  const latest = numbers.at(-1)?.[0] || "";
  const before = numbers.at(-2)?.[0] || latest;
  const form = el("form", { class: "filters", id: "diff-form" },
    field(t("diff.from"), select(numbers, params.get("from") || before), "from"),
    field(t("diff.to"), select(numbers, params.get("to") || latest), "to"),
    el("button", { type: "submit", text: t("diff.show") }),
    el("p", { class: "form-error", role: "alert" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const d = new URLSearchParams(new FormData(form));
    location.hash = policyHref(policyId, d.toString());
  });
  return form;
}

export async function policyPage(policyId, params) {
  document.title = `${t("policies.policy")} ${policyId} · LendGuard`;
  const title = el("h1", { text: `${t("policies.policy")} ${policyId}` });
  show(title, el("p", { text: t("loading") }));
  let versions, routing;
  try {
    [versions, routing] = await Promise.all([
      api("GET", `/v1/policies/${encodeURIComponent(policyId)}/versions`),
      api("GET", `/v1/policies/${encodeURIComponent(policyId)}/routing`),
    ]);
  } catch (err) {
    if (err.status !== 401) show(title, failure(err));
    return;
  }
  const list = versions.versions;
  const form = diffForm(policyId, list, params);
  const result = el("div", { id: "diff-result", "aria-live": "polite" });
  show(
    title,
    el("p", {}, el("a", { href: "#/policies", text: t("policies.back") })),
    el("section", { "aria-labelledby": "h-routing" }, el("h2", { id: "h-routing", text: t("routing.title") }), routingSection(policyId, routing.routing)),
    el("section", { "aria-labelledby": "h-versions" }, el("h2", { id: "h-versions", text: t("policies.versions") }),
      table("versions", [t("policy.version"), t("policy.status"), t("policy.author"), t("policy.created"), t("policy.submitted"),
        t("policy.approver"), t("policy.decided"), t("routing.in_use"), t("policy.description")],
      list.map((v) => ({ v, cells: [el("a", { href: versionHref(policyId, v.version), text: `v${v.version}` }), statusBadge(v.status),
        v.author, when(v.created_at), when(v.submitted_at), fmt(v.approver), when(v.decided_at), inUse(routing.routing, v.version),
        v.description || ""] })),
      ({ v }) => ({ "data-version": v.version, "data-status": v.status }))),
    el("section", { "aria-labelledby": "h-diff" }, el("h2", { id: "h-diff", text: t("diff.title") }), form, result),
  );
  if (params.get("from") && params.get("to")) {
    try {
      result.replaceChildren(diffView(await api("GET", `/v1/policies/${encodeURIComponent(policyId)}/diff?from=${encodeURIComponent(params.get("from"))}&to=${encodeURIComponent(params.get("to"))}`)));
    } catch (err) {
      if (err.status !== 401) showErrors(form, err);
    }
  }
}

// ---- one version: its record, notes, evidence, and the approver's actions --------------------

function actionForm(id, heading, fields, buttons, submit) {
  const form = el("form", { class: "card", id },
    el("h3", { text: heading }),
    el("p", { class: "form-error", role: "alert" }),
    fields,
    el("div", { class: "buttons" }, buttons));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const action = e.submitter?.value;
    const data = Object.fromEntries(new FormData(form));
    try {
      await submit(action, data);
    } catch (err) {
      if (err.status !== 401) showErrors(form, err);
    }
  });
  return form;
}

function decideForm(record, reload) {
  const base = `/v1/policies/${encodeURIComponent(record.policy_id)}/versions/${record.version}`;
  return actionForm("decide-form", t("policy.decide"),
    [field(t("policy.note"), el("textarea", { rows: 3, maxlength: 2000 }), "note"),
      field(t("policy.override"), el("input", { type: "text", maxlength: 500 }), "override_reason")],
    [el("button", { type: "submit", name: "action", value: "approve", id: "approve", text: t("policy.approve") }),
      el("button", { type: "submit", name: "action", value: "reject", id: "reject", class: "secondary", text: t("policy.reject") })],
    async (action, data) => {
      const body = { note: data.note || "" };
      if (action === "approve" && data.override_reason) body.override_reason = data.override_reason;
      await api("POST", `${base}/${action}`, body);
      announce(t(`policy.done.${action}`));
      await reload();
    });
}

function activateForm(record, routing, reload) {
  return actionForm("activate-form", t("policy.activate_title"),
    [el("p", { class: "muted", text: t("policy.activate_help") }),
      field(t("routing.reason"), el("input", { type: "text", maxlength: 2000 }), "reason")],
    [el("button", { type: "submit", name: "action", value: "activate", id: "activate", text: t("policy.activate") })],
    async (_action, data) => {
      // Activation makes this version the champion; the rest of the routing stays as it is.
      const keep = routing ? { experiment: routing.experiment, arms: routing.arms, conditions: routing.conditions,
        shadows: routing.shadows.filter((v) => v !== record.version), compliance_ack: routing.compliance_ack } : {};
      const body = { ...keep, champion: record.version, reason: data.reason || "" };
      for (const k of Object.keys(body)) if (body[k] === null || body[k] === undefined) delete body[k];
      await api("PUT", `/v1/policies/${encodeURIComponent(record.policy_id)}/routing`, body);
      announce(t("policy.done.activate"));
      await reload();
    });
}

export async function versionPage(policyId, version) {
  document.title = `${t("policies.policy")} ${policyId} v${version} · LendGuard`;
  const title = el("h1", { text: `${t("policies.policy")} ${policyId} v${version}` });
  show(title, el("p", { text: t("loading") }));
  let shown, routing, me;
  try {
    [shown, routing, me] = await Promise.all([
      api("GET", `/v1/policies/${encodeURIComponent(policyId)}/versions/${encodeURIComponent(version)}`),
      api("GET", `/v1/policies/${encodeURIComponent(policyId)}/routing`),
      whoAmI(),
    ]);
  } catch (err) {
    if (err.status !== 401) show(title, failure(err));
    return;
  }
  const v = shown.version;
  const reload = () => versionPage(policyId, version);
  const approver = me.roles.includes("approver");
  const champion = routing.routing?.champion;
  const against = champion && champion !== v.version ? champion : v.version > 1 ? v.version - 1 : null;
  const compare = against ? `from=${against}&to=${v.version}` : "";
  show(
    title,
    el("p", {}, el("a", { href: policyHref(policyId), text: t("policies.back_policy") }),
      compare ? " · " : null, compare ? el("a", { href: policyHref(policyId, compare), id: "open-diff", text: `${t(against === champion ? "diff.open" : "diff.open_previous")} (v${against})` }) : null),
    el("section", { "aria-labelledby": "h-record" }, el("h2", { id: "h-record", text: t("policy.record") }),
      kv([[t("policy.status"), el("span", { id: "version-status", "data-status": v.status }, statusBadge(v.status))],
        [t("policy.author"), v.author], [t("policy.created"), when(v.created_at)],
        [t("policy.submitted"), when(v.submitted_at)], [t("policy.approver"), v.approver],
        [t("policy.decided"), when(v.decided_at)], [t("policy.description"), v.description || "—"],
        [t("routing.in_use"), inUse(routing.routing, v.version)],
        ["content_hash", v.content_hash.slice(0, 16)],
        [t("policy.tests"), v.tests ? `${v.tests.passed}/${v.tests.cases}` : "—"],
        [t("policy.evidence"), v.evidence ? `${v.evidence.data} · ${v.evidence.rows} · baseline v${v.evidence.baseline.version}` : "—"]])),
    v.approval ? el("section", { "aria-labelledby": "h-checks" }, el("h2", { id: "h-checks", text: t("policy.checks") }),
      table("band-checks", [t("policy.figure"), t("policy.change"), t("policy.limit"), t("policy.within")],
        v.approval.checks.map((c) => ({ c, cells: [c.figure, fmt(c.change), String(c.limit), c.within ? "✓" : "✗"] })),
        ({ c }) => ({ class: c.within ? "" : "hit" })),
      v.approval.override_reason ? el("p", { text: `${t("policy.override")}: ${v.approval.override_reason}` }) : null) : null,
    el("section", { "aria-labelledby": "h-notes" }, el("h2", { id: "h-notes", text: t("policy.notes") }),
      table("version-notes", [t("policy.at"), t("policy.by"), t("policy.action"), t("policy.note")],
        v.notes.map((n) => ({ cells: [when(n.at), n.by, n.action, n.text || ""] })))),
    approver && v.status === "PENDING_APPROVAL" ? decideForm(v, reload) : null,
    approver && v.status === "APPROVED" && champion !== v.version ? activateForm(v, routing.routing, reload) : null,
    !approver ? el("p", { class: "muted", id: "no-approver", text: t("policy.not_approver") }) : null,
  );
}
