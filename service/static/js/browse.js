// Browse: real validation drawings of one class ordered by q (GET /v1/examples), loadable into the canvas.

import { api } from "./api.js";
import { drawSketch, el, fmt, hideError, showError, svgEl } from "./render.js";

const GROUPS = [
  ["bottom", "Lowest q"],
  ["middle", "Around the median"],
  ["top", "Highest q"],
];

function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
  return `${n}${suffix}`;
}

export class BrowseView {
  constructor(pad, classes, onLoad) {
    this.pad = pad;
    this.onLoad = onLoad;
    this.select = document.getElementById("browse-category");
    this.note = document.getElementById("browse-note");
    this.groups = document.getElementById("browse-groups");
    this.error = document.getElementById("browse-error");
    this.cache = new Map();
    this.controller = null;
    this.select.replaceChildren(...classes.map((c) => el("option", { value: c, text: c.replaceAll("_", " ") })));
    this.select.addEventListener("change", () => this.show(this.select.value));
    this.nextExample = 0;
  }

  async examples(category, signal) {
    if (!this.cache.has(category)) this.cache.set(category, await api.examples(category, signal));
    return this.cache.get(category);
  }

  async show(category) {
    this.select.value = category;
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.groups.dataset.state = "pending";
    hideError(this.error);
    let doc;
    try {
      doc = await this.examples(category, controller.signal);
    } catch (err) {
      if (err.name === "AbortError") return;
      showError(this.error, err);
      this.groups.dataset.state = "error";
      return;
    } finally {
      if (this.controller === controller) this.controller = null;
    }
    const m = doc.model;
    this.note.textContent = `${doc.validation_count} validation drawings of “${category.replaceAll("_", " ")}” `
      + `ranked by q; q computed by ${m.name} v${m.version}`
      + (doc.current ? " (the loaded model)." : ", not the loaded model: load a drawing to score it live.");
    this.groups.replaceChildren(...GROUPS.map(([key, title]) => el("section", { class: "group", "data-group": key },
      el("h3", { text: title }),
      el("ul", { class: "thumbs" }, ...doc.groups[key].map((d) => this.thumb(d, doc.validation_count))))));
    this.groups.dataset.state = "ready";
    this.groups.dataset.category = category;
  }

  thumb(d, total) {
    const svg = svgEl("svg", { class: "sketch thumb", role: "img",
      "aria-label": `drawing ranked ${d.rank} of ${total}, q ${fmt(d.quality, 1)}` });
    drawSketch(svg, d.strokes);
    const seen = d.recognized === true ? "recognised" : d.recognized === false ? "not recognised" : "";
    return el("li", { "data-rank": d.rank, "data-quality": String(d.quality) },
      svg,
      el("p", { class: "thumb-q" }, el("strong", { text: `q ${fmt(d.quality, 1)}` }),
        ` · ${ordinal(Math.round(100 * d.quality_percentile))} pct`),
      el("p", { class: "thumb-meta muted", text: `#${d.rank}${d.class !== this.select.value ? ` · seen as ${d.class}` : ""}${seen ? ` · ${seen}` : ""}` }),
      el("button", { type: "button", class: "small", text: "Draw this",
        "aria-label": `Load the drawing ranked ${d.rank} (q ${fmt(d.quality, 1)}) into the canvas`,
        onclick: () => this.onLoad(d.strokes) }));
  }

  // The next example of a class for the Draw view (cycles through the middle and top groups).
  async example(category) {
    const doc = await this.examples(category);
    const pool = [...doc.groups.top.slice().reverse(), ...doc.groups.middle];
    const d = pool[this.nextExample % pool.length];
    this.nextExample += 1;
    return d;
  }
}
