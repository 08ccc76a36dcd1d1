"""Hostile trainer files: refused before a parser can spend seconds on them, naming what is wrong."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from conftest import DATA, RunningEngine
from fuzzing import HOSTILE_FILES

from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from engine_server.engine import Cancelled, stop_when
from engine_server.trainer_configs import (
    TrainerConfigError,
    _json_file,
    _shape,
    _toml_file,
    _yaml_file,
    export_trainer_config,
    import_trainer_config,
)

#: Seconds within which the engine answers a hostile file; unguarded, each costs seconds to minutes.
PROMPTLY = 2.0


def refusal(stub: Any, method: str, request: Any) -> tuple[grpc.RpcError, float]:
    started = time.perf_counter()
    with pytest.raises(grpc.RpcError) as caught:
        getattr(stub, method)(request, timeout=PROMPTLY)
    return caught.value, time.perf_counter() - started


@pytest.fixture(scope="module")
def stub(engine: RunningEngine) -> Any:
    with grpc.insecure_channel(engine.address) as channel:
        yield pb_grpc.LRToolEngineStub(channel)


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_a_hostile_file_is_refused_promptly_with_invalid_argument(stub: Any, name: str) -> None:
    content, filename = HOSTILE_FILES[name]
    request = pb.ImportTrainerConfigRequest(content=content, filename=filename)
    error, seconds = refusal(stub, "ImportTrainerConfig", request)
    call: Any = error
    assert call.code() == grpc.StatusCode.INVALID_ARGUMENT, call.details()
    # Each names where the problem is, or the limit the file is over.
    assert call.details().startswith("content") and any(word in call.details() for word in ("line ", "up to", "KiB"))
    assert seconds < PROMPTLY


def test_a_toml_file_too_large_to_edit_is_refused_promptly(stub: Any) -> None:
    content, filename = HOSTILE_FILES["many TOML tables"]
    request = pb.ExportTrainerConfigRequest(content=content, filename=filename, learning_rate=1e-4)
    error, _ = refusal(stub, "ExportTrainerConfig", request)
    call: Any = error
    assert call.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"up to {_shape.MAX_TOML_TABLES:,} tables" in call.details()


@pytest.mark.parametrize(
    ("load", "wrap"),
    [
        (_json_file.load, lambda depth: "[" * depth + "]" * depth),
        (_toml_file.load, lambda depth: "a = " + "[" * depth + "]" * depth),
        (_toml_file.load, lambda depth: "a = " + "{b = " * depth + "1" + "}" * depth),
        (_yaml_file.load, lambda depth: "[" * depth + "]" * depth),
        (
            _yaml_file.load,
            lambda depth: "".join(" " * level + f"k{level}:\n" for level in range(depth)) + " " * depth + "v: 1",
        ),
    ],
)
def test_nesting_up_to_the_limit_is_read_and_one_more_is_refused(load: Any, wrap: Any) -> None:
    load(wrap(_shape.MAX_NESTING - 1))
    with pytest.raises(TrainerConfigError, match="nested too deeply"):
        load(wrap(_shape.MAX_NESTING + 1))


def test_yaml_keys_at_the_deepest_level_allowed_are_read() -> None:
    depth = _shape.MAX_NESTING
    opening = "".join(" " * level + f"k{level}:\n" for level in range(depth - 1))
    deepest = " " * (depth - 1)
    assert _yaml_file.compose(f"{opening}{deepest}a: 1\n{deepest}b: 2\n{deepest}c: 3\n") is not None
    with pytest.raises(TrainerConfigError, match="line 33: mappings or lists are nested too deeply"):
        _yaml_file.compose(f"{opening}{deepest}k:\n{deepest} a: 1\n")


def test_dotted_keys_up_to_the_limit_are_read() -> None:
    assert _toml_file.load("a." * (_shape.MAX_KEY_PARTS - 1) + "a = 1")
    assert _toml_file.load('x = "' + "a." * 500 + '"\ny = 1.5\n')["y"] == 1.5
    with pytest.raises(TrainerConfigError, match="line 2: a dotted key has more than"):
        _toml_file.load("x = 1\n" + "a . " * _shape.MAX_KEY_PARTS + "a = 1")


def test_brackets_inside_strings_do_not_count() -> None:
    deep_text = "[" * 200
    assert _json_file.load(f'{{"caption": "{deep_text}"}}')["caption"] == deep_text
    assert _toml_file.load(f"caption = '{deep_text}'\n# {deep_text}\n")["caption"] == deep_text
    assert _yaml_file.load(f"caption: '{deep_text}'\n")["caption"] == deep_text


def test_import_and_export_stop_when_the_caller_has_gone() -> None:
    content = (DATA / "trainer_configs" / "sd_scripts_pony.toml").read_bytes()
    with stop_when(lambda: True), pytest.raises(Cancelled):
        import_trainer_config(content, "c.toml")
    with stop_when(lambda: True), pytest.raises(Cancelled):
        export_trainer_config(content, "c.toml", learning_rate=1e-4)


def test_a_huge_integer_in_a_dataset_file_or_an_export_names_its_line(stub: Any) -> None:
    config = (DATA / "trainer_configs" / "sd_scripts_pony.toml").read_bytes()
    dataset = b"[general]\nshuffle_caption = true\n\n[[datasets]]\nresolution = " + b"9" * 5_000 + b"\n"
    request = pb.ImportTrainerConfigRequest(content=config, filename="c.toml", dataset_content=dataset)
    error, _ = refusal(stub, "ImportTrainerConfig", request)
    call: Any = error
    assert call.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "dataset line 5: not valid TOML: a number of more than 4,300 digits" in call.details()
    for content, filename in (HOSTILE_FILES["huge JSON integer"], HOSTILE_FILES["huge TOML integer"]):
        export = pb.ExportTrainerConfigRequest(content=content, filename=filename, learning_rate=1e-4)
        error, _ = refusal(stub, "ExportTrainerConfig", export)
        call = error
        assert call.code() == grpc.StatusCode.INVALID_ARGUMENT and "4,300 digits" in call.details()


def test_an_integer_too_large_for_the_wire_is_a_named_problem(stub: Any) -> None:
    head = b'pretrained_model_name_or_path = "sdxl.safetensors"\nnetwork_dim = 16\nlearning_rate = 1e-4\n'
    content = head + b"max_train_steps = 99999999999999999999999999\n"
    request = pb.ImportTrainerConfigRequest(content=content, filename="c.toml")
    error, _ = refusal(stub, "ImportTrainerConfig", request)
    call: Any = error
    assert call.code() == grpc.StatusCode.INVALID_ARGUMENT, call.details()
    assert "steps: must be an integer from 1 to 10,000,000; got 99999999999999999999999999" in call.details()
