"""LRTool 1.0 profile files: the original's files load and reproduce, ours round-trip, bad files are explained."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from conftest import DATA, TYPICAL, golden_fields, load_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_server.engine import Calculation, ConfigError, FieldViolation, TrainingConfig, calculate
from engine_server.engine._catalog import LRTOOL_1_0_SCHEDULES, MODELS, OBJECTIVES, OPTIMIZERS, TRAINERS, Schedule
from engine_server.profile_files import (
    MAX_PROFILE_FILE_BYTES,
    ProfileFile,
    ProfileFileError,
    read_profile_file,
    write_profile_file,
)

SAMPLE_NAME = "lrtool_1_0_profile_sdxl_character.json"
SAMPLE_BYTES = (DATA / SAMPLE_NAME).read_bytes()
SAMPLE: dict[str, Any] = json.loads(SAMPLE_BYTES)
GOLDEN = load_json("golden_lrtool_1_0.json")["cases"]
MISSING = object()


def profile(section: str = "configuration", **changes: Any) -> bytes:
    """The sample file with keys of one section changed (MISSING removes a key)."""
    document = copy.deepcopy(SAMPLE)
    for key, value in changes.items():
        if value is MISSING:
            del document[section][key]
        else:
            document[section][key] = value
    return json.dumps(document).encode()


def without(key: str) -> bytes:
    document = copy.deepcopy(SAMPLE)
    del document[key]
    return json.dumps(document).encode()


def problems_of(content: bytes) -> tuple[tuple[str, str], ...]:
    with pytest.raises(ProfileFileError) as caught:
        read_profile_file(content)
    assert caught.value.violations, "a ProfileFileError always names its problems"
    assert "Traceback" not in str(caught.value)
    return tuple((violation.field, violation.description) for violation in caught.value.violations)


def assert_close(got: Any, want: Any, name: str) -> None:
    if isinstance(want, str) or (isinstance(want, int) and not isinstance(want, bool) and isinstance(got, int)):
        assert got == want, name
    elif want == 0:
        assert got == 0, name
    else:
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=0.0), f"{name}: {got!r} != {want!r}"


def canonical(config: TrainingConfig) -> dict[str, Any]:
    """A configuration's meaning: names as ids, no warmup as warmup 0."""
    fields = config.model_dump(exclude_none=True)
    fields["scheduler"] = config.resolved.schedule.id
    if "warmup_fraction" not in fields and "warmup_steps" not in fields:
        fields["warmup_fraction"] = 0.0
    return fields


def round_trip(config: TrainingConfig, offset: float) -> tuple[dict[str, Any], ProfileFile]:
    content = write_profile_file(config, offset, calculate(config, offset=offset))
    return json.loads(content), read_profile_file(content)


# --- The original's sample file ---------------------------------------------------------------


def test_the_sample_file_reads_as_lrtool_1_0_fields() -> None:
    read = read_profile_file(SAMPLE_BYTES)
    assert read.config == {
        "steps": 2000,
        "batch_size": 1,
        "grad_accum": 2,
        "images": 40,
        "rank": 32,
        "alpha": 16.0,
        "resolution": 1024,
        "model": "SDXL",
        "objective": "Character",
        "optimizer": "AdamW",
        "scheduler": "Cosine",
        "warmup_fraction": 0.1,
        "formula": "lrtool-1.0",
    }
    assert isinstance(read.config["alpha"], float)
    assert read.offset == 0.0 and isinstance(read.offset, float)
    assert read.statistics == SAMPLE["statistics"]
    assert read.app_version == "1.0.0"


def test_the_sample_file_reproduces_every_statistic() -> None:
    read = read_profile_file(SAMPLE_BYTES)
    result = calculate(TrainingConfig(**read.config), offset=read.offset)
    saved = read.statistics
    for name, want in saved.items():
        if name == "base_lr":
            got: Any = result.recommended_lr
        elif name == "warmup_fraction":
            got = read.config["warmup_fraction"]
        else:
            got = getattr(result, name)
        assert_close(got, want, name)
    assert (result.risk_band, result.efficiency_band) == (saved["risk_band"], saved["efficiency_band"])
    round_2 = {"population_lr", "personal_factor", "personal_runs", "recommended_low", "recommended_high"}
    round_2 |= {"evidence", "factors"}
    assert set(saved) == {field.name for field in Calculation.__dataclass_fields__.values()} - {
        "offset",
        "warnings",
    } - round_2 | {"base_lr", "warmup_fraction"}


