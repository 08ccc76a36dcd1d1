"""The calibrated formula set: its fit reproduces, its signs follow the evidence, and every
result carries the evidence band and its reasons."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_004_SETUP

from engine_server.engine import ConfigError, TrainingConfig, calculate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import calibrate  # noqa: E402

#: The seed-004 user's setup (tests/data/seed_004_runs.tsv) at its best length.
SEED: dict[str, Any] = {**SEED_004_SETUP, "steps": 800, "rank": 64, "alpha": 64.0, "num_cycles": 3.0}


def recommended(**changes: Any) -> float:
    return calculate(TrainingConfig(**{**SEED, **changes})).recommended_lr


def test_calibrated_is_the_default() -> None:
    assert TrainingConfig(**SEED).formula == "calibrated"


def test_the_shipped_fit_is_what_the_script_computes_from_tests_data() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "calibrate.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("what", "higher", "lower", "least_ratio"),
    [
        ("alpha 1 above alpha = rank at rank 16", dict(rank=16, alpha=1.0), dict(rank=16, alpha=16.0), 1.3),
        ("seed 004: 800 steps above 2,750", {}, dict(steps=2750), 1.3),
        ("AdamW at least 2.5 × Lion", dict(optimizer="AdamW"), dict(optimizer="Lion"), 2.5),
        ("batch 4 above batch 1 (Adam)", dict(batch_size=4), {}, 1.2),
        ("more alpha at fixed rank: lower", dict(alpha=8.0), dict(alpha=64.0), 1.0),
    ],
)
def test_signs_the_evidence_shows(what: str, higher: dict[str, Any], lower: dict[str, Any], least_ratio: float) -> None:
    assert recommended(**higher) / recommended(**lower) >= least_ratio, what


def test_a_longer_run_wants_less_but_more_slowly_than_one_over_steps() -> None:
    ratio = recommended(steps=800) / recommended(steps=8000)
    assert 1.0 < ratio < 10.0


def test_runs_shorter_than_the_controlled_evidence_count_as_its_shortest() -> None:
    """Below the seed log's shortest judged run nothing measured says how the rate moves: a
    shorter run takes that run's horizon factor, and says so."""
    shortest = calibrate.shortest_judged_run()

    def horizon(steps: int) -> Any:
        return next(f for f in calculate(TrainingConfig(**{**SEED, "steps": steps})).factors if f.name == "horizon")

    assert shortest == 750
    assert horizon(10).multiplier == horizon(300).multiplier == horizon(shortest).multiplier > horizon(800).multiplier
    assert horizon(300).value == "300 steps, counted as 750" and horizon(shortest).value == "750 steps"
    assert "counts as that long" in horizon(300).explanation


def test_repeats_are_not_new_images() -> None:
    ten_images = recommended(images=10)
    one_image_ten_repeats = recommended(images=1, repeats=10)
    assert abs(math.log(ten_images / one_image_ten_repeats)) >= 0.05
    # Repeats alone change nothing once the steps are given: they are extra passes.
    assert recommended(images=20, repeats=10) == recommended(images=20)


def test_the_seed_user_setup_lands_within_1_5x_of_what_worked() -> None:
    assert 1.5e-4 / 1.5 <= recommended() <= 1.5e-4 * 1.5


def test_adaptive_optimizers_get_their_multiplier_with_the_settings_explained() -> None:
    result = calculate(TrainingConfig(**{**SEED, "optimizer": "Prodigy"}))
    assert result.recommended_lr == 1.0
    assert "d_coef" in result.factors[0].explanation and "safeguard_warmup" in result.factors[0].explanation
    assert result.evidence is not None and result.evidence.p50 == 1.0
    assert not any("outside the usual" in warning for warning in result.warnings)  # 1.0 is its multiplier


def test_schedule_free_optimizers_take_their_authors_rates() -> None:
    """Defazio et al.'s advice: schedule-free AdamW at 1–10× AdamW's rate, schedule-free SGD at
    10–50× scheduled SGD's; the low end of each, with the advice in the explanation."""
    constant = {**SEED, "scheduler": "constant"}
    del constant["num_cycles"]

    def optimizer_factor(optimizer: str) -> Any:
        result = calculate(TrainingConfig(**{**constant, "optimizer": optimizer}))
        return next(factor for factor in result.factors if factor.name == "optimizer")

    assert optimizer_factor("AdamWScheduleFree").multiplier == optimizer_factor("AdamW").multiplier
    assert "1–10×" in optimizer_factor("AdamWScheduleFree").explanation
    assert optimizer_factor("SGDScheduleFree").multiplier == 10 * optimizer_factor("SGD").multiplier
    assert "10–50×" in optimizer_factor("SGDScheduleFree").explanation
    assert "schedule-free" not in optimizer_factor("AdamW").explanation


