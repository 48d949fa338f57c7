"""Markdown tables from one or more results of scripts/eval_enhance.py (for docs/results/enhance.md).

    python scripts/report_enhance.py docs/results/enhance*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HEAD = ("| alpha | path (ES sigma) | n | mean q in | mean q out | mean gain | median gain | improved | mean distance "
        "| median distance | latency p50 / p95 |\n|---|---|---|---|---|---|---|---|---|---|---|")


def rows(res: dict) -> list[str]:
    out = []
    for key, name in (("service", "service (ES, ONNX)"), ("torch_reference", "torch reference (Eq. 20)")):
        s = res[key]
        if "sigma" in s:
            name = f"{name}, sigma {s['sigma']:g}"
        lat = (f"{1000 * s['latency_p50_s']:.0f} / {1000 * s['latency_p95_s']:.0f} ms"
               if "latency_p50_s" in s else "")
        out.append(f"| {res['alpha']:g} | {name} | {s['n']} | {s['mean_q_in']:.1f} | {s['mean_q_out']:.1f} "
                   f"| {s['mean_gain']:+.1f} | {s['median_gain']:+.1f} | {s['fraction_improved']:.3f} "
                   f"| {s['mean_distance']:.4f} | {s['median_distance']:.4f} | {lat} |")
    return out


def main(paths: list[str]) -> int:
    results = sorted((json.loads(Path(p).read_text()) for p in paths),
                     key=lambda r: (r["split"], r["alpha"], -r["service"].get("sigma", 0)))
    for split in sorted({r["split"] for r in results}):
        print(f"\n{split} split:\n\n{HEAD}")
        for res in (r for r in results if r["split"] == split):
            print("\n".join(rows(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
