"""Hypothesis strategies for whole gRPC requests: valid, odd and hostile values alike."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server.engine import catalog

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-320, 5e-324, 1e308, -1.0, 0.5, 1.0, 4096.0, 4096.000001, math.nan, math.inf]),
)
NAMES = sorted(
    {e.id for table in (catalog.MODELS, catalog.OPTIMIZERS, catalog.OBJECTIVES) for e in table}
    | {e.display_name for e in catalog.MODELS}
    | {s.id for t in catalog.TRAINERS for s in t.schedules}
    | {s.display_name for s in catalog.LRTOOL_1_0_SCHEDULES}
    | set(catalog.FORMULA_SETS.ids)
    | set(catalog.TRAINERS.ids)
)
TEXT = st.one_of(
    st.sampled_from(NAMES), st.text(max_size=40), st.sampled_from(["", " ", "\x00", "1:2,0.5:x", "1:5,0.1"])
)
SMALL_INTS = st.one_of(INT32, st.integers(0, 5000))


STEPS = st.one_of(INT64, st.integers(1, 20_000))
_CONFIG_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "model": TEXT,
        "optimizer": TEXT,
        "scheduler": TEXT,
        "objective": TEXT,
        "formula": TEXT,
        "trainer": TEXT,
        "resolution": SMALL_INTS,
        "batch_size": SMALL_INTS,
        "grad_accum": SMALL_INTS,
        "rank": SMALL_INTS,
        "steps": STEPS,
        "images": STEPS,
        "alpha": NUMBERS,
        "num_cycles": NUMBERS,
        "power": NUMBERS,
        "min_lr_ratio": NUMBERS,
        "start_factor": NUMBERS,
        "end_factor": NUMBERS,
        "decay_steps": STEPS,
        "timescale": STEPS,
        "step_rules": TEXT,
    },
)
_WARMUP = st.one_of(
    st.just({}), st.builds(lambda v: {"warmup_fraction": v}, NUMBERS), st.builds(lambda v: {"warmup_steps": v}, STEPS)
)


def training_configs() -> st.SearchStrategy[pb.TrainingConfig]:
    """Any subset of fields with any values their wire types can carry."""
    return st.builds(lambda fields, warmup: pb.TrainingConfig(**fields, **warmup), _CONFIG_FIELDS, _WARMUP)


_ADJUSTMENTS = st.one_of(
    st.just({}), st.builds(lambda v: {"offset": v}, NUMBERS), st.builds(lambda v: {"learning_rate": v}, NUMBERS)
)
LOG_NAMES = st.one_of(st.text(max_size=140), st.sampled_from(["", "default", "fuzz log", "a/b", " x"]))
CALCULATE_REQUESTS = st.builds(
    lambda config, adjustment, log, population_only: pb.CalculateRequest(
        config=config, run_log=log, population_only=population_only, **adjustment
    ),
    training_configs(),
    _ADJUSTMENTS,
    LOG_NAMES,
    st.booleans(),
)
#: Outcome values on the wire, including numbers the enum lacks (proto3 enums are open).
OUTCOMES = st.one_of(st.sampled_from(list(pb.Outcome.values())), INT32)
RUN_IDS = st.one_of(st.text(max_size=20), st.integers(0, 200).map(str), st.sampled_from(["", "1", "-1", "1e3"]))


def _run(config: Any, rate: float, outcome: int, best_step: int | None, notes: str, loss: list[float], log: str) -> Any:
    run = pb.Run(config=config, learning_rate=rate, outcome=outcome, notes=notes, loss=loss, log=log)
    if best_step is not None:
        run.best_step = best_step
    return run


RUNS = st.builds(
    _run,
    training_configs(),
    NUMBERS,
    OUTCOMES,
    st.one_of(st.none(), STEPS),
    st.text(max_size=50),
    st.lists(NUMBERS, max_size=8),
    LOG_NAMES,
)
CSV_FILES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda text: text.encode("utf-8")),
    st.builds(
        lambda rows: ("steps,rank,learning_rate,outcome,best_step,notes\n" + "\n".join(rows)).encode("utf-8"),
        st.lists(st.text(alphabet='0123456789,.e-+GODUNRVTIagodunrvt" ', max_size=30), max_size=4),
    ),
)
PROFILE_NAMES = st.one_of(st.text(max_size=140), st.sampled_from(["fuzz", "fuzz profile", "a/b", "", " x"]))
VERSIONS = st.one_of(st.none(), INT64)
_FILES = st.one_of(st.binary(max_size=200), st.sampled_from([b"{}", b'{"configuration": {}}', b"[]"]))


def _versioned(message: Any, version: int | None) -> Any:
    if version is not None:
        message.expected_version = version
    return message


#: (RPC name, request) across the whole service; Calculate drawn most often.
CALLS = st.one_of(
    st.tuples(st.just("Calculate"), CALCULATE_REQUESTS),
    st.tuples(st.just("Calculate"), CALCULATE_REQUESTS),
    st.tuples(
        st.just("CalculateBatch"),
        st.builds(lambda items: pb.CalculateBatchRequest(requests=items), st.lists(CALCULATE_REQUESTS, max_size=4)),
    ),
    st.tuples(
        st.just("GetCurves"),
        st.builds(
            lambda c, o, p: pb.GetCurvesRequest(config=c, offset=o, points=p), training_configs(), NUMBERS, INT32
        ),
    ),
    st.tuples(
        st.just("SaveProfile"),
        st.builds(
            lambda name, config, offset, notes, version: _versioned(
                pb.SaveProfileRequest(profile=pb.Profile(name=name, config=config, offset=offset, notes=notes)), version
            ),
            PROFILE_NAMES,
            training_configs(),
            NUMBERS,
            st.text(max_size=50),
            VERSIONS,
        ),
    ),
    st.tuples(st.just("GetProfile"), st.builds(lambda n: pb.GetProfileRequest(name=n), PROFILE_NAMES)),
    st.tuples(st.just("ExportProfile"), st.builds(lambda n: pb.ExportProfileRequest(name=n), PROFILE_NAMES)),
    st.tuples(st.just("SetDefaultProfile"), st.builds(lambda n: pb.SetDefaultProfileRequest(name=n), PROFILE_NAMES)),
    st.tuples(
        st.just("DeleteProfile"),
        st.builds(lambda n, v: _versioned(pb.DeleteProfileRequest(name=n), v), PROFILE_NAMES, VERSIONS),
    ),
    st.tuples(
        st.just("ListProfiles"),
        st.builds(
            lambda size, token: pb.ListProfilesRequest(page_size=size, page_token=token), INT32, st.text(max_size=30)
        ),
    ),
    st.tuples(st.just("RecordRun"), st.builds(lambda run: pb.RecordRunRequest(run=run), RUNS)),
    st.tuples(
        st.just("UpdateRun"),
        st.builds(
            lambda run, i: pb.UpdateRunRequest(
                run=pb.Run(id=i, outcome=run.outcome, best_step=run.best_step, notes=run.notes)
            ),
            RUNS,
            RUN_IDS,
        ),
    ),
    st.tuples(st.just("DeleteRun"), st.builds(lambda i: pb.DeleteRunRequest(id=i), RUN_IDS)),
    st.tuples(
        st.just("ListRuns"),
        st.builds(
            lambda log, model, size, token: pb.ListRunsRequest(log=log, model=model, page_size=size, page_token=token),
            LOG_NAMES,
            TEXT,
            INT32,
            st.text(max_size=30),
        ),
    ),
    st.tuples(
        st.just("ImportRuns"),
        st.builds(
            lambda content, log, base: pb.ImportRunsRequest(content=content, log=log, base=base),
            CSV_FILES,
            LOG_NAMES,
            training_configs(),
        ),
    ),
    st.tuples(st.just("ExportRuns"), st.builds(lambda log: pb.ExportRunsRequest(log=log), LOG_NAMES)),
    st.tuples(
        st.just("ImportProfile"),
        st.builds(lambda content, name: pb.ImportProfileRequest(content=content, name=name), _FILES, PROFILE_NAMES),
    ),
)


def calls() -> st.SearchStrategy[tuple[str, Any]]:
    return CALLS


# --- Hostile trainer files: small or cheap to send, expensive to parse unguarded ------------------

#: sd-scripts keys, so that a file is taken for a trainer config and reaches the editing code.
_SD_SCRIPTS_HEAD = b'pretrained_model_name_or_path = "sdxl.safetensors"\nnetwork_dim = 16\nlearning_rate = 1e-4\n'


def nested_yaml_flow(depth: int = 2_000) -> bytes:
    """4 KB of `a: [[[…]]]`: seconds of ruamel's CPU per call unguarded."""
    return b"a: " + b"[" * depth + b"]" * depth


