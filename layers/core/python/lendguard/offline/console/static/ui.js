// What every page of the console shares: the session, element builders, the API call and forms.
// Every value reaches the page through textContent or DOM properties, never as HTML, so data
// cannot inject markup or script.
import { lang, t } from "./i18n.js";

export const main = () => document.getElementById("main");

export const session = {
  get token() { return sessionStorage.getItem("lendguard.token"); },
  get user() { return sessionStorage.getItem("lendguard.user") || ""; },
  set(token, user) { sessionStorage.setItem("lendguard.token", token); sessionStorage.setItem("lendguard.user", user); },
  clear() { sessionStorage.removeItem("lendguard.token"); sessionStorage.removeItem("lendguard.user"); me = null; },
};

function build(node, props, children) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (!(node instanceof SVGElement) && key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An element with properties/attributes and children (strings become text nodes). */
export function el(tag, props = {}, ...children) {
  return build(document.createElement(tag), props, children);
}

/** An SVG element, built like {@link el} (attributes only: no style, the CSP forbids inline). */
export function svg(tag, props = {}, ...children) {
  return build(document.createElementNS("http://www.w3.org/2000/svg", tag), props, children);
}

export function show(...nodes) { main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false)); }
export function announce(text) { document.getElementById("status").textContent = text; }
export const fmt = (v) => (v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));
export const money = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString(lang(), { maximumFractionDigits: 2 }));
export const when = (v) => (v ? new Date(v).toLocaleString(lang()) : "—");

export class ApiError extends Error {
  constructor(status, body) { super(body?.error || `HTTP ${status}`); this.status = status; this.body = body; }
}

let unauthorized = () => {};
/** What a 401 does (the sign-in page, set by the app). */
export function onUnauthorized(handler) { unauthorized = handler; }

/** Call the API with the signed-in token; a 401 (missing or expired token) goes to sign-in. */
export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (res.status === 401) {
    session.clear();
    unauthorized(t("signin.expired"));
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

let me = null;
/** The signed-in person as the API sees them ({sub, name, roles}), asked once per sign-in. */
export async function whoAmI() {
  if (!me) me = await api("GET", "/v1/me");
  return me;
}

// ---- forms: labelled fields, the API's field errors shown next to the field they name -------

let fieldSeq = 0;
export function field(label, control, name) {
  const id = `f-${name}-${++fieldSeq}`;
  control.id = id;
  control.name = name;
  const error = el("span", { class: "error", id: `${id}-err`, "data-error-for": name });
  control.setAttribute("aria-describedby", error.id);
  return el("div", { class: "field", "data-field": name }, el("label", { for: id, text: label }), control, error);
}

export function clearErrors(form) {
  form.querySelectorAll(".error, .form-error").forEach((n) => { n.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

/** Put each {field, message} next to its field; the rest (and the error line) at the form's top. */
export function showErrors(form, err) {
  const top = form.querySelector(".form-error");
  const details = err.body?.details || [];
  const loose = [];
  for (const d of details) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(d.field)}"]`);
    if (slot) {
      slot.textContent = d.message;
      form.querySelector(`[name="${CSS.escape(d.field)}"]`)?.setAttribute("aria-invalid", "true");
    } else loose.push(`${d.field}: ${d.message}`);
  }
  top.textContent = [err.body?.error || err.message || t("err.generic"), ...loose].join(" · ");
  announce(top.textContent);
}

export function select(options, value) {
  return el("select", {}, options.map(([v, label]) => el("option", { value: v, text: label, selected: v === value })));
}

export function table(id, headers, rows, rowProps = () => ({})) {
  if (!rows.length) return el("p", { class: "muted", text: t("case.none") });
  return el("table", { id },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((r, i) => el("tr", rowProps(r, i), r.cells.map((c) => el("td", {}, c))))));
}

export function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v instanceof Node ? v : fmt(v))]));
}

/** A page's error line (a failed load), announced. */
export function failure(err) {
  const text = err.message || t("err.generic");
  announce(text);
  return el("p", { class: "form-error", role: "alert", text });
}
