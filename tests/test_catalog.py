"""The catalog: every constant once, names matched the way trainers write them."""

from __future__ import annotations

import pytest

from engine_server.engine import _catalog as catalog
from engine_server.engine._catalog import (
    ARCHITECTURES,
    FORMULA_SETS,
    MODELS,
    OBJECTIVES,
    OPTIMIZERS,
    SCHEDULE_PARAMETERS,
    TRAINERS,
    NamedTable,
    Optimizer,
)


def test_sizes() -> None:
    assert (len(MODELS), len(ARCHITECTURES), len(OPTIMIZERS), len(OBJECTIVES), len(TRAINERS), len(FORMULA_SETS)) == (
        50,
        6,
        39,
        4,
        3,
        3,
    )
    # LRTool 1.0's own models and optimizers keep its constants.
    assert sum(m.base_energy is not None for m in MODELS) == 9
    assert sum(o.modifier is not None for o in OPTIMIZERS) == 26


def test_reference_energy_is_the_mean_of_the_nine_built_in_models() -> None:
    energies = [m.base_energy for m in MODELS if m.base_energy is not None]
    assert pytest.approx(sum(energies) / 9, rel=1e-15) == catalog.REFERENCE_ENERGY


@pytest.mark.parametrize(
    ("table", "spelling", "expected"),
    [
        (OPTIMIZERS, "AdamW (8-Bit)", "adamw_8bit"),
        (OPTIMIZERS, "AdamW8bit", "adamw_8bit"),
        (OPTIMIZERS, "adamw8bit", "adamw_8bit"),
        (OPTIMIZERS, "ADAMW_8BIT", "adamw_8bit"),
        (OPTIMIZERS, "PagedAdamW8bit", "adamw_8bit"),
        (OPTIMIZERS, "Lion8bit", "lion_8bit"),
        (OPTIMIZERS, "LION_8BIT", "lion_8bit"),
        (OPTIMIZERS, "Prodigy", "prodigy"),
        (OPTIMIZERS, "SCHEDULE_FREE_ADAMW", "adamw_schedulefree"),  # OneTrainer's order of the words
        (OPTIMIZERS, "ProdigyPlusScheduleFree", "prodigy_schedulefree"),
        (OPTIMIZERS, "torch.optim.RAdam", "radam"),
        (OPTIMIZERS, "automagic", "automagic"),
        (MODELS, "Flux Dev", "flux1"),
        (MODELS, "flux-schnell", "flux1_schnell"),
        (MODELS, "SD3 Medium", "sd35"),
        (MODELS, "FLUX.2 [klein]", "flux2_klein"),
        (MODELS, "Pony (SDXL)", "pony"),
        (MODELS, "sdxl", "sdxl"),
        (MODELS, "flux", "flux1"),
        (MODELS, "FLUX.1", "flux1"),
        (MODELS, "sd 1.5", "sd15"),
        (MODELS, "FLUX_DEV_1", "flux1"),
        (MODELS, "z image", "z_image"),
        (MODELS, "FLUX.1 Kontext [dev]", "flux1"),  # as the trainer-config importers read it
        (MODELS, "flux kontext", "flux1"),
        (MODELS, "Flux Krea", "flux1"),
        (MODELS, "PDXL", "pony"),
        # A variant's name resolves to its base: task, size, precision, file, version, release tag.
        (MODELS, "Wan2.2 T2V", "wan"),
        (MODELS, "wan2.2-t2v-a14b", "wan"),
        (MODELS, "HunyuanVideo 1.5 720p", "hunyuan_video"),
        (MODELS, "Qwen-Image-Edit-2509", "qwen_image"),
        (MODELS, "sd_xl_base_1.0.safetensors", "sdxl"),
        (MODELS, "v1-5-pruned-emaonly", "sd15"),
        (MODELS, "flux1-dev-Q4_K_M.gguf", "flux1"),
        (MODELS, "Illustrious-XL-v2.0", "illustrious"),
        (MODELS, "ltxv 13b 0.9.7", "ltx_video"),
        (MODELS, "Krea 2 v1", "krea2"),
        (MODELS, "FLUX.2 dev fp8", "flux2_dev"),
        # … but never to a name that is no longer the same model, nor to nothing.
        (MODELS, "SD 4.0", None),  # "SD" names no model
        (MODELS, "Krea", None),  # FLUX.1 Krea or Krea 2: the user says which
        (MODELS, "v1", "sd15"),
        (OBJECTIVES, "CHARACTER", "character"),
        (FORMULA_SETS, "LRTool 1.0", "lrtool-1.0"),
        (TRAINERS, "OneTrainer", "onetrainer"),
        (TRAINERS, "kohya", "huggingface"),
    ],
)
def test_names_match_case_and_punctuation_insensitively(table: NamedTable, spelling: str, expected: str | None) -> None:
    entry = table.get(spelling)
    assert (entry.id if entry else None) == expected


