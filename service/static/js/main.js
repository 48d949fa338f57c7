// sketchq's web page: wires the drawing surface to the score, attribute, enhance and browse views.

import { api } from "./api.js";
import { AttributeView } from "./attribute.js";
import { BrowseView } from "./browse.js";
import { EnhanceView } from "./enhance.js";
import { Pad } from "./pad.js";
import { el, showError } from "./render.js";
import { ScoreView } from "./score.js";

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus = false) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    tab.dispatchEvent(new CustomEvent("selected", { bubbles: true }));
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      select(tabs[(to + tabs.length) % tabs.length], true);
    });
  });
  return select;
}

async function main() {
  const pad = new Pad(document.getElementById("pad"));
  const claim = document.getElementById("claim");
  const undo = document.getElementById("undo");
  const clear = document.getElementById("clear");
  const status = document.getElementById("draw-status");
  const modelLine = document.getElementById("model-line");
  setupTabs();

  let model;
  try {
    model = await api.model();
  } catch (err) {
    showError(modelLine, err);
    modelLine.classList.add("error");
    return;
  }
  modelLine.textContent = `Model ${model.name} v${model.version}: ${model.classes.length} classes, `
    + `${model.providers.join(", ")}.`;
  claim.append(...model.classes.map((c) => el("option", { value: c, text: c.replaceAll("_", " ") })));

  const score = new ScoreView(pad, claim, model);
  new AttributeView(pad);
  new EnhanceView(pad, claim);
  const browse = new BrowseView(pad, model.classes, (drawing) => {
    pad.load(drawing);
    status.textContent = "Loaded a validation drawing; draw on it or undo its strokes.";
    document.getElementById("pad").scrollIntoView({ block: "nearest" });
  });

  pad.addEventListener("change", (e) => {
    undo.disabled = !pad.strokes.length || pad.isDrawing;
    clear.disabled = !pad.strokes.length || pad.isDrawing;
    if (e.detail.kind === "end" || e.detail.kind === "undo" || e.detail.kind === "clear") {
      const n = pad.strokes.length;
      status.textContent = n ? `${n} stroke${n === 1 ? "" : "s"}.` : "Empty: draw something.";
    }
  });
  undo.addEventListener("click", () => pad.undo());
  clear.addEventListener("click", () => pad.clear());
  document.addEventListener("keydown", (e) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z" && !typing) {
      e.preventDefault();
      pad.undo();
    }
  });
  document.getElementById("example").addEventListener("click", async () => {
    const category = claim.value || browse.select.value || model.classes[0];
    try {
      const d = await browse.example(category);
      pad.load(d.strokes);
      status.textContent = `Loaded a validation drawing of “${category.replaceAll("_", " ")}” (rank ${d.rank}).`;
    } catch (err) {
      showError(status, err);
    }
  });

  let browsed = false;
  document.getElementById("tab-browse").addEventListener("selected", () => {
    if (browsed) return;
    browsed = true;
    const predicted = score.latest && score.latest.result.class;
    browse.show(claim.value || predicted || model.classes[0]);
  });
  document.body.dataset.ready = "true";
}

main();
