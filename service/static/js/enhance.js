// Enhance: POST /enhance, then show the enhanced sketch beside the input, the q trajectory as a plot, and
// replay the search. A request is deterministic (seeded) and the best sketch after step k of an n-step
// search is the answer to the same request with steps = k, so the replay fetches the steps where q moved.

import { api } from "./api.js";
import { bbox, drawPlot, drawSketch, fmt, hideError, showError } from "./render.js";

const FRAME_MS = 700;

export class EnhanceView {
  constructor(pad, claim) {
    this.pad = pad;
    this.claim = claim;
    this.button = document.getElementById("enhance");
    this.cancel = document.getElementById("enhance-cancel");
    this.status = document.getElementById("enhance-status");
    this.result = document.getElementById("enhance-result");
    this.input = document.getElementById("enh-input");
    this.output = document.getElementById("enh-output");
    this.originalQ = document.getElementById("original-quality");
    this.enhancedQ = document.getElementById("enhanced-quality");
    this.stepLabel = document.getElementById("enhanced-step");
    this.plot = document.getElementById("enh-plot");
    this.facts = document.getElementById("enhance-facts");
    this.replayButton = document.getElementById("replay");
    this.error = document.getElementById("enhance-error");
    this.seed = document.getElementById("seed");
    this.alpha = document.getElementById("alpha");
    this.steps = document.getElementById("steps");
    this.controller = null;
    this.answer = null; // {body, response}
    this.frames = new Map(); // step -> {strokes, quality}: the best sketch after that step
    this.timer = null;
    this.button.addEventListener("click", () => this.run());
    this.cancel.addEventListener("click", () => this.controller && this.controller.abort());
    this.replayButton.addEventListener("click", () => this.replay());
    pad.addEventListener("change", () => {
      this.button.disabled = !pad.strokes.length || pad.isDrawing || this.controller !== null;
    });
  }

  body(strokes) {
    const body = { sketch: { strokes }, seed: Number.parseInt(this.seed.value || "0", 10) };
    if (this.alpha.value !== "") body.alpha = Number(this.alpha.value);
    if (this.steps.value !== "") body.steps = Number.parseInt(this.steps.value, 10);
    if (this.claim.value) body.class = this.claim.value;
    return body;
  }

  busy(on, text = "") {
    this.button.disabled = on || !this.pad.strokes.length;
    this.replayButton.disabled = on || !this.answer;
    this.cancel.hidden = !on;
    this.status.textContent = text;
    this.status.classList.toggle("working", on);
    if (on) this.result.setAttribute("aria-busy", "true"); else this.result.removeAttribute("aria-busy");
  }

  async run() {
    const strokes = this.pad.drawing();
    if (!strokes.length) return;
    const body = this.body(strokes);
    this.stopAnimation();
    hideError(this.error);
    this.controller = new AbortController();
    this.result.dataset.state = "pending";
    this.busy(true, "Enhancing: each step decodes a population of latents with the Sketch-RNN model and scores "
      + "them; this takes a moment…");
    try {
      const response = await api.enhance(body, this.controller.signal);
      this.answer = { body, response };
      this.frames = new Map([[response.steps, { strokes: response.enhanced.strokes, quality: response.enhanced_quality }]]);
      this.show(strokes, response);
      this.busy(false, "");
    } catch (err) {
      if (err.name === "AbortError") {
        this.busy(false, "Cancelled.");
        this.result.dataset.state = this.answer ? "ready" : "empty";
      } else {
        this.busy(false, "");
        showError(this.error, err);
        this.result.dataset.state = "error";
      }
    } finally {
      this.controller = null;
      this.button.disabled = !this.pad.strokes.length;
    }
  }

  show(strokes, r) {
    this.box = bbox(strokes, r.enhanced.strokes);
    drawSketch(this.input, strokes, { box: this.box });
    this.originalQ.textContent = fmt(r.original_quality);
    this.originalQ.dataset.value = String(r.original_quality);
    this.showFrame(r.steps, r.enhanced.strokes, r.enhanced_quality);
    this.facts.textContent = `Drawn as “${r.class}”; ${r.steps} steps × ${r.population} latents, seed ${r.seed}, `
      + `alpha ${r.alpha}, sigma ${r.sigma}; ${r.evaluations} sketches scored; Chamfer distance to yours `
      + `${fmt(r.distance, 3)}.`;
    this.result.dataset.state = "ready";
  }

  showFrame(step, drawing, quality) {
    const r = this.answer.response;
    drawSketch(this.output, drawing, { box: this.box, className: "ink enhanced" });
    this.enhancedQ.textContent = fmt(quality);
    this.enhancedQ.dataset.value = String(quality);
    this.stepLabel.textContent = step === r.steps ? "" : `(after step ${step} of ${r.steps})`;
    drawPlot(this.plot, r.trajectory.map((p) => p.quality), { marker: step });
  }

  // Step 0 (the decode of the input's latent), each step where the best q changed, and the last step.
  replaySteps(trajectory) {
    const steps = trajectory.filter((p, i) => i === 0 || p.quality !== trajectory[i - 1].quality).map((p) => p.step);
    const last = trajectory[trajectory.length - 1].step;
    return steps[steps.length - 1] === last ? steps : [...steps, last];
  }

  async replay() {
    if (!this.answer) return;
    const { body, response } = this.answer;
    const steps = this.replaySteps(response.trajectory);
    this.stopAnimation();
    hideError(this.error);
    this.controller = new AbortController();
    this.result.dataset.replay = "loading";
    try {
      for (const [n, step] of steps.entries()) {
        if (this.frames.has(step)) continue;
        this.busy(true, `Fetching the best sketch after step ${step} (${n + 1} of ${steps.length})…`);
        const frame = await api.enhance({ ...body, class: response.class, steps: step,
          population: response.population, alpha: response.alpha }, this.controller.signal);
        this.frames.set(step, { strokes: frame.enhanced.strokes, quality: frame.enhanced_quality });
      }
    } catch (err) {
      this.busy(false, err.name === "AbortError" ? "Cancelled." : "");
      if (err.name !== "AbortError") showError(this.error, err);
      this.result.dataset.replay = "error";
      this.controller = null;
      return;
    }
    this.controller = null;
    this.busy(false, "Replaying the search: the best sketch so far after each step where q rose.");
    const frames = steps.map((step) => ({ step, ...this.frames.get(step) }));
    this.result.dataset.frames = JSON.stringify(frames.map(({ step, quality }) => ({ step, quality })));
    this.result.dataset.replay = "playing";
    const play = (i) => {
      const { step, strokes, quality } = frames[i];
      this.showFrame(step, strokes, quality);
      if (i + 1 < frames.length) {
        this.timer = setTimeout(() => play(i + 1), FRAME_MS);
      } else {
        this.timer = null;
        this.result.dataset.replay = "done";
        this.status.textContent = "";
      }
    };
    play(0);
  }

  stopAnimation() {
    clearTimeout(this.timer);
    this.timer = null;
    delete this.result.dataset.replay;
  }
}
