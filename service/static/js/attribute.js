// Attribute: POST /attribute, then show the verdict and draw the strokes it removed in the blame colour.
// How much each blamed stroke matters is measured with one POST /score of the drawing without that stroke.

import { api } from "./api.js";
import { el, fmt, hideError, showError } from "./render.js";

const EXPLAIN = {
  benign: "benign: the sketch itself reaches the threshold",
  rare_hard: "rare_hard: below the threshold, but a subset of its strokes reaches the maximum",
  malicious: "malicious: below the threshold, and no subset of its strokes recovers",
};

export class AttributeView {
  constructor(pad) {
    this.pad = pad;
    this.button = document.getElementById("attribute");
    this.result = document.getElementById("attribute-result");
    this.verdict = document.getElementById("verdict");
    this.why = document.getElementById("verdict-why");
    this.blamed = document.getElementById("blamed");
    this.path = document.getElementById("attribute-path");
    this.error = document.getElementById("attribute-error");
    this.revision = null;
    this.button.addEventListener("click", () => this.run());
    pad.addEventListener("change", () => {
      this.button.disabled = !pad.strokes.length || pad.isDrawing;
      if (this.revision !== null && this.revision !== pad.revision && this.result.dataset.state === "ready") {
        this.result.dataset.state = "stale";
        this.path.textContent = "The drawing has changed since: attribute it again.";
      }
    });
  }

  async run() {
    const revision = this.pad.revision;
    const strokes = this.pad.drawing();
    if (!strokes.length) return;
    this.button.disabled = true;
    this.result.dataset.state = "pending";
    this.result.setAttribute("aria-busy", "true");
    hideError(this.error);
    try {
      const a = await api.attribute({ strokes });
      const variants = a.removed_strokes.map((i) => strokes.filter((_, j) => j !== i));
      const scored = variants.length
        ? await api.score([{ strokes }, ...variants.map((v) => ({ strokes: v }))], 1)
        : null;
      this.show(a, scored, revision);
    } catch (err) {
      showError(this.error, err);
      this.result.dataset.state = "error";
    } finally {
      this.result.removeAttribute("aria-busy");
      this.button.disabled = !this.pad.strokes.length;
    }
  }

  show(a, scored, revision) {
    this.revision = revision;
    this.verdict.textContent = a.verdict;
    this.verdict.dataset.verdict = a.verdict;
    this.verdict.className = `verdict ${a.verdict}`;
    const t = a.thresholds;
    const rule = t.rule === "score"
      ? `score ${fmt(a.score, 2)} (threshold ${fmt(t.score_tau, 2)}, subset maximum ${fmt(t.score_max, 2)})`
      : `q ${fmt(a.quality, 2)} (threshold ${fmt(t.q_tau, 2)}, subset maximum ${fmt(t.q_max, 2)})`;
    this.why.textContent = `${EXPLAIN[a.verdict] || a.verdict}. Rule “${t.rule}” from the model card: ${rule}.`;
    const base = scored ? scored.results[0].quality : a.quality;
    this.blamed.replaceChildren(...a.removed_strokes.map((stroke, n) => {
      const q = scored.results[n + 1].quality;
      const delta = q - base;
      return el("li", { "data-stroke": stroke, "data-delta": String(delta), "data-quality": String(q) },
        el("span", { class: "badge", text: String(n + 1), "aria-hidden": "true" }),
        `Stroke ${stroke + 1}: removing it alone changes q by `,
        el("strong", { class: "delta", text: `${delta >= 0 ? "+" : ""}${fmt(delta)}` }),
        ` (${fmt(base)} → ${fmt(q)})`);
    }));
    if (!a.removed_strokes.length) {
      this.blamed.replaceChildren(el("li", { class: "none", text: "No stroke is blamed." }));
    }
    const steps = [a.quality, ...a.trajectory].map((q) => fmt(q)).join(" → ");
    this.path.textContent = `Greedy removals: q ${steps}. Best subset: q ${fmt(a.best_quality)} `
      + `(${a.best_class}), ${a.evaluations} sketches scored.`;
    if (revision === this.pad.revision) this.pad.setBlamed(a.removed_strokes);
    this.result.dataset.state = revision === this.pad.revision ? "ready" : "stale";
  }
}