@pytest.mark.parametrize(
    ("optimizer", "schedule", "warned"),
    [
        ("AdamWScheduleFree", {"scheduler": "cosine"}, True),
        ("ProdigyPlusScheduleFree", {"scheduler": "constant_with_warmup", "warmup_steps": 50}, True),
        ("AdamWScheduleFree", {"scheduler": "constant"}, False),
        ("AdamW", {"scheduler": "cosine"}, False),
        ("AdamWScheduleFree", {"scheduler": "COSINE", "trainer": "onetrainer"}, False),
    ],
)
def test_a_schedule_sd_scripts_would_not_apply_to_a_schedule_free_optimizer_is_named(
    optimizer: str, schedule: dict[str, Any], warned: bool
) -> None:
    config = {key: value for key, value in SEED.items() if key != "num_cycles"} | schedule | {"optimizer": optimizer}
    warnings = calculate(TrainingConfig(**config)).warnings
    assert any("ignore lr_scheduler" in warning for warning in warnings) == warned, warnings


def test_automagic_starts_where_ai_toolkit_does_not_at_a_multiplier() -> None:
    """ai-toolkit's automagic adapts its rate from lr, and replaces a start above 1e-3 with 1e-6."""
    result = calculate(TrainingConfig(**{**SEED, "optimizer": "automagic"}))
    assert result.recommended_lr == 1e-6
    (factor,) = result.factors
    assert factor.multiplier == 1e-6 and "max_lr" in factor.explanation and "lr_bump" in factor.explanation
    assert result.evidence is None  # no public preset uses it
    assert result.risk_band == "Safe" and not result.warnings
    assert calculate(TrainingConfig(**{**SEED, "optimizer": "automagic"}), learning_rate=1e-3).risk_band != "Safe"
    with pytest.raises(ConfigError, match="optimizer"):
        TrainingConfig(**{**SEED, "optimizer": "automagic", "formula": "energy"})


def test_every_result_carries_the_evidence_band_and_factors_that_multiply_to_the_rate() -> None:
    result = calculate(TrainingConfig(**SEED))
    assert result.evidence is not None and result.evidence.count > 0 and result.evidence.sources
    assert result.evidence.p10 <= result.evidence.p50 <= result.evidence.p90
    assert math.prod(f.multiplier for f in result.factors) == pytest.approx(result.recommended_lr, rel=1e-12)
    names = [f.name for f in result.factors]
    assert names[:3] == ["family", "alpha_ratio", "batch"] and "horizon" in names
    alpha = next(
        f for f in calculate(TrainingConfig(**{**SEED, "rank": 16, "alpha": 1.0})).factors if f.name == "alpha_ratio"
    )
    assert alpha.value == "alpha 1 of rank 16" and alpha.multiplier > 1.5


@pytest.mark.parametrize(("network", "shown"), [("lokr", "LoKr"), ("loha", "LoHa")])
def test_alpha_does_not_scale_a_full_matrix_lycoris_network(network: str, shown: str) -> None:
    full = {**SEED, "network": network, "rank": 100_000, "alpha": 1.0}
    alpha = next(f for f in calculate(TrainingConfig(**full)).factors if f.name == "alpha_ratio")
    assert alpha.multiplier == 1.0
    assert alpha.value == f"full-matrix {shown} (rank 100,000)" and "alpha does not scale" in alpha.explanation
    assert recommended(**{**full, "alpha": 64.0}) == recommended(**full)
    # Below the full-matrix rank alpha scales as for any LoRA.
    assert recommended(**{**full, "rank": 64}) > recommended(**{**full, "rank": 64, "alpha": 64.0})


def test_a_rate_presets_use_is_never_risky() -> None:
    """FLUX.1 rank 16/16, 2,000 steps: most FLUX presets train at 1e-4."""
    flux = dict(SEED, model="FLUX.1", resolution=1024, steps=2000, rank=16, alpha=16.0, scheduler="constant")
    del flux["num_cycles"]
    result = calculate(TrainingConfig(**flux), learning_rate=1e-4)
    assert result.risk_band != "Risky"
    assert result.evidence is not None
    assert calculate(TrainingConfig(**flux), learning_rate=result.evidence.p90).risk_band != "Risky"
    assert calculate(TrainingConfig(**flux), learning_rate=result.evidence.p10).risk_band != "Risky"
    # Where the recommendation sits below these presets with no factor pulling it there, the warning
    # says why, and that the presets' rates are not Risky.
    below = [warning for warning in result.warnings if "below what" in warning]
    assert len(below) == (result.recommended_lr < result.evidence.p10)
    assert all("FLUX.1's fitted rate itself" in w and "is not scored Risky" in w for w in below)


