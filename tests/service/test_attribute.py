"""POST /attribute against a real server with the shipped model and real sketches."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from svc_support import ServerProc, is_problem, metric, metrics_text

from sketchprep.attribution import max_evaluations


def scribble(rng: np.random.Generator, start: np.ndarray) -> list[list[float]]:
    walk = start + np.cumsum(rng.normal(0, 18, (30, 2)), axis=0)  # (30, 2) a wild random walk
    return [walk[:, 0].round(1).tolist(), walk[:, 1].round(1).tolist()]


@pytest.fixture(scope="module")
def injected(sketches: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Real sketches (4+ strokes) with a scribble inserted at position 1: (sketch, scribble index)."""
    rng = np.random.default_rng(7)
    out = []
    for s in sketches[::20]:
        if len(s["strokes"]) < 4:
            continue
        strokes = list(s["strokes"])
        strokes.insert(1, scribble(rng, np.array([strokes[0][0][0], strokes[0][1][0]], dtype=float)))
        out.append(({"strokes": strokes}, 1))
    assert len(out) >= 3
    return out


def post(server: ServerProc, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/attribute", json=body, timeout=60)


def test_an_injected_scribble_is_the_stroke_removed(server: ServerProc, injected) -> None:
    first_removed = []
    for sketch, idx in injected:
        r = post(server, {"sketch": sketch, "q_tau": 1e6, "q_max": 1e6, "max_removals": 3})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["quality"] < body["best_quality"] or body["removed_strokes"] == []
        n = len(sketch["strokes"])
        assert body["evaluations"] <= max_evaluations(n, 3)
        assert len(body["cleaned"]["strokes"]) == n - len(body["removed_strokes"])
        kept = [s for i, s in enumerate(sketch["strokes"]) if i not in body["removed_strokes"]]
        assert [s[0] for s in body["cleaned"]["strokes"]] == [s[0] for s in kept]
        assert body["verdict"] == "malicious"  # q_max = 1e6 cannot be reached
        assert body["trajectory"] == sorted(body["trajectory"])  # each accepted removal raised q
        first_removed.append(body["removed_strokes"] and idx in body["removed_strokes"])
    # chance would pick the scribble first in about 1 of n (n >= 5) sketches
    assert sum(first_removed) >= 0.75 * len(first_removed), first_removed


def test_benign_sketch_needs_no_search(server: ServerProc, sketches) -> None:
    body = post(server, {"sketch": sketches[0], "q_tau": 0.001}).json()
    assert body["verdict"] == "benign" and body["evaluations"] == 1 and body["removed_strokes"] == []
    assert body["best_quality"] == body["quality"]
    assert body["thresholds"]["q_tau"] == 0.001


def test_rare_hard_when_a_subset_reaches_q_max(server: ServerProc, injected) -> None:
    sketch, _ = injected[0]
    plain = post(server, {"sketch": sketch, "q_tau": 1e6, "q_max": 1e6}).json()
    assert plain["best_quality"] > plain["quality"]
    target = (plain["quality"] + plain["best_quality"]) / 2
    body = post(server, {"sketch": sketch, "q_tau": 1e6, "q_max": target}).json()
    assert body["verdict"] == "rare_hard" and body["best_quality"] >= target
    assert body["thresholds"]["q_max"] == target


def test_defaults_come_from_the_model_card(server: ServerProc, sketches, card) -> None:
    block = card["thresholds"]["attribution"]
    score = block["score"]
    for sketch in sketches[:6]:
        body = post(server, {"sketch": sketch}).json()
        t = body["thresholds"]
        assert t["rule"] == block["rule"] == "score"
        assert t["score_tau"] == pytest.approx(score["tau"]) and t["score_max"] == pytest.approx(score["max"])
        assert t["q_tau"] == pytest.approx(block["per_class"][body["class"]]["q_tau"])
        assert t["max_removals"] == block["max_removals"] and t["min_gain"] == block["min_gain"]
        # the verdict follows the score rule, whatever q says
        assert (body["verdict"] == "benign") == (body["score"] >= score["tau"])
        if body["verdict"] != "benign":
            assert (body["verdict"] == "rare_hard") == (body["best_score"] >= score["max"])


def test_score_is_the_cards_logistic_value(server: ServerProc, sketches, card) -> None:
    score = card["thresholds"]["attribution"]["score"]
    body = post(server, {"sketch": sketches[1]}).json()
    one = httpx.post(f"{server.url}/score", json={"sketches": [sketches[1]], "top_k": 22}, timeout=60).json()
    assert body["quality"] == pytest.approx(one["results"][0]["quality"], rel=1e-5)
    assert body["score"] is not None and np.isfinite(body["score"])
    assert len(score["weights"]) == len(score["features"]) == 6


def test_q_overrides_switch_to_the_papers_q_rule(server: ServerProc, injected) -> None:
    sketch, _ = injected[0]
    body = post(server, {"sketch": sketch, "q_tau": 1e6}).json()
    assert body["thresholds"]["rule"] == "q" and body["score"] is None
    assert body["thresholds"]["q_tau"] == 1e6 and body["verdict"] != "benign"


def test_work_is_bounded_and_counted(server: ServerProc, injected) -> None:
    sketch, _ = injected[1]
    before = metric(metrics_text(server.url), "sketchq_attribution_evaluations_total")
    none = post(server, {"sketch": sketch, "q_tau": 1e6, "max_removals": 0}).json()
    assert none["evaluations"] == 1 and none["removed_strokes"] == []
    one = post(server, {"sketch": sketch, "q_tau": 1e6, "q_max": 1e6, "max_removals": 1}).json()
    assert one["evaluations"] <= 1 + len(sketch["strokes"]) and len(one["removed_strokes"]) <= 1
    after = metric(metrics_text(server.url), "sketchq_attribution_evaluations_total")
    assert after - before == none["evaluations"] + one["evaluations"]


@pytest.mark.parametrize("body,status", [
    ({"sketch": {"strokes": [[[0, 1], [0, 1]]]}, "max_removals": 11}, 422),  # above attribute_max_removals
    ({"sketch": {"strokes": [[[i, i + 1], [0, 1]] for i in range(41)]}}, 422),  # above attribute_max_strokes
    ({"sketch": {"strokes": [[[0, 1], [0, 1]]]}, "q_tau": -1}, 422),
    ({"sketch": {"strokes": [[[0, 1], [0, 1]]]}, "q_max": 0}, 422),
    ({"sketch": {"strokes": [[[0, 1], [0]]]}}, 422),
    ({"sketch": {"strokes": []}}, 422),
    ({"q_tau": 3}, 422),
    ({"sketch": {"strokes": [[[0, 1], [0, 1]]], "stroke3": [[1, 1, 1]]}}, 422),
])
def test_bad_requests_get_problem_answers(server: ServerProc, body, status) -> None:
    is_problem(post(server, body), status)


def test_one_point_sketch_is_answered(server: ServerProc) -> None:
    body = post(server, {"sketch": {"strokes": [[[5], [5]]]}, "q_tau": 1e6}).json()
    assert np.isfinite(body["quality"]) and body["removed_strokes"] == [] and body["evaluations"] == 1
    expected = "rare_hard" if body["quality"] >= body["thresholds"]["q_max"] else "malicious"
    assert body["verdict"] == expected


def test_repeated_request_is_served_from_the_cache(model_path, injected) -> None:
    srv = ServerProc(model_dir=model_path, cache="memory")
    try:
        sketch, _ = injected[2]
        a = httpx.post(f"{srv.url}/attribute", json={"sketch": sketch, "q_tau": 1e6}, timeout=60).json()
        b = httpx.post(f"{srv.url}/attribute", json={"sketch": sketch, "q_tau": 1e6}, timeout=60).json()
        assert a["cached"] is False and b["cached"] is True
        assert {k: v for k, v in a.items() if k != "cached"} == {k: v for k, v in b.items() if k != "cached"}
    finally:
        srv.stop()
