"""report.html of `sketchq clean`: one self-contained file (inline SVG and CSS, no script, nothing fetched).

Sections: the counts per verdict and the thresholds (from the model card); the q-theta scatter with the rule's
thresholds drawn (clean labels form the paper's "L": high q, small angle; flipped ones the high-q, large-angle
arm of a "U", Fig. 7 and 11); per-category q histograms; the most suspect drawings (largest angle to the claimed
class among the suspects) and the lowest-q ones, rendered.
"""

from __future__ import annotations

import html
import math
from typing import Any

from offline.summary import Q_BIN, Q_BINS, Summary
from sketchprep.card import LabelCheck

COLOURS = {"kept": "#4477aa", "suspect": "#ee6677", "rejected": "#999999"}
HIST_SHOWN = 60  # categories with the most drawings get a histogram
CSS = """body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}table{border-collapse:collapse}
td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:right}th{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:10px}.cell{width:170px;font-size:11px}.cell svg{border:1px solid #ccc}
.hist{width:200px;font-size:11px}code{background:#f3f3f3;padding:0 .2em}"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def scatter(points: list[list[Any]], check: LabelCheck, w: int = 640, h: int = 380) -> str:
    q_top = max([p[0] for p in points] + [check.q_min * 2, 1.0]) * 1.05
    left, bottom = 50, 40

    def x(q: float) -> float:
        return left + (w - left - 10) * max(0.0, q) / q_top

    def y(t: float) -> float:
        return h - bottom - (h - bottom - 10) * t / math.pi

    out = [f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="q against theta">',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="#333"/>',
           f'<line x1="{left}" y1="10" x2="{left}" y2="{h - bottom}" stroke="#333"/>']
    for p in points:
        out.append(f'<circle cx="{x(p[0]):.1f}" cy="{y(p[1]):.1f}" r="1.6" fill="{COLOURS[p[2]]}" '
                   'fill-opacity=".5"/>')
    # the suspect region: q >= q_min and theta > theta_suspect (and the label is not the prediction)
    out.append(f'<path d="M{x(check.q_min):.1f},{y(math.pi):.1f} V{y(check.theta_suspect):.1f} H{w - 10}" '
               'fill="none" stroke="#cc3311" stroke-width="2" stroke-dasharray="6 3"/>')
    out.append(f'<text x="{x(check.q_min) + 4:.1f}" y="22" fill="#cc3311">suspect: q &#8805; {check.q_min:.1f}, '
               f'&#952; &gt; {check.theta_suspect:.2f}</text>')
    if check.q_reject is not None:
        out.append(f'<line x1="{x(check.q_reject):.1f}" y1="10" x2="{x(check.q_reject):.1f}" y2="{h - bottom}" '
                   'stroke="#555" stroke-dasharray="2 3"/>')
        out.append(f'<text x="{x(check.q_reject) + 3:.1f}" y="{h - bottom - 6}" fill="#555">rejected: q &lt; '
                   f'{check.q_reject:.1f}</text>')
    for t in range(0, int(q_top) + 1, 20):
        out.append(f'<text x="{x(t):.0f}" y="{h - bottom + 16}" text-anchor="middle" font-size="11">{t}</text>')
    for t in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
        out.append(f'<text x="{left - 6}" y="{y(t) + 4:.0f}" text-anchor="end" font-size="11">{t:.1f}</text>')
    out.append(f'<text x="{w / 2}" y="{h - 6}" text-anchor="middle">quality q</text>')
    out.append(f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" text-anchor="middle">'
               '&#952; to the claimed class (rad)</text></svg>')
    return "".join(out)


def histogram(name: str, bins: list[int], check: LabelCheck, w: int = 200, h: int = 70) -> str:
    top = max(bins) or 1
    bw = w / Q_BINS
    bars = "".join(f'<rect x="{i * bw:.1f}" y="{h - h * c / top:.1f}" width="{bw:.1f}" height="{h * c / top:.1f}" '
                   'fill="#4477aa"/>' for i, c in enumerate(bins) if c)
    marks = ""
    for q, colour in ((check.q_reject, "#555"), (check.q_min, "#cc3311")):
        if q is not None:
            marks += f'<line x1="{q / Q_BIN * bw:.1f}" y1="0" x2="{q / Q_BIN * bw:.1f}" y2="{h}" stroke="{colour}"/>'
    return (f'<div class="hist"><svg width="{w}" height="{h}" role="img" aria-label="q histogram of {_e(name)}">'
            f'{bars}{marks}</svg><br>{_e(name)} ({sum(bins)})</div>')


def drawing(strokes: list[list[list[float]]], size: int = 160) -> str:
    xs = [v for s in strokes for v in s[0]]
    ys = [v for s in strokes for v in s[1]]
    lo_x, lo_y = min(xs), min(ys)
    extent = max(max(xs) - lo_x, max(ys) - lo_y) or 1.0
    scale = (size - 12) / extent
    lines = []
    for s in strokes:
        pts = " ".join(f"{(a - lo_x) * scale + 6:.1f},{(b - lo_y) * scale + 6:.1f}" for a, b in zip(*s, strict=True))
        lines.append(f'<polyline points="{pts}" fill="none" stroke="#111" stroke-width="1.6"/>')
    return f'<svg width="{size}" height="{size}" role="img" aria-label="drawing">{"".join(lines)}</svg>'


def gallery(items: list[list[Any]], lowest: bool) -> str:
    order = sorted(items, reverse=True)
    cells = []
    for it in order:
        first, second, key, cat, pred, conf, strokes = it
        q, theta = (-first, second) if lowest else (second, first)
        angle = "" if theta < 0 else f", &#952; {theta:.2f}"
        cells.append(f'<div class="cell">{drawing(strokes)}<br>claimed <b>{_e(cat or "-")}</b>, predicted '
                     f'<b>{_e(pred)}</b> ({conf:.2f})<br>q {q:.1f}{angle}<br><code>{_e(key)}</code></div>')
    return f'<div class="grid">{"".join(cells)}</div>' if cells else "<p>none</p>"


def render(summary: Summary, check: LabelCheck, model: str, inputs: list[str]) -> str:
    counts = summary.counts
    total = sum(counts.values()) or 1
    rows = "".join(f"<tr><th>{v}</th><td>{n}</td><td>{100 * n / total:.2f} %</td></tr>" for v, n in counts.items())
    hists = sorted(summary.hist.items(), key=lambda kv: -sum(kv[1]))[:HIST_SHOWN]
    reject = "none (not calibrated)" if check.q_reject is None else f"{check.q_reject:.2f}"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sketchq clean report</title>
<style>{CSS}</style></head><body><h1>Label cleansing report</h1>
<p>Model <code>{_e(model)}</code>; inputs {", ".join(f"<code>{_e(i)}</code>" for i in inputs)}.</p>
<table><tr><th>verdict</th><td>drawings</td><td>share</td></tr>{rows}</table>
<p>Rule (<code>sketchprep/label_rule.py</code>, thresholds from the model card): <b>suspect</b> when
q &#8805; {check.q_min:.2f}, the angle &#952; to the claimed class &gt; {check.theta_suspect:.3f} rad and the model
does not predict the claimed class; <b>rejected</b> when q &lt; {reject}. Calibration: {_e(check.procedure)}</p>
<h2>q against &#952; ({len(summary.scatter)} of {summary.seen} drawings with a claimed class)</h2>
<p>Clean labels form an "L" (well drawn sketches lie close to their class centre); mislabelled ones stretch it into
a "U": the high-q, large-&#952; corner inside the dashed line (paper Sec. 6, Fig. 7 and 11).
Blue kept, red suspect, grey rejected.</p>{scatter(summary.scatter, check)}
<h2>q per category</h2><p>The {len(hists)} categories with the most drawings; red line q_min, grey q_reject.</p>
<div class="grid">{"".join(histogram(c, b, check) for c, b in hists)}</div>
<h2>Most suspect drawings (largest angle to the claimed class)</h2>{gallery(summary.suspects, False)}
<h2>Lowest quality drawings</h2>{gallery(summary.lowest, True)}
</body></html>
"""