def test_writing_the_sample_back_gives_the_original_configuration_and_statistics() -> None:
    read = read_profile_file(SAMPLE_BYTES)
    config = TrainingConfig(**read.config)
    written = json.loads(write_profile_file(config, read.offset, calculate(config, offset=read.offset)))
    assert written["meta"] == SAMPLE["meta"]
    assert written["configuration"] == SAMPLE["configuration"]
    assert list(written["configuration"]) == list(SAMPLE["configuration"])
    assert "lrtool" not in written
    statistics = written["statistics"]
    assert statistics.pop("offset") == 0.0
    assert list(statistics) == list(SAMPLE["statistics"])
    for name, want in SAMPLE["statistics"].items():
        assert_close(statistics[name], want, name)


def test_the_file_is_written_as_the_original_wrote_it() -> None:
    read = read_profile_file(SAMPLE_BYTES)
    config = TrainingConfig(**read.config)
    content = write_profile_file(config, read.offset, calculate(config, offset=read.offset))
    text = content.decode("utf-8")
    assert text.startswith('{\n    "meta": {\n        "app": "LRTool",\n        "version": "1.0.0"\n    },\n')
    assert not text.endswith("\n")
    written = json.loads(text)
    assert all(isinstance(value, str) for key, value in written["configuration"].items() if key != "slider_offset")
    assert isinstance(written["configuration"]["slider_offset"], float)


# --- Round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", GOLDEN, ids=[f"golden{index}" for index in range(len(GOLDEN))])
def test_every_golden_lrtool_1_0_input_round_trips_without_the_extension(case: dict[str, Any]) -> None:
    given_input = case["input"]
    config = TrainingConfig(**golden_fields(given_input))
    written, read = round_trip(config, given_input["offset"])
    assert "lrtool" not in written
    configuration = written["configuration"]
    assert configuration["model"] == given_input["model"]
    assert configuration["optimizer"] == given_input["optimizer"]
    assert configuration["scheduler"] == given_input["scheduler"]
    assert configuration["warmup"] == f"{given_input['warmup_percent']}%"
    assert configuration["steps"] == str(given_input["steps"])
    assert TrainingConfig(**read.config) == config
    assert read.offset == given_input["offset"]
    result = calculate(TrainingConfig(**read.config), offset=read.offset)
    for name, want in case["expected"].items():
        assert_close(getattr(result, name), want, name)
        assert_close(read.statistics[name], want, name)