def nested_yaml_block(depth: int = 200) -> bytes:
    return b"".join(b" " * level + b"k:\n" for level in range(depth)) + b" " * depth + b"v: 1\n"


def nested_yaml_sequences(depth: int = 2_000) -> bytes:
    return b"a:\n" + b"- " * depth + b"1\n"


def flat_yaml(items: int = 200_000) -> bytes:
    """400 KB of one flat list: seven seconds of ruamel unguarded."""
    return b"a: [" + b",".join([b"1"] * items) + b"]\n"


def nested_json(depth: int = 100_000) -> bytes:
    return b'{"a": ' + b"[" * depth + b"]" * depth + b"}"


def nested_toml_arrays(depth: int = 100_000) -> bytes:
    return _SD_SCRIPTS_HEAD + b"a = " + b"[" * depth + b"]" * depth + b"\n"


def nested_toml_inline_tables(depth: int = 50_000) -> bytes:
    return _SD_SCRIPTS_HEAD + b"a = " + b"{b = " * depth + b"1" + b"}" * depth + b"\n"


def dotted_toml_key(parts: int = 300_000) -> bytes:
    """A 600 KB dotted key: tomllib is quadratic in its parts."""
    return _SD_SCRIPTS_HEAD + b"a." * parts + b"a = 1\n"