@pytest.mark.parametrize(
    ("trainer", "spelling", "expected"),
    [
        ("huggingface", "cosine_with_restarts", "cosine_with_restarts"),
        ("huggingface", "COSINE_WITH_RESTARTS", "cosine_with_restarts"),
        ("huggingface", "Cosine (Restarts)", "cosine_with_restarts"),
        ("huggingface", "wsd", "warmup_stable_decay"),
        ("onetrainer", "COSINE_WITH_HARD_RESTARTS", "cosine_with_hard_restarts"),
        ("ai-toolkit", "Linear", "linear"),
    ],
)
def test_schedule_aliases(trainer: str, spelling: str, expected: str) -> None:
    schedule = TRAINERS[trainer].schedules.get(spelling)
    assert schedule is not None and schedule.id == expected


def test_lrtool_1_0_display_names_resolve() -> None:
    names = ["Constant", "Linear", "Cosine", "Cosine (Restarts)", "Cosine (Hard Restarts)", "Rex", "Adafactor"]
    assert [catalog.LRTOOL_1_0_SCHEDULES[name].display_name for name in names] == names


def test_an_alias_naming_two_entries_is_refused() -> None:
    with pytest.raises(ValueError, match="names both"):
        NamedTable("optimizer", (Optimizer("a", "Same", 1.0), Optimizer("b", "same!", 1.0)))


def test_every_schedule_parameter_is_a_known_field_with_help() -> None:
    for trainer in TRAINERS:
        for schedule in trainer.schedules:
            for use in schedule.parameters:
                assert use.name in SCHEDULE_PARAMETERS
                assert use.name in catalog.FIELD_HELP
                assert use.describe_default()


def test_every_configuration_field_has_help() -> None:
    from engine_server.engine import TrainingConfig

    assert set(TrainingConfig.model_fields) <= set(catalog.FIELD_HELP)


def test_models_carry_their_architecture_constants() -> None:
    assert MODELS["SDXL Lightning"].arch.fragility == 1.55
    assert MODELS["Z-Image"].arch.resolution_exponent == 0.85
    assert MODELS["SD2.1"].native_resolution == 768


@pytest.mark.parametrize(
    ("table", "typed", "suggested"),
    [
        (OPTIMIZERS, "adamw8", "AdamW (8-Bit)"),  # the beginning of a name, not the nearest short one
        (OPTIMIZERS, "lion8", "Lion (8-Bit)"),
        (OPTIMIZERS, "prodigyy", "Prodigy"),
        (MODELS, "qwen", "Qwen-Image"),
        (MODELS, "SD 3.6", "SD3.5"),  # never SD1.5
        (MODELS, "sdxl lightnin", "SDXL Lightning"),
    ],
)
def test_a_near_miss_suggests_the_right_name(table: NamedTable, typed: str, suggested: str) -> None:
    assert table.suggestion(typed) == suggested


def test_lamb_is_called_lamb_and_lrtool_1_0_spelling_still_reads() -> None:
    assert OPTIMIZERS.get("Lam").display_name == "LAMB"  # type: ignore[union-attr]
    assert OPTIMIZERS.by_id("lamb").lrtool_1_0_name == "Lam"