def test_lrtool_1_0_names_round_trip_for_every_catalog_entry() -> None:
    base = {**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Constant"}
    for table, field in ((MODELS, "model"), (OPTIMIZERS, "optimizer"), (OBJECTIVES, "objective")):
        for entry in table:
            if getattr(entry, "base_energy", 0.0) is None or getattr(entry, "modifier", 0.0) is None:
                continue  # calibrated-only entries: LRTool 1.0 never had them
            config = TrainingConfig(**{**base, field: entry.id})
            written, read = round_trip(config, 0.0)
            # LRTool 1.0's own spelling where ours differs ("Lam" for LAMB).
            assert written["configuration"][field] == (getattr(entry, "lrtool_1_0_name", "") or entry.display_name)
            assert "lrtool" not in written
            assert canonical(TrainingConfig(**read.config)) == canonical(config)
    for schedule in LRTOOL_1_0_SCHEDULES:
        for percent in (0, 5, 10, 15, 20, 25):
            config = TrainingConfig(**{**base, "scheduler": schedule.id, "warmup_fraction": percent / 100})
            written, read = round_trip(config, -0.5)
            assert written["configuration"]["scheduler"] == schedule.display_name
            assert written["configuration"]["warmup"] == f"{percent}%"
            assert "lrtool" not in written
            assert canonical(TrainingConfig(**read.config)) == canonical(config)
            assert read.offset == -0.5


@pytest.mark.parametrize("alpha", [16.0, 0.5, 1e-05, 4096.0, 0.1 + 0.2, 3.0000000000000004])
def test_alpha_is_written_as_text_that_reads_back_exactly(alpha: float) -> None:
    config = TrainingConfig(**{**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Linear", "alpha": alpha})
    written, read = round_trip(config, 0.125)
    assert isinstance(written["configuration"]["alpha"], str)
    assert "lrtool" not in written
    assert read.config["alpha"] == alpha
    assert TrainingConfig(**read.config) == config


def test_no_warmup_is_written_as_0_percent() -> None:
    config = TrainingConfig(**{**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Rex", "warmup_fraction": None})
    written, read = round_trip(config, 0.0)
    assert written["configuration"]["warmup"] == "0%"
    assert written["statistics"]["warmup_fraction"] == 0.0
    assert "lrtool" not in written
    assert read.config["warmup_fraction"] == 0.0
    assert calculate(TrainingConfig(**read.config)) == calculate(config)


ENERGY_CONFIGS: list[dict[str, Any]] = [
    dict(TYPICAL),  # energy formula, Hugging Face cosine
    {**TYPICAL, "scheduler": "cosine_with_restarts", "num_cycles": 3.0, "warmup_fraction": None, "warmup_steps": 50},
    {**TYPICAL, "trainer": "onetrainer", "scheduler": "COSINE", "min_lr_ratio": 0.1, "warmup_fraction": 0.05},
    {**TYPICAL, "trainer": "ai-toolkit", "scheduler": "linear", "warmup_fraction": None},
    {**TYPICAL, "scheduler": "piecewise_constant", "step_rules": "1:500,0.5:1000,0.1", "warmup_fraction": None},
    {**TYPICAL, "scheduler": "polynomial", "power": 2.0, "model": "pony", "optimizer": "AdamW8bit"},
]
LRTOOL_1_0_OUTSIDE_ITS_CHOICES: list[dict[str, Any]] = [
    {**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Cosine", "warmup_fraction": 0.07},  # not a 1.0 choice
    {**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Cosine", "warmup_fraction": 0.3},  # 30 %: not a 1.0 choice
    {**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Linear", "warmup_fraction": None, "warmup_steps": 150},
    {**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Constant", "num_cycles": 2.0},  # ignored, but kept exactly
]


@pytest.mark.parametrize(
    "fields",
    ENERGY_CONFIGS + LRTOOL_1_0_OUTSIDE_ITS_CHOICES,
    ids=[f"energy{index}" for index in range(len(ENERGY_CONFIGS))]
    + [f"lrtool10-{index}" for index in range(len(LRTOOL_1_0_OUTSIDE_ITS_CHOICES))],
)
def test_configurations_lrtool_1_0_cannot_express_round_trip_through_the_extension(fields: dict[str, Any]) -> None:
    config = TrainingConfig(**fields)
    written, read = round_trip(config, 0.3)
    assert written["lrtool"] == {"config": config.model_dump(exclude_none=True)}
    assert read.config == config.model_dump(exclude_none=True)
    assert TrainingConfig(**read.config) == config
    assert read.offset == 0.3
    assert calculate(TrainingConfig(**read.config), offset=read.offset) == calculate(config, offset=0.3)


@pytest.mark.parametrize("fields", ENERGY_CONFIGS, ids=[f"energy{index}" for index in range(len(ENERGY_CONFIGS))])
def test_the_configuration_block_still_opens_as_an_lrtool_1_0_file(fields: dict[str, Any]) -> None:
    """What LRTool 1.0 sees: the file without our extension is a valid 1.0 profile, as near as 1.0 goes."""
    config = TrainingConfig(**fields)
    document = json.loads(write_profile_file(config, 0.0, calculate(config)))
    del document["lrtool"]
    read = read_profile_file(json.dumps(document).encode())
    nearest = TrainingConfig(**read.config)
    assert nearest.formula == "lrtool-1.0"
    for field in ("model", "resolution", "steps", "images", "batch_size", "grad_accum", "rank", "alpha"):
        assert getattr(nearest, field) == getattr(config, field)


REQUIRED_PARAMETERS: dict[str, dict[str, Any]] = {
    "cosine_with_min_lr": {"min_lr_ratio": 0.1},
    "warmup_stable_decay": {"decay_steps": 200},
    "piecewise_constant": {"step_rules": "1:500,0.5:1000,0.1"},
}
EVERY_TRAINER_SCHEDULE = [(trainer.id, schedule) for trainer in TRAINERS for schedule in trainer.schedules]


@pytest.mark.parametrize(
    ("trainer", "schedule"), EVERY_TRAINER_SCHEDULE, ids=[f"{t}:{s.id}" for t, s in EVERY_TRAINER_SCHEDULE]
)
def test_every_trainer_schedule_is_written_as_an_lrtool_1_0_schedule_and_warmup(
    trainer: str, schedule: Schedule
) -> None:
    config = TrainingConfig(
        **{
            **TYPICAL,
            "trainer": trainer,
            "scheduler": schedule.id,
            "warmup_fraction": 0.033 if schedule.takes_warmup else None,
            **REQUIRED_PARAMETERS.get(schedule.id, {}),
        }
    )
    document = json.loads(write_profile_file(config, 0.0, calculate(config)))
    assert LRTOOL_1_0_SCHEDULES.get(document["configuration"]["scheduler"]) is not None
    assert document["configuration"]["warmup"] in ("0%", "5%")
    assert TrainingConfig(**read_profile_file(json.dumps(document).encode()).config) == config
    del document["lrtool"]
    read_profile_file(json.dumps(document).encode())


def test_statistics_may_be_given_as_a_mapping() -> None:
    config = TrainingConfig(**TYPICAL)
    saved = {"recommended_lr": 1e-4, "risk_band": "Safe", "warnings": ["dropped"], "extra": 1}
    written = json.loads(write_profile_file(config, 0.0, saved))
    assert written["statistics"] == {
        "recommended_lr": 1e-4,
        "base_lr": 1e-4,
        "warmup_fraction": 0.1,
        "risk_band": "Safe",
        "extra": 1,
    }


def test_the_writer_refuses_an_offset_outside_the_slider() -> None:
    config = TrainingConfig(**TYPICAL)
    for offset in (1.5, -2.0, math.nan, math.inf):
        with pytest.raises(ConfigError) as caught:
            write_profile_file(config, offset, calculate(config))
        assert caught.value.violations[0].field == "offset"


def test_a_written_file_stays_within_the_size_limit() -> None:
    config = TrainingConfig(**ENERGY_CONFIGS[4])
    content = write_profile_file(config, 0.0, calculate(config))
    assert len(content) <= MAX_PROFILE_FILE_BYTES


# --- What reading accepts ------------------------------------------------------------------------


def test_numbers_given_as_json_numbers_are_accepted() -> None:
    read = read_profile_file(profile(steps=2000, batch=1, alpha=0.5, warmup=10, resolution=1024.0, slider_offset=1))
    assert read.config["steps"] == 2000 and read.config["resolution"] == 1024
    assert read.config["alpha"] == 0.5 and isinstance(read.config["alpha"], float)
    assert read.config["warmup_fraction"] == 0.1
    assert read.offset == 1.0 and isinstance(read.offset, float)


@pytest.mark.parametrize(
    ("text", "fraction"), [("10%", 0.1), ("10", 0.1), (" 25 % ", 0.25), ("0%", 0.0), ("5.0%", 0.05)]
)
def test_warmup_is_a_percentage_with_or_without_the_sign(text: str, fraction: float) -> None:
    assert read_profile_file(profile(warmup=text)).config["warmup_fraction"] == fraction


def test_decimal_alpha_and_spaces_around_numbers_are_accepted() -> None:
    read = read_profile_file(profile(alpha="0.5", steps=" 2000 ", rank="+32", slider_offset="-0.25"))
    assert (read.config["alpha"], read.config["steps"], read.config["rank"], read.offset) == (0.5, 2000, 32, -0.25)


def test_meta_and_statistics_are_optional_and_a_byte_order_mark_is_tolerated() -> None:
    document = {"configuration": SAMPLE["configuration"]}
    read = read_profile_file(b"\xef\xbb\xbf" + json.dumps(document).encode())
    assert read.statistics == {} and read.app_version == ""
    assert read.config == read_profile_file(SAMPLE_BYTES).config


def test_names_are_matched_as_the_engine_matches_them() -> None:
    read = read_profile_file(profile(model="pony (sdxl)", optimizer="AdamW (8-Bit)", scheduler="Cosine (Restarts)"))
    config = TrainingConfig(**read.config)
    assert (config.model, config.optimizer, config.resolved.schedule.id) == ("pony", "adamw_8bit", "cosine_restarts")


# --- Bad files -----------------------------------------------------------------------------------

BAD_FILES: list[tuple[str, bytes, str, str]] = [
    ("not json", b"steps = 2000", "", "is not valid JSON: Expecting value at line 1, column 1"),
    ("truncated json", SAMPLE_BYTES[:-10], "", "is not valid JSON"),
    ("empty", b"  \n", "", "is empty"),
    ("not utf-8", b'{"meta": "\xff"}', "", "is not UTF-8 text (byte 0xff at offset 10)"),
    ("utf-16", json.dumps(SAMPLE).encode("utf-16"), "", "is not UTF-8 text"),
    ("a list", b"[1, 2]", "", 'must be a JSON object with "meta", "configuration" and "statistics"; got a list'),
    ("a string", b'"profile"', "", 'got "profile"'),
    ("NaN", SAMPLE_BYTES.replace(b"0.65", b"NaN"), "", "is not valid JSON: NaN is not a number JSON allows"),
    ("deeply nested", b"[" * 100_000 + b"]" * 100_000, "", "nested too deeply"),
    ("huge integer", b'{"x": ' + b"9" * 5000 + b"}", "", "a number too long to read"),
    ("too large", b" " * MAX_PROFILE_FILE_BYTES + SAMPLE_BYTES, "", "at most 1,048,576 bytes (1 MiB)"),
    ("missing configuration", without("configuration"), "configuration", "is missing"),
    (
        "configuration not an object",
        b'{"configuration": "2000"}',
        "configuration",
        'must be an object of the training settings; got "2000"',
    ),
    (
        "missing steps",
        profile(steps=MISSING),
        "configuration.steps",
        'is missing: the total optimizer steps, given like "2000"',
    ),
    ("missing warmup", profile(warmup=MISSING), "configuration.warmup", "is missing"),
    ("missing slider", profile(slider_offset=MISSING), "configuration.slider_offset", "is missing"),
    ("steps 20x0", profile(steps="20x0"), "configuration.steps", 'must be a whole number like "2000"; got "20x0"'),
    (
        "steps 2000.5",
        profile(steps="2000.5"),
        "configuration.steps",
        'must be a whole number like "2000"; got "2000.5"',
    ),
    ("steps number 2000.5", profile(steps=2000.5), "configuration.steps", "got 2000.5"),
    ("steps boolean", profile(steps=True), "configuration.steps", "got true"),
    ("steps list", profile(steps=[2000]), "configuration.steps", "got a list"),
    ("steps empty", profile(steps=""), "configuration.steps", 'got ""'),
    ("steps zero", profile(steps="0"), "configuration.steps", "must be an integer from 1 to 10,000,000; got 0"),
    (
        "steps 400 digits",
        profile(steps=10**400),
        "configuration.steps",
        "of at most 18 digits; got a number of many digits",
    ),
    (
        "steps 19 digits",
        profile(steps="1" * 19),
        "configuration.steps",
        'of at most 18 digits; got "1111111111111111111"',
    ),
    (
        "warmup 400 digits",
        profile(warmup=10**400),
        "configuration.warmup",
        'must be a percentage like "10%"',
    ),
    (
        "alpha 400 digits",
        profile(alpha=10**400),
        "configuration.alpha",
        'must be a number like "16"',
    ),
    (
        "slider 400 digits",
        profile(slider_offset=-(10**400)),
        "configuration.slider_offset",
        "must be a number from -1",
    ),
    (
        "warmup 1e9%",
        profile(warmup="1e9%"),
        "configuration.warmup",
        'warmup choices 0%, 5%, 10%, 15%, 20%, 25%; got "1e9%"',
    ),
    ("batch zero", profile(batch="0"), "configuration.batch", "must be an integer from 1 to 4,096; got 0"),
    ("resolution 20", profile(resolution="20"), "configuration.resolution", "must be an integer from 64 to 8,192"),
    (
        "alpha text",
        profile(alpha="sixteen"),
        "configuration.alpha",
        'must be a number like "16" or "0.5"; got "sixteen"',
    ),
    ("alpha nan", profile(alpha="nan"), "configuration.alpha", 'got "nan"'),
    ("alpha zero", profile(alpha="0"), "configuration.alpha", "must be a finite number above 0 and at most 4,096"),
    (
        "warmup 30%",
        profile(warmup="30%"),
        "configuration.warmup",
        'must be one of LRTool 1.0\'s warmup choices 0%, 5%, 10%, 15%, 20%, 25%; got "30%"',
    ),
    ("warmup abc", profile(warmup="abc"), "configuration.warmup", 'must be a percentage like "10%"'),
    ("warmup fraction", profile(warmup=0.1), "configuration.warmup", "a plain number is a percentage"),
    ("warmup negative", profile(warmup="-5%"), "configuration.warmup", 'got "-5%"'),
    (
        "slider x",
        profile(slider_offset="x"),
        "configuration.slider_offset",
        'must be a number from -1 to 1 (the learning-rate slider) like 0.0; got "x"',
    ),
    ("slider 2.0", profile(slider_offset=2.0), "configuration.slider_offset", "got 2.0"),
    ("slider null", profile(slider_offset=None), "configuration.slider_offset", "got null"),
    ("unknown model", profile(model="SDXXL"), "configuration.model", "unknown model 'SDXXL' (did you mean 'SDXL'?)"),
    ("model number", profile(model=15), "configuration.model", 'must be a model name as text like "SDXL"; got 15'),
    ("long model name", profile(model="x" * 5000), "configuration.model", "(5,000 characters)"),
    ("unknown optimizer", profile(optimizer="Prodigy"), "configuration.optimizer", "sets its own step size"),
    ("unknown objective", profile(objective="Portrait"), "configuration.objective", "Character"),
    (
        "a trainer's scheduler",
        profile(scheduler="cosine_with_min_lr"),
        "configuration.scheduler",
        "is not a schedule of formula 'lrtool-1.0'",
    ),
    (
        "meta a list",
        json.dumps({**SAMPLE, "meta": []}).encode(),
        "meta",
        'must be an object like {"app": "LRTool", "version": "1.0.0"}; got a list',
    ),
    (
        "another app",
        profile("meta", app="kohya_ss"),
        "meta.app",
        'must be "LRTool": this is not an LRTool profile file',
    ),
    ("version a number", profile("meta", version=1.0), "meta.version", 'must be text like "1.0.0"; got 1.0'),
    ("statistics a list", json.dumps({**SAMPLE, "statistics": [1]}).encode(), "statistics", "got a list"),
    ("extension not an object", json.dumps({**SAMPLE, "lrtool": "x"}).encode(), "lrtool", "must be an object"),
    ("extension without config", json.dumps({**SAMPLE, "lrtool": {}}).encode(), "lrtool.config", "is missing"),
    (
        "extension bad steps",
        json.dumps({**SAMPLE, "lrtool": {"config": {**TYPICAL, "steps": -1}}}).encode(),
        "lrtool.config.steps",
        "must be an integer from 1 to 10,000,000; got -1",
    ),
    (
        "extension unknown field",
        json.dumps({**SAMPLE, "lrtool": {"config": {**TYPICAL, "lr": 1}}}).encode(),
        "lrtool.config.lr",
        "is not a configuration field",
    ),
    (
        "extension missing field",
        json.dumps({**SAMPLE, "lrtool": {"config": {**TYPICAL, "model": None}}}).encode(),
        "lrtool.config.model",
        "must be a name from the catalog; got nothing",
    ),
    (
        "extension long name",
        json.dumps({**SAMPLE, "lrtool": {"config": {**TYPICAL, "scheduler": "c" * 10_000}}}).encode(),
        "lrtool.config.scheduler",
        "(10,000 characters)",
    ),
]


@pytest.mark.parametrize(
    ("content", "path", "message"), [case[1:] for case in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_a_bad_file_names_the_problem_and_where(content: bytes, path: str, message: str) -> None:
    problems = problems_of(content)
    assert len(problems) == 1, problems
    ((got_path, got_message),) = problems
    assert got_path == path
    assert message in got_message
    assert len(got_message) < 800  # the engine lists the accepted names (49 models)


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    content = json.dumps(
        {
            "meta": {"app": "Other"},
            "configuration": {
                **SAMPLE["configuration"],
                "steps": "20x0",
                "batch": "0",
                "model": "nope",
                "warmup": "30%",
                "slider_offset": 2.0,
                "images": None,
            },
            "statistics": "none",
        }
    ).encode()
    problems = problems_of(content)
    assert [path for path, _ in problems] == [
        "meta.app",
        "configuration.steps",
        "configuration.batch",
        "configuration.images",
        "configuration.model",
        "configuration.warmup",
        "configuration.slider_offset",
        "statistics",
    ]
    error = ProfileFileError(FieldViolation(*problem) for problem in problems)
    assert str(error).startswith('meta.app: must be "LRTool"')
    assert "; configuration.steps: must be a whole number" in str(error)


def test_a_broken_field_does_not_hide_a_bad_name_or_scheduler() -> None:
    problems = problems_of(profile(steps="x", alpha="y", scheduler="Cosinus"))
    assert [path for path, _ in problems] == ["configuration.steps", "configuration.alpha", "configuration.scheduler"]
    assert "did you mean 'Cosine'?" in problems[2][1]


def test_whole_file_problems_read_as_a_sentence() -> None:
    with pytest.raises(ProfileFileError) as caught:
        read_profile_file(b"[]")
    assert str(caught.value).startswith("profile file: must be a JSON object")
    assert isinstance(caught.value, ValueError)


def test_bytes_like_content_is_read_and_other_types_are_refused() -> None:
    from_bytearray = read_profile_file(bytearray(SAMPLE_BYTES))  # type: ignore[arg-type]
    assert from_bytearray.config == read_profile_file(SAMPLE_BYTES).config
    ((path, message),) = problems_of(SAMPLE_BYTES.decode())  # type: ignore[arg-type]
    assert (path, message) == ("", "must be given as the file's bytes; got str")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
SECTIONS_AND_KEYS = st.sampled_from(
    [("configuration", key) for key in SAMPLE["configuration"]]
    + [("meta", "app"), ("meta", "version"), ("", "meta"), ("", "configuration"), ("", "statistics"), ("", "lrtool")]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(SECTIONS_AND_KEYS, JSON_VALUES), max_size=4))
def test_any_value_anywhere_gives_a_profile_or_a_profile_file_error(
    changes: list[tuple[tuple[str, str], Any]],
) -> None:
    document = copy.deepcopy(SAMPLE)
    for (section, key), value in changes:
        target = document if not section else document.get(section)
        if isinstance(target, dict):
            target[key] = value
    try:
        read = read_profile_file(json.dumps(document).encode())
    except ProfileFileError as error:
        assert error.violations
        assert all(isinstance(v.field, str) and v.description for v in error.violations)
    else:
        TrainingConfig(**read.config)  # a file that reads is a valid configuration
        assert -1.0 <= read.offset <= 1.0


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=200) | st.text(max_size=80).map(str.encode))
def test_arbitrary_bytes_never_escape_as_anything_but_a_profile_file_error(content: bytes) -> None:
    try:
        read_profile_file(content)
    except ProfileFileError as error:
        assert error.violations


@pytest.mark.parametrize("fields", ENERGY_CONFIGS[:3], ids=["energy0", "energy1", "energy2"])
def test_an_edit_to_the_lrtool_1_0_block_alone_is_refused_not_ignored(fields: dict[str, Any]) -> None:
    config = TrainingConfig(**fields)
    document = json.loads(write_profile_file(config, 0.0, calculate(config)))
    assert read_profile_file(json.dumps(document).encode()).config == config.model_dump(exclude_none=True)
    # Other spellings of the same settings are the same settings.
    same = copy.deepcopy(document)
    same["configuration"]["model"] = MODELS.by_id(config.model).id
    same["configuration"]["steps"] = f" {config.steps} "
    assert read_profile_file(json.dumps(same).encode()).config == config.model_dump(exclude_none=True)
    edited = copy.deepcopy(document)
    edited["configuration"]["steps"] = str(config.steps * 2)
    edited["configuration"]["rank"] = "128" if config.rank != 128 else "64"
    with pytest.raises(ProfileFileError) as caught:
        read_profile_file(json.dumps(edited).encode())
    [violation] = caught.value.violations
    path, message = violation.field, violation.description
    assert path == "configuration"
    assert f'steps "{config.steps * 2}" here, "{config.steps}" there' in message
    assert "rank" in message and 'delete the "lrtool" section' in message
    del edited["lrtool"]  # as told: the LRTool 1.0 block is read
    assert read_profile_file(json.dumps(edited).encode()).config["steps"] == config.steps * 2