def many_toml_tables(count: int = 33_703) -> bytes:
    """1 MB of tables: a second of tomllib, and half a minute of tomlkit to edit it."""
    return _SD_SCRIPTS_HEAD + b"".join(b"[t%d]\nx = 1\n" % index for index in range(count))[:1_048_000]


def many_toml_keys(count: int = 100_000) -> bytes:
    return _SD_SCRIPTS_HEAD + b"".join(b"k%d = 1\n" % index for index in range(count))[:1_048_000]


def huge_integer(syntax: str, digits: int = 5_000) -> bytes:
    """An integer longer than Python converts (sys.get_int_max_str_digits(), 4,300 by default)."""
    number = b"7" * digits
    if syntax == "json":
        return b'{"LoRA_type": "Standard", "network_dim": ' + number + b"}"
    if syntax == "yaml":
        return b"config:\n  process:\n    - network:\n        linear: " + number + b"\n"
    return _SD_SCRIPTS_HEAD + b"max_train_steps = " + number + b"\n"


#: name -> (content, file name) of every hostile file; each must be refused with INVALID_ARGUMENT.
HOSTILE_FILES: dict[str, tuple[bytes, str]] = {
    "nested YAML flow": (nested_yaml_flow(), "a.yaml"),
    "nested YAML blocks": (nested_yaml_block(), "a.yaml"),
    "nested YAML sequences": (nested_yaml_sequences(), "a.yaml"),
    "flat YAML": (flat_yaml(), "a.yaml"),
    "nested JSON": (nested_json(), "a.json"),
    "nested TOML arrays": (nested_toml_arrays(), "a.toml"),
    "nested TOML inline tables": (nested_toml_inline_tables(), "a.toml"),
    "dotted TOML key": (dotted_toml_key(), "a.toml"),
    "many TOML tables": (many_toml_tables(), "a.toml"),
    "many TOML keys": (many_toml_keys(), "a.toml"),
    "huge JSON integer": (huge_integer("json"), "a.json"),
    "huge YAML integer": (huge_integer("yaml"), "a.yaml"),
    "huge TOML integer": (huge_integer("toml"), "a.toml"),
}


def hostile_files() -> st.SearchStrategy[tuple[str, bytes, str]]:
    """(name, content, file name), at full size or smaller, for ImportTrainerConfig and ExportTrainerConfig."""
    generators = {
        "nested YAML flow": (nested_yaml_flow, "a.yaml", 65, 3_000),
        "nested YAML sequences": (nested_yaml_sequences, "a.yaml", 65, 3_000),
        "nested JSON": (nested_json, "a.json", 65, 200_000),
        "nested TOML arrays": (nested_toml_arrays, "a.toml", 65, 200_000),
        "dotted TOML key": (dotted_toml_key, "a.toml", 65, 300_000),
        "many TOML tables": (many_toml_tables, "a.toml", 1_001, 33_703),
    }
    sized = st.sampled_from(sorted(generators)).flatmap(
        lambda name: st.integers(generators[name][2], generators[name][3]).map(
            lambda size: (name, generators[name][0](size), generators[name][1])
        )
    )
    whole = st.sampled_from(sorted(HOSTILE_FILES.items())).map(lambda item: (item[0], *item[1]))
    return st.one_of(sized, whole)
