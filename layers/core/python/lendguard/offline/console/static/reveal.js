// The audited reveal (电话核实): a reviewer who must phone the applicant asks the API for one clear
// field of this case, with a reason; the API records who, when and why before it answers. The
// value lives only in this page's DOM: never in storage, the URL or the console's state, and it
// is wiped when the reviewer navigates away or hides it.
import { t } from "./i18n.js";
import { announce, api, clearErrors, el, field, select, showErrors } from "./ui.js";

const FIELDS = ["phone", "name", "id_number", "bank_card", "device_id", "ip"];

// The one place a clear value is shown; leaving the case (another route, another page, a closed
// tab) wipes it.
let shown = null;
const wipeShown = () => shown?.replaceChildren();
window.addEventListener("hashchange", wipeShown);
window.addEventListener("pagehide", wipeShown);

export function revealSection(caseId) {
  const output = el("output", { id: "revealed", class: "revealed", "aria-live": "polite" });
  const wipe = () => output.replaceChildren();
  wipeShown();
  shown = output;
  const form = el("form", { class: "card", id: "reveal-form" },
    el("h3", { text: t("reveal.title") }),
    el("p", { class: "muted", text: t("reveal.help") }),
    el("p", { class: "form-error", role: "alert" }),
    field(t("reveal.field"), select(FIELDS.map((f) => [f, t(`reveal.${f}`)]), "phone"), "field"),
    field(t("reveal.reason"), el("textarea", { rows: 2, maxlength: 500 }), "reason"),
    el("div", { class: "buttons" },
      el("button", { type: "submit", id: "reveal", text: t("reveal.submit") }),
      el("button", { type: "button", class: "secondary", text: t("reveal.hide"), onclick: wipe })),
    output);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    wipe();
    const data = Object.fromEntries(new FormData(form));
    try {
      const shown = await api("POST", `/v1/cases/${encodeURIComponent(caseId)}/reveal`, { field: data.field, reason: data.reason });
      output.replaceChildren(
        el("strong", { text: `${t(`reveal.${shown.field}`)}: ` }),
        el("span", { id: "revealed-value", text: shown.value ?? t("reveal.empty") }),
        el("span", { class: "muted", id: "reveal-audit", text: ` · ${t("reveal.audited")} ${shown.audit_id}` }));
      announce(t("reveal.done"));
    } catch (err) {
      if (err.status !== 401) showErrors(form, err);
    }
  });
  return form;
}
