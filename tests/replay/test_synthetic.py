"""The synthetic demand generator: reproducible, integer demand, promotions only where intended, the kinds
landing in their Syntetos–Boylan pattern, and a CSV the replay reads back exactly."""
from datetime import date

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from replenish.replay.dataset import load
from replenish.replay.scores import abc
from replenish.replay.synthetic import KINDS, generate, pattern_shares, read_truth
from replenish.replay.synthetic_cli import synth

SB_KINDS = ("smooth", "erratic", "intermittent", "lumpy")


@pytest.fixture(scope="module")
def sample():
    return generate(350, 365, seed=7)  # 50 series of each kind, one replay history long


def test_same_seed_gives_same_series_and_another_seed_does_not():
    a, b, c = generate(21, 90, seed=3), generate(21, 90, seed=3), generate(21, 90, seed=4)
    assert [s.truth.kind for s in a.series] == [s.truth.kind for s in b.series]
    assert all(np.array_equal(x.demand, y.demand) and np.array_equal(x.truth.mean, y.truth.mean)
               for x, y in zip(a.series, b.series, strict=True))
    assert any(not np.array_equal(x.demand, y.demand) for x, y in zip(a.series, c.series, strict=True))


def test_demand_is_non_negative_integers_and_truth_is_finite(sample):
    for s in sample.series:
        assert s.demand.dtype.kind == "i" and (s.demand >= 0).all()
        assert np.isfinite(s.truth.mean).all() and (s.truth.mean > 0).all()


def test_default_mix_spreads_kinds_evenly_and_a_mix_is_obeyed():
    assert sorted(s.truth.kind for s in generate(14, 30).series) == sorted(KINDS * 2)
    kinds = [s.truth.kind for s in generate(10, 30, mix={"smooth": 3, "lumpy": 2}).series]
    assert kinds.count("smooth") == 6 and kinds.count("lumpy") == 4
    with pytest.raises(ValueError, match="mix"):
        generate(10, 30, mix={"seasonal": 1})


def test_promo_flags_only_on_promotion_series_in_runs_on_about_a_tenth_of_days(sample):
    for s in sample.series:
        if s.truth.kind != "promotion":
            assert not s.promo.any()
            continue
        starts = np.flatnonzero(np.diff(np.r_[0, s.promo, 0]) == 1)
        ends = np.flatnonzero(np.diff(np.r_[0, s.promo, 0]) == -1)
        runs = (ends - starts)[ends < s.promo.size]  # a run cut by the last day may be shorter
        assert ((runs >= 3) & (runs <= 10)).all()
    share = np.mean([s.promo.mean() for s in sample.series if s.truth.kind == "promotion"])
    assert 0.07 <= share <= 0.13


def test_promotion_uplift_is_in_the_truth():
    s = next(s for s in generate(7, 365, seed=1, mix={"promotion": 1}).series)
    ratio = s.truth.mean[s.promo == 1].mean() / s.truth.mean[s.promo == 0].mean()
    assert 1.3 <= ratio <= 3.5  # uplift 1.5–3× seen through the weekly profile


def test_each_basic_kind_lands_mostly_in_its_own_pattern(sample):
    shares = pattern_shares(sample)
    for kind in SB_KINDS:
        assert shares[kind][kind] >= 0.9, (kind, shares[kind])
    for kind in ("promotion", "level_shift", "trend"):  # smooth counts with a dynamic on top
        assert shares[kind]["smooth"] >= 0.75, (kind, shares[kind])


def test_levels_span_two_orders_of_magnitude_and_every_abc_class_occurs(sample):
    levels = np.array([s.truth.mean.mean() for s in sample.series])
    assert levels.min() < 0.3 and levels.max() > 30
    classes = abc({s.key: float(s.demand.sum()) for s in sample.series})
    assert set(classes.values()) == {"A", "B", "C"}


def test_mean_of_many_draws_matches_the_truth():
    syn = generate(70, 2000, seed=2)
    for s in syn.series:
        assert abs(s.demand.sum() / s.truth.mean.sum() - 1) < 0.2, (s.truth.kind, s.truth.params)
    assert abs(sum(s.demand.sum() for s in syn.series) / sum(s.truth.mean.sum() for s in syn.series) - 1) < 0.02


def test_level_shift_and_trend_are_in_the_truth():
    syn = generate(14, 547, seed=5, mix={"level_shift": 1, "trend": 1})
    for s in syn.series:
        weekly = s.truth.mean[:7 * 78]  # whole weeks, so the weekly profile averages out
        first, last = weekly[:7].mean(), weekly[-7:].mean()
        if s.truth.kind == "level_shift":
            assert abs(last / first - s.truth.params["shift_factor"]) < 1e-9
        else:
            assert np.sign(last - first) == np.sign(s.truth.params["slope_per_day"])


def test_csv_reads_back_through_the_replay_loader(tmp_path, sample):
    syn = generate(14, 60, seed=9, start=date(2024, 3, 1), location="store-9")
    ds = load(syn.write_csv(tmp_path / "synthetic.csv"))
    assert ds.days == syn.days
    by_key = {s.key: s for s in syn.series}
    assert {s.key for s in ds.series} == set(by_key)
    for got in ds.series:
        want = by_key[got.key]
        assert np.array_equal(got.demand, want.demand) and np.array_equal(got.promo, want.promo)
        assert got.label == want.truth.kind and got.location == "store-9"
    assert [s.key for s in syn.to_dataset().series] == [s.key for s in ds.series]


def test_truth_round_trips_through_json(tmp_path):
    syn = generate(7, 30, seed=1)
    back = read_truth(syn.write_truth(tmp_path / "truth.json"))
    for key, truth in syn.truth.items():
        assert back[key].kind == truth.kind and np.allclose(back[key].mean, truth.mean, atol=1e-6)


def test_synth_command_writes_csv_and_truth(tmp_path):
    app = typer.Typer()
    app.command()(synth)
    app.command("other")(lambda: None)  # two commands, so `synth` is addressed by name as when registered
    out = tmp_path / "syn.csv"
    result = CliRunner().invoke(app, ["synth", str(out), "--series", "14", "--days", "30", "--end", "2024-06-30"])
    assert result.exit_code == 0, result.output
    assert load(out).days[-1] == date(2024, 6, 30) and len(load(out).series) == 14
    assert len(read_truth(tmp_path / "syn.truth.json")) == 14
    bad = CliRunner().invoke(app, ["synth", str(out), "--mix", "smooth"])
    assert bad.exit_code != 0