def test_a_recommendation_outside_the_band_says_why() -> None:
    long_run = calculate(TrainingConfig(**{**SEED, "steps": 200_000}))
    assert long_run.evidence is not None and long_run.recommended_lr < long_run.evidence.p10
    assert any("below what" in warning and "horizon" in warning for warning in long_run.warnings)


def test_fine_tunes_resolve_to_their_base_family() -> None:
    for name in ("Illustrious", "NoobAI", "Pony"):
        result = calculate(TrainingConfig(**{**SEED, "model": name, "resolution": 1024}))
        assert result.factors[0].explanation.count("SDXL") >= 1
        assert result.recommended_lr == pytest.approx(
            calculate(TrainingConfig(**{**SEED, "model": "SDXL", "resolution": 1024})).recommended_lr
        )


@pytest.mark.parametrize(
    ("variant", "model"),
    [
        ("HiDream-E1", "hidream"),
        ("HiDream-I1-Dev", "hidream"),
        ("Qwen-Image-Edit-Plus", "qwen_image"),
        ("Qwen-Image-Edit-2511", "qwen_image"),  # a release tag on a known name
        ("LTX-2.3", "ltx2"),
        ("FramePack-F1", "framepack"),
        ("LongCat-Image-Edit", "longcat_image"),
    ],
)
def test_released_variants_of_a_family_resolve_to_it(variant: str, model: str) -> None:
    """Names trainers give variants (ai-toolkit's hidream_e1, ltx2.3, qwen_image_edit_plus) are the
    family's, as the trainer-config importers read them."""
    assert TrainingConfig(**{**SEED, "model": variant}).model == model


def test_schnell_is_its_own_entry_and_near_misses_suggest_the_right_name() -> None:
    schnell = calculate(TrainingConfig(**{**SEED, "model": "FLUX.1 schnell", "resolution": 1024}))
    assert "schnell" in schnell.factors[0].explanation
    assert TrainingConfig(**{**SEED, "model": "SD 3.5", "resolution": 1024}).model == "sd35"
    with pytest.raises(ConfigError) as error:
        TrainingConfig(**{**SEED, "model": "SD3.6"})
    assert "did you mean 'SD3.5'?" in error.value.violations[0].description


def test_new_families_are_calibrated_only() -> None:
    with pytest.raises(ConfigError) as error:
        TrainingConfig(**{**SEED, "model": "Wan", "formula": "energy"})
    assert "formula 'calibrated'" in str(error.value)
    with pytest.raises(ConfigError) as error:
        TrainingConfig(**{**SEED, "optimizer": "Prodigy", "formula": "energy"})
    assert "sets its own step size" in str(error.value)


def test_the_fit_beats_the_baselines_where_its_figures_say() -> None:
    """The figures in docs/calibration_figures.md: 5-fold ahead of always-1e-4 and of energy on
    the share within 2x."""
    rows = calibrate.all_rows()
    folds = calibrate.k_fold(rows)
    scope = [i for i, row in enumerate(rows) if row.in_scope]
    ours = calibrate.score([(rows[i].lr, folds[i]) for i in scope])
    constant = calibrate.score([(rows[i].lr, calibrate.BASELINE_RATE) for i in scope])
    assert ours.within_2x > constant.within_2x
    answered = calibrate.energy_rates(rows)
    energy = calibrate.score([(rows[i].lr, rate) for i, rate in answered.items()])
    ours_same_rows = calibrate.score([(rows[i].lr, folds[i]) for i in answered])
    assert ours_same_rows.within_2x > energy.within_2x and ours_same_rows.mean_abs_log2 < energy.mean_abs_log2


def test_the_closest_fit_holds_the_checks_it_is_given_and_fits_looser_without_them() -> None:
    """The closest fits of the figures: with the checks as bounds, every check's ratio holds on
    the seed setup; dropping the checks can only bring the fit closer to the presets it is fitted on."""
    rows = calibrate.all_rows()
    scored = [row for row in rows if row.in_scope]
    every_check = tuple(str(direction.exponent) for direction in calibrate.DIRECTION_CHECKS)
    held = calibrate.closest_fit(scored, every_check)
    for direction in calibrate.DIRECTION_CHECKS:
        higher, lower = calibrate._setup_row(direction.higher), calibrate._setup_row(direction.lower)
        assert math.exp(held.log_rate(higher) - held.log_rate(lower)) >= direction.least_ratio * (1 - 1e-9)
    free = calibrate.closest_fit(scored, ())

    def loss(model: calibrate.ClosestFit) -> float:
        return sum(abs(math.log(row.lr) - model.log_rate(row)) for row in scored)

    assert loss(free) <= loss(held)


