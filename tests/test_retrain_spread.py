from __future__ import annotations

import pytest

from tests.paths import benchmark_module


def _module():
    return benchmark_module("retrain_spread")


def _model(
    ua: float = 40.0, ra: float = 99.0, ta: float = 60.0, mia: float = 50.0, ta_val: float = 60.0, mia_val: float = 50.0
):
    return {"UA": ua, "RA": ra, "TA": ta, "MIA": mia, "TA_val": ta_val, "MIA_val": mia_val}


def test_the_floor_is_the_references_gap_to_the_retrained_model_figure_by_figure():
    spread = _module()
    retrain = _model()
    # one reference equal to the retrained model, one 4 points higher on UA and 8 lower on TA_val
    floor = spread.floor(retrain, [_model(), _model(ua=44.0, ta_val=52.0)])
    assert floor["avg_gap"]["mean"] == pytest.approx(0.5)  # (0 + 4/4) / 2
    assert floor["avg_gap_val"]["mean"] == pytest.approx((0 + (4 + 8) / 4) / 2)
    assert floor["UA"]["mean"] == pytest.approx(42.0)
    assert floor["UA"]["std"] == pytest.approx(2 * 2**0.5)


def test_typicality_says_how_many_reference_stds_the_retrained_model_lies_away():
    spread = _module()
    refs = [_model(ta_val=62.0), _model(ta_val=64.0), _model(ta_val=66.0)]  # mean 64, std 2
    z = spread.typicality(_model(ta_val=58.0), refs)
    assert z["TA_val"]["z"] == pytest.approx(-3.0)
    assert z["UA"]["z"] == 0.0  # no spread: reported as 0, not a division by zero


def test_the_ensemble_target_and_its_leave_one_out_floor():
    spread = _module()
    models = [_model(ua=40.0), _model(ua=42.0), _model(ua=44.0)]
    assert spread.ensemble_target(models)["UA"] == pytest.approx(42.0)
    loo = spread.leave_one_out_floor(models)
    # 40 vs mean(42, 44) = 3, 42 vs 42 = 0, 44 vs 41 = 3; only UA differs, so each gap is a quarter of it
    assert loo["avg_gap"]["mean"] == pytest.approx((3 + 0 + 3) / 4 / 3)


def test_rows_are_rescored_against_the_target_and_ranked_both_ways():
    spread = _module()
    target = spread.ensemble_target([_model(ua=40.0)])
    rows = [
        {"method": "a", **_model(ua=40.0), "avg_gap": 3.0},  # on the mean, far from the one retrained model
        {"method": "b", **_model(ua=48.0), "avg_gap": 1.0},
        {"method": "b", **_model(ua=44.0), "avg_gap": 2.0},
    ]
    out = {r["method"]: r for r in spread.rescore(rows, target)}
    assert out["a"]["avg_gap_ensemble"] == 0.0 and out["a"]["rank_ensemble"] == 1 and out["a"]["rank_retrain"] == 2
    assert out["b"]["avg_gap_ensemble"] == pytest.approx((8 + 4) / 4 / 2)
    assert out["b"]["avg_gap"] == pytest.approx(1.5) and out["b"]["rank_retrain"] == 1 and out["b"]["seeds"] == 2


def test_a_retrained_model_unlike_references_without_spread_is_infinitely_far():
    spread = _module()
    z = spread.typicality(_model(ua=100.0), [_model(ua=99.0), _model(ua=99.0)])
    assert z["UA"]["z"] == float("inf")


def test_retraining_time_spread_and_each_methods_share_of_its_mean():
    spread = _module()
    models = [{**_model(), "seconds": s} for s in (100.0, 80.0, 120.0)]
    time = spread.retrain_time(models)
    assert time["retrained_model"] == 100.0 and time["mean"] == pytest.approx(100.0)
    assert (time["min"], time["max"]) == (80.0, 120.0) and time["std"] == pytest.approx(20.0)
    rows = [{"method": "a", **_model(), "avg_gap": 1.0, "seconds": s} for s in (9.0, 11.0)]
    (out,) = spread.rescore(rows, spread.ensemble_target(models), time["mean"])
    assert out["seconds"] == pytest.approx(10.0) and out["time_share"] == pytest.approx(0.1)
