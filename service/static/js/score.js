// Live score: while drawing (debounced), POST /score the strokes and show q, its percentile, the class,
// top-k and the label check. Answers to older revisions of the drawing are dropped.

import { api } from "./api.js";
import { el, fmt, hideError, showError } from "./render.js";

const DEBOUNCE_MS = 250; // quiet time after a change before scoring
const MAX_WAIT_MS = 700; // while the pen keeps moving, score at least this often
const TOP_K = 5;

export class ScoreView {
  constructor(pad, claim, model) {
    this.pad = pad;
    this.claim = claim;
    this.model = model;
    this.card = document.getElementById("score-card");
    this.quality = document.getElementById("quality");
    this.busy = document.getElementById("score-busy");
    this.percentile = document.getElementById("percentile");
    this.meter = document.getElementById("pct-meter");
    this.fill = document.getElementById("pct-fill");
    this.predicted = document.getElementById("predicted");
    this.confidence = document.getElementById("confidence");
    this.topk = document.getElementById("topk");
    this.labelCheck = document.getElementById("label-check");
    this.error = document.getElementById("score-error");
    this.timer = null;
    this.firstPending = null;
    this.latest = null; // the last result shown: {result, revision, drawing}
    pad.addEventListener("change", () => this.schedule());
    claim.addEventListener("change", () => this.schedule(0));
  }

  schedule(delay = DEBOUNCE_MS) {
    clearTimeout(this.timer);
    if (!this.pad.strokes.length) {
      this.firstPending = null;
      this.reset();
      return;
    }
    const now = performance.now();
    if (this.firstPending === null) this.firstPending = now;
    const wait = Math.max(0, Math.min(delay, this.firstPending + MAX_WAIT_MS - now));
    this.card.dataset.state = "pending";
    this.timer = setTimeout(() => this.run(), wait);
  }

  async run() {
    this.firstPending = null;
    const revision = this.pad.revision;
    const drawing = this.pad.drawing();
    if (!drawing.length) {
      this.reset();
      return;
    }
    const sketch = { strokes: drawing };
    if (this.claim.value) sketch.label = this.claim.value;
    this.busy.hidden = false;
    try {
      const answer = await api.score([sketch], TOP_K);
      if (revision !== this.pad.revision) return; // a newer drawing is on its way
      hideError(this.error);
      this.show(answer.results[0], revision, drawing);
    } catch (err) {
      if (revision !== this.pad.revision) return;
      showError(this.error, err);
      this.card.dataset.state = "error";
      this.card.dataset.revision = String(revision);
    } finally {
      if (revision === this.pad.revision) this.busy.hidden = true;
    }
  }

  reset() {
    this.latest = null;
    this.quality.textContent = "–";
    delete this.quality.dataset.value;
    this.percentile.textContent = "–";
    this.fill.style.width = "0%";
    this.meter.setAttribute("aria-valuenow", "0");
    this.predicted.textContent = "–";
    this.confidence.textContent = "";
    this.topk.replaceChildren();
    this.labelCheck.hidden = true;
    this.busy.hidden = true;
    hideError(this.error);
    this.card.dataset.state = "empty";
    this.card.dataset.revision = String(this.pad.revision);
  }

  show(r, revision, drawing) {
    this.latest = { result: r, revision, drawing };
    this.quality.textContent = fmt(r.quality);
    this.quality.dataset.value = String(r.quality);
    const pct = 100 * r.quality_percentile;
    this.percentile.textContent = `${fmt(pct, 1)} %`;
    this.percentile.dataset.value = String(r.quality_percentile);
    this.fill.style.width = `${Math.max(0, Math.min(100, pct))}%`;
    this.meter.setAttribute("aria-valuenow", fmt(pct, 1));
    this.meter.setAttribute("aria-valuetext", `${fmt(pct, 1)} percent`);
    this.predicted.textContent = r.class;
    this.confidence.textContent = `probability ${fmt(r.confidence, 3)}`;
    this.topk.replaceChildren(...r.top_k.map((t) => {
      const bar = el("span", { class: "topk-fill" });
      bar.style.width = `${Math.max(1, 100 * t.probability)}%`;
      return el("li", { "data-class": t.class },
        el("span", { class: "topk-name", text: t.class }),
        el("span", { class: "topk-bar", "aria-hidden": "true" }, bar),
        el("span", { class: "topk-p", text: fmt(t.probability, 3) }));
    }));
    this.showLabelCheck(r.label_check);
    this.card.dataset.state = "ready";
    this.card.dataset.revision = String(revision);
  }

  showLabelCheck(check) {
    if (!check) {
      this.labelCheck.hidden = true;
      return;
    }
    // The rule and its thresholds are the model card's (GET /v1/model), never constants of the page.
    const t = (this.model.thresholds || {}).label_check || {};
    const q = this.latest ? this.latest.result.quality : NaN;
    const angle = `angle ${fmt(check.theta, 2)} rad to the centre of “${check.label}”`;
    const limit = `${fmt(t.theta_suspect, 2)} rad`;
    let head;
    let text;
    if (check.suspect) {
      head = "Suspect label.";
      text = `Well drawn (q ≥ ${fmt(t.q_min, 1)}) yet far from the claimed class: ${angle} > ${limit}.`;
    } else if (check.theta > t.theta_suspect) {
      head = "Not flagged.";
      text = `Far from the claimed class (${angle} > ${limit}), but q ${fmt(q)} is below ${fmt(t.q_min, 1)}: `
        + "too poorly drawn to call the label suspect.";
    } else {
      head = "Label consistent.";
      text = `Close to the claimed class: ${angle} ≤ ${limit}.`;
    }
    this.labelCheck.replaceChildren(el("strong", { text: `${head} ` }), text,
      el("span", { class: "muted", text: " (Rule and thresholds from the model card.)" }));
    this.labelCheck.dataset.suspect = String(check.suspect);
    this.labelCheck.classList.toggle("suspect", check.suspect);
    this.labelCheck.hidden = false;
  }
}