def test_the_presenter_shows_every_factor_the_band_and_the_evidence() -> None:
    from engine_server import presenting
    from engine_server._convert import calculation_to_proto

    message = calculation_to_proto(calculate(TrainingConfig(**{**SEED, "rank": 16, "alpha": 1.0})))
    text = presenting.reasons_text(message)
    for factor in message.factors:
        assert factor.name in text and factor.explanation in text
    alpha = presenting.factor_rows(message)[1]
    assert alpha.value == "alpha 1 of rank 16" and alpha.multiplier.startswith("×2")  # ×1.3 at least: the check
    assert any(alpha.multiplier in line and alpha.value in line for line in text.splitlines())
    assert "80 % band" in text and "public SD1.5" in text and "sources:" in text
    legacy = calculation_to_proto(
        calculate(TrainingConfig(**{**SEED, "formula": "lrtool-1.0", "scheduler": "Constant"}))
    )
    assert presenting.factor_rows(legacy) == [] and presenting.evidence_summary(legacy) == ""
    # A factor that is a rate itself reads as one: the family's, and an adaptive optimizer's.
    assert presenting.factor_rows(message)[0].multiplier == presenting.rate(message.factors[0].multiplier)
    automagic = calculation_to_proto(calculate(TrainingConfig(**{**SEED, "optimizer": "automagic"})))
    assert [row.multiplier for row in presenting.factor_rows(automagic)] == [presenting.rate(1e-6)]


def test_the_factors_come_in_the_documented_order() -> None:
    from engine_server.engine._calibrated import FACTOR_ORDER

    assert tuple(f.name for f in calculate(TrainingConfig(**SEED)).factors) == FACTOR_ORDER


def test_texts_described_on_first_read_are_the_same_whenever_read() -> None:
    """Factors and warnings are written when first read: reading them late, early, through
    dataclasses or a pickle gives the same texts, and a later calculation of the same
    configuration reuses them."""
    import dataclasses
    import pickle

    from engine_server.engine._calibrated import FACTOR_ORDER

    # Far below what the presets use, and alpha far above the rank: both kinds of warning.
    fields = {**SEED, "steps": 200_000, "images": 500, "rank": 8, "alpha": 64.0}
    late = calculate(TrainingConfig(**fields), offset=0.2)
    config = TrainingConfig(**fields)
    first = calculate(config)
    assert len(first.factors) == len(FACTOR_ORDER)
    assert [text.split(":")[0] for text in first.warnings] == ["alpha", "recommended_lr"]
    again = calculate(config, offset=0.2)
    assert again.factors is first.factors and again.warnings is first.warnings
    assert dataclasses.asdict(late) == dataclasses.asdict(again)
    unread = calculate(TrainingConfig(**fields), offset=0.2)
    assert pickle.loads(pickle.dumps(unread)) == again == unread
    with pytest.raises(AttributeError):
        _ = unread.no_such_statistic  # type: ignore[attr-defined]


def test_the_figures_quoted_in_the_method_are_the_script_s() -> None:
    """calibration.md quotes figures as "85 % / 0.56" and rates as 8.2e-5: each is in the figures
    the script writes, so a refit that changes them shows here."""
    method = " ".join((ROOT / "docs" / "calibration.md").read_text().split())
    figures = (ROOT / "docs" / "calibration_figures.md").read_text()
    quoted = re.findall(r"(\d+) % / (\d\.\d\d)", method)
    assert len(quoted) >= 8
    for share, error in quoted:
        assert f"{share}% · {error}" in figures or f"| {share}% | {error} |" in figures, f"{share} % / {error}"
    for rate in ("8.2e-5", "1.13e-4"):
        assert rate in method and rate in figures


def test_conventions_by_training_code_join_the_repositories_built_on_sd_scripts() -> None:
    code_of = {row.source: calibrate.training_code(row) for row in calibrate.corpus_rows()}
    joined = {source for source, code in code_of.items() if code == calibrate.SD_SCRIPTS_CODE}
    assert joined == {
        "kohya-ss/sd-scripts",
        "bmaltais/kohya_ss",
        "Akegarasu/lora-scripts",
        "Linaqruf/kohya-trainer",
        "derrian-distro/LoRA_Easy_Training_Scripts",
        "hollowstrawberry/kohya-colab",
        "cocktailpeanut/fluxgym",
        "kohya-ss/musubi-tuner",
    }
    assert all(code == source for source, code in code_of.items() if source not in joined)
    row = next(row for row in calibrate.corpus_rows() if row.source == "bmaltais/kohya_ss")
    assert calibrate.convention_columns(row, "repository") == ["source:bmaltais/kohya_ss"]
    assert calibrate.convention_columns(row, "training code") == ["source:sd-scripts"]
    assert calibrate.convention_columns(row, "nested") == ["source:sd-scripts", "within:bmaltais/kohya_ss"]
