// Small DOM and SVG helpers (no innerHTML anywhere: the page runs under Trusted Types).

const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

export function fmt(x, digits = 2) {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

export function showError(node, err) {
  node.textContent = err.describe ? err.describe() : String(err.message || err);
  node.hidden = false;
}

export function hideError(node) {
  node.textContent = "";
  node.hidden = true;
}

// Bounding box [minX, minY, maxX, maxY] of Quick, Draw! drawings.
export function bbox(...drawings) {
  let box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const d of drawings) {
    for (const s of d) {
      for (let i = 0; i < s[0].length; i += 1) {
        box = [Math.min(box[0], s[0][i]), Math.min(box[1], s[1][i]), Math.max(box[2], s[0][i]), Math.max(box[3], s[1][i])];
      }
    }
  }
  return Number.isFinite(box[0]) ? box : [0, 0, 255, 255];
}

// Draw a drawing into an <svg>, fitted to `box` (default: its own bounding box) with a margin.
export function drawSketch(svg, drawing, { box = null, className = "ink" } = {}) {
  const [x0, y0, x1, y1] = box || bbox(drawing);
  const side = Math.max(x1 - x0, y1 - y0, 1);
  const pad = side * 0.08;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  svg.setAttribute("viewBox", `${cx - side / 2 - pad} ${cy - side / 2 - pad} ${side + 2 * pad} ${side + 2 * pad}`);
  const width = (side + 2 * pad) / 110;
  svg.replaceChildren(...drawing.map((s) => {
    if (s[0].length === 1) return svgEl("circle", { cx: s[0][0], cy: s[1][0], r: width, class: className });
    const points = s[0].map((x, i) => `${x},${s[1][i]}`).join(" ");
    return svgEl("polyline", { points, class: className, "stroke-width": width * 1.6 });
  }));
}

// A small line plot of y over the index: the q trajectory, with an optional highlighted point.
export function drawPlot(svg, ys, { marker = null } = {}) {
  const w = 300;
  const h = 120;
  const left = 34;
  const bottom = 18;
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const span = hi - lo || 1;
  const x = (i) => left + ((w - left - 8) * i) / Math.max(1, ys.length - 1);
  const y = (v) => 8 + (h - bottom - 8) * (1 - (v - lo) / span);
  const nodes = [
    svgEl("line", { x1: left, y1: h - bottom, x2: w - 4, y2: h - bottom, class: "axis" }),
    svgEl("line", { x1: left, y1: 4, x2: left, y2: h - bottom, class: "axis" }),
    label(left - 4, y(hi) + 4, fmt(hi, 1), "end"),
    label(left - 4, y(lo) + 4, fmt(lo, 1), "end"),
    label(left, h - 4, "0", "start"),
    label(w - 4, h - 4, `step ${ys.length - 1}`, "end"),
    svgEl("polyline", { points: ys.map((v, i) => `${x(i)},${y(v)}`).join(" "), class: "trace" }),
    ...ys.map((v, i) => svgEl("circle", { cx: x(i), cy: y(v), r: i === marker ? 5 : 2.5,
      class: i === marker ? "dot current" : "dot" })),
  ];
  svg.replaceChildren(...nodes);
}

function label(x, y, text, anchor) {
  const t = svgEl("text", { x, y, "text-anchor": anchor, class: "tick" });
  t.textContent = text;
  return t;
}
