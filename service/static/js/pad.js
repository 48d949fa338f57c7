// The drawing surface: pointer events (mouse, touch, pen) -> strokes in the Quick, Draw! format.
//
// Points are recorded in a FRAME x FRAME square (the simplified data's 0..255 frame) whatever the canvas's
// size on screen, as integers, with the time in ms since the drawing's first point: [[xs], [ys], [ts]].
// Every change bumps `revision` (mirrored in the canvas's data-revision) and fires a "change" event.

export const FRAME = 256;
const INK = "#1d1d1f";
const BLAME = "#c62828";

export class Pad extends EventTarget {
  constructor(canvas) {
    super();
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.strokes = []; // {xs, ys, ts|null}
    this.current = null;
    this.pointerId = null;
    this.t0 = null;
    this.revision = 0;
    this.blamed = []; // stroke indices drawn in the blame colour, numbered 1..n
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    canvas.addEventListener("lostpointercapture", (e) => this.up(e));
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  // The drawing as the API takes it (strokes loaded from data have no time row).
  drawing() {
    return this.strokes.map((s) => (s.ts ? [s.xs.slice(), s.ys.slice(), s.ts.slice()] : [s.xs.slice(), s.ys.slice()]));
  }

  get isDrawing() {
    return this.current !== null;
  }

  toFrame(e) {
    const r = this.canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(FRAME - 1, Math.max(0, Math.round(v)));
    return [clamp(((e.clientX - r.left) * FRAME) / r.width), clamp(((e.clientY - r.top) * FRAME) / r.height)];
  }

  add(e) {
    const [x, y] = this.toFrame(e);
    const s = this.current;
    const n = s.xs.length;
    if (n && s.xs[n - 1] === x && s.ys[n - 1] === y) return false;
    if (this.t0 === null) this.t0 = e.timeStamp;
    s.xs.push(x);
    s.ys.push(y);
    s.ts.push(Math.max(0, Math.round(e.timeStamp - this.t0)));
    return true;
  }

  down(e) {
    if (this.pointerId !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.pointerId = e.pointerId;
    this.current = { xs: [], ys: [], ts: [] };
    this.strokes.push(this.current);
    this.add(e);
    this.changed("start");
  }

  move(e) {
    if (e.pointerId !== this.pointerId || this.current === null) return;
    const events = (e.getCoalescedEvents && e.getCoalescedEvents().length) ? e.getCoalescedEvents() : [e];
    let added = false;
    for (const ev of events) added = this.add(ev) || added;
    if (added) this.changed("move");
  }

  up(e) {
    if (e.pointerId !== this.pointerId || this.current === null) return;
    if (e.type === "pointerup") this.add(e);
    this.current = null;
    this.pointerId = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    this.changed("end");
  }

  undo() {
    if (this.isDrawing || !this.strokes.length) return;
    this.strokes.pop();
    if (!this.strokes.length) this.t0 = null;
    this.changed("undo");
  }

  clear() {
    if (this.isDrawing) return;
    this.strokes = [];
    this.t0 = null;
    this.changed("clear");
  }

  // Replace the drawing (Quick, Draw! [[xs, ys(, ts)], ...] in the 0..255 frame).
  load(drawing) {
    if (this.isDrawing) return;
    this.strokes = drawing.map((s) => ({ xs: s[0].slice(), ys: s[1].slice(), ts: s[2] ? s[2].slice() : null }));
    this.t0 = null;
    this.changed("load");
  }

  setBlamed(indices) {
    this.blamed = indices.slice();
    this.canvas.dataset.blamed = this.blamed.join(",");
    this.render();
  }

  changed(kind) {
    this.revision += 1;
    this.blamed = [];
    this.canvas.dataset.revision = String(this.revision);
    this.canvas.dataset.strokes = String(this.strokes.length);
    this.canvas.dataset.drawing = kind === "start" || kind === "move" ? "true" : "false";
    this.canvas.dataset.blamed = "";
    this.render();
    this.dispatchEvent(new CustomEvent("change", { detail: { kind, revision: this.revision } }));
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    if (!r.width) return;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(r.width * dpr);
    this.canvas.height = Math.round(r.height * dpr);
    this.render();
  }

  render() {
    const { ctx, canvas } = this;
    const k = canvas.width / FRAME;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(k, 0, 0, k, 0, 0);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const blamed = new Set(this.blamed);
    this.strokes.forEach((s, i) => {
      const hit = blamed.has(i);
      ctx.strokeStyle = hit ? BLAME : INK;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.lineWidth = hit ? 4 : 2.5;
      if (hit) ctx.setLineDash([7, 4]);
      ctx.beginPath();
      ctx.moveTo(s.xs[0], s.ys[0]);
      if (s.xs.length === 1) ctx.arc(s.xs[0], s.ys[0], ctx.lineWidth / 2, 0, 2 * Math.PI);
      for (let j = 1; j < s.xs.length; j += 1) ctx.lineTo(s.xs[j], s.ys[j]);
      if (s.xs.length === 1) ctx.fill(); else ctx.stroke();
      ctx.setLineDash([]);
    });
    this.blamed.forEach((i, n) => {
      const s = this.strokes[i];
      if (!s) return;
      const x = Math.min(FRAME - 10, Math.max(10, s.xs[0]));
      const y = Math.min(FRAME - 10, Math.max(10, s.ys[0]));
      ctx.fillStyle = BLAME;
      ctx.beginPath();
      ctx.arc(x, y, 8, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = "#fff";
      ctx.font = "bold 10px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(String(n + 1), x, y + 0.5);
    });
  }
}
