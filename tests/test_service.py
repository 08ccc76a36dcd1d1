"""Every RPC against a real server on a free port, through real channels."""

from __future__ import annotations

import dataclasses
import gc
import math
from typing import Any

import grpc
import pytest
from conftest import TYPICAL, RunningEngine, golden_fields, load_json, running_engine
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_golden_parity import GOLDEN
from test_properties import config_fields
from test_validation import BAD_NUMBERS

from engine_server import _wire
from engine_server._convert import calculation_to_proto
from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from engine_server.client import (
    InvalidArgument,
    LRToolClient,
    ProfileAlreadyExists,
    ProfileNotFound,
    VersionConflict,
    calculate_request,
)
from engine_server.engine import ConfigError, TrainingConfig, calculate, calculate_rows, catalog
from engine_server.service import batch_answer


def test_catalog_lists_everything_the_engine_accepts(client: LRToolClient) -> None:
    answer = client.get_catalog()
    assert [m.display_name for m in answer.models] == [m.display_name for m in catalog.MODELS]
    assert len(answer.optimizers) == len(catalog.OPTIMIZERS)
    assert len(answer.objectives) == 4 and len(answer.architectures) == 6
    trainers = {t.id: t for t in answer.trainers}
    assert set(trainers) == {"huggingface", "onetrainer", "ai-toolkit"}
    cosine = next(s for s in trainers["huggingface"].schedules if s.id == "cosine")
    assert cosine.parameters[0].name == "num_cycles" and cosine.parameters[0].default_value == 0.5
    assert [r.id for r in trainers["huggingface"].refused_schedules] == ["adafactor"]
    legacy = next(f for f in answer.formula_sets if f.id == "lrtool-1.0")
    assert [s.display_name for s in legacy.schedules][:3] == ["Constant", "Linear", "Cosine"]
    ranges = {r.field: r for r in answer.input_ranges}
    assert ranges["steps"].maximum == 10_000_000 and ranges["steps"].description.startswith("an integer")
    assert {h.field for h in answer.field_help} >= set(TrainingConfig.model_fields)
    assert answer.bands.stability_safe == 85 and answer.bands.efficiency_suboptimal == 60
    assert answer.default_formula == "calibrated" and answer.default_trainer == "huggingface"


def test_calculate_equals_the_engine_in_process(client: LRToolClient) -> None:
    local = calculate(TrainingConfig(**TYPICAL), offset=0.25)
    remote = client.calculate(TYPICAL, offset=0.25)
    assert remote == calculation_to_proto(local)
    for field in dataclasses.fields(local):
        if field.name in ("evidence", "factors"):  # messages of their own, compared above
            continue
        value = getattr(local, field.name)
        got = getattr(remote, field.name)
        assert (list(got) if field.name == "warnings" else got) == (list(value) if field.name == "warnings" else value)


def test_calculate_evaluates_a_learning_rate(client: LRToolClient) -> None:
    recommended = client.calculate(TYPICAL).recommended_lr
    result = client.calculate(TYPICAL, learning_rate=2 * recommended)
    assert result.offset == pytest.approx(1.0) and result.adjusted_lr == 2 * recommended


@pytest.mark.parametrize("case", GOLDEN[::3], ids=lambda c: f"{c['input']['model']}-{c['input']['scheduler']}")
def test_golden_parity_through_grpc(client: LRToolClient, case: dict[str, Any]) -> None:
    result = client.calculate(golden_fields(case["input"]), offset=case["input"]["offset"])
    for name, want in case["expected"].items():
        got = getattr(result, name)
        if isinstance(want, str) or want == 0:
            assert got == want, name
        else:
            assert abs(got - want) <= 1e-9 * abs(want), name


def test_whole_golden_set_in_one_batch(client: LRToolClient) -> None:
    requests = []
    for case in GOLDEN:
        requests.append(calculate_request(golden_fields(case["input"]), offset=case["input"]["offset"]))
    results = client.calculate_batch(requests)
    for case, result in zip(GOLDEN, results, strict=True):
        assert math.isclose(result.recommended_lr, case["expected"]["recommended_lr"], rel_tol=1e-9)
        assert math.isclose(result.stability_score, case["expected"]["stability_score"], rel_tol=1e-9)


def test_a_batch_of_ten_thousand_in_one_call(client: LRToolClient) -> None:
    requests = [
        calculate_request({**TYPICAL, "rank": 1 + i % 128}, offset=(i % 201 - 100) / 100) for i in range(10_000)
    ]
    results = client.calculate_batch(requests)
    assert len(results) == 10_000
    assert results[7].offset == pytest.approx((7 - 100) / 100)
    assert results[0].recommended_lr > results[127].recommended_lr


def test_ten_thousand_calibrated_results_with_their_factors_fit_one_answer(client: LRToolClient) -> None:
    requests = [calculate_request({**TYPICAL, "formula": "calibrated", "steps": 500 + i}) for i in range(10_000)]
    results = client.calculate_batch(requests)
    assert len(results) == 10_000
    assert all(len(result.factors) == 10 and result.evidence.count > 0 for result in results)
    assert results[9_999].factors[3].value == "10,499 steps"


def test_each_batch_row_gets_its_own_band_whatever_came_before(client: LRToolClient) -> None:
    """Rows of one family share a fit only where they share its prior: an adaptive optimizer's band
    (its multiplier's spread) is not an AdamW row's, in either order."""
    adamw = {**TYPICAL, "formula": "calibrated"}
    prodigy = {**adamw, "optimizer": "Prodigy"}
    alone = [client.calculate(fields) for fields in (adamw, prodigy)]
    for order in ((0, 1), (1, 0)):
        batch = client.calculate_batch([calculate_request((adamw, prodigy)[i]) for i in order])
        for i, result in zip(order, batch, strict=True):
            assert (result.recommended_low, result.recommended_high) == pytest.approx(
                (alone[i].recommended_low, alone[i].recommended_high)
            )
    assert alone[0].recommended_high / alone[0].recommended_low != pytest.approx(
        alone[1].recommended_high / alone[1].recommended_low
    )


def test_a_batch_may_ask_for_the_statistics_alone(client: LRToolClient, engine: RunningEngine) -> None:
    requests = [calculate_request({**TYPICAL, "formula": "calibrated", "steps": 500 + i}) for i in range(50)]
    full = client.calculate_batch(requests)
    lean = client.calculate_batch(requests, statistics_only=True)
    assert all(not result.factors and not result.HasField("evidence") for result in lean)
    for whole, statistics in zip(full, lean, strict=True):
        whole.ClearField("factors")
        whole.ClearField("evidence")
        assert statistics == whole  # the warnings included
    with grpc.insecure_channel(engine.address) as channel:
        stub = pb_grpc.LRToolEngineStub(channel)
        unset = stub.CalculateBatch(pb.CalculateBatchRequest(requests=requests[:3]), timeout=5)  # an older client
        assert list(unset.results) == [
            calculation_to_proto(calculate(TrainingConfig(**{**TYPICAL, "formula": "calibrated", "steps": 500 + i})))
            for i in range(3)
        ]
        with pytest.raises(grpc.RpcError) as caught:
            stub.CalculateBatch(pb.CalculateBatchRequest(requests=requests[:1], detail=7), timeout=5)  # type: ignore[arg-type]
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "detail" in error.details()


def wire_answer(configs: list[dict[str, Any]], details: bool = True, **rows: Any) -> pb.CalculateBatchResponse:
    return pb.CalculateBatchResponse.FromString(_wire.batch_response(calculate_rows(configs, **rows), details))


def one_by_one(configs: list[dict[str, Any]], details: bool = True) -> pb.CalculateBatchResponse:
    results = [calculation_to_proto(calculate(TrainingConfig(**fields))) for fields in configs]
    if not details:
        for result in results:
            result.ClearField("factors")
            result.ClearField("evidence")
    return pb.CalculateBatchResponse(results=results)


def test_a_batch_answer_is_the_results_converted_one_by_one() -> None:
    """A batch's answer is written from its columns: it parses to the message of its results."""
    calibrated = {**TYPICAL, "formula": "calibrated"}
    configs = [
        *({**calibrated, "rank": rank, "steps": 1000 + rank} for rank in (4, 8, 16, 32, 64)),
        {**calibrated, "optimizer": "Prodigy"},  # an adaptive optimizer: one factor
        {**calibrated, "model": "FLUX.1", "network": "lokr", "rank": 20_000},
        TYPICAL,  # formula energy: no factors, no evidence
        *({**calibrated, "optimizer": "Prodigy", "steps": steps} for steps in (100, 200)),
        {**calibrated, "scheduler": "polynomial"},  # its default floor is solved row by row
        {**calibrated, "images": 12, "repeats": 5, "resolution": 768},  # repeats; not the native size
        {**calibrated, "alpha": 1000.0, "warmup_fraction": 0.6},  # warnings
    ]
    batch = wire_answer(configs)
    assert batch == one_by_one(configs)
    assert [len(result.factors) for result in batch.results] == [10, 10, 10, 10, 10, 1, 10, 0, 1, 1, 10, 10, 10]
    assert len(batch.results[-1].warnings) >= 2
    assert wire_answer(configs, details=False) == one_by_one(configs, details=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(config_fields(max_steps=200_000), min_size=1, max_size=12), st.booleans())
def test_any_batch_answer_parses_to_its_results(configs: list[dict[str, Any]], details: bool) -> None:
    try:
        expected = one_by_one(configs, details)
    except (ConfigError, OverflowError):
        return  # refused or beyond the usual range: not an answer to encode
    assert wire_answer(configs, details) == expected


def test_a_batch_leaves_the_collector_nothing_to_walk() -> None:
    """What a batch builds is freed before the cyclic collector resumes: its first pass after
    every call used to walk all of it (about 7 % of a 10,000-row call)."""
    configs = [{**TYPICAL, "formula": "calibrated", "steps": 1000 + row} for row in range(3000)]
    requests = pb.CalculateBatchRequest(requests=[calculate_request(config) for config in configs]).requests
    walked: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            walked.append(len(gc.get_objects(generation=0)))  # the young objects every pass walks

    batch_answer(requests, True)
    gc.collect()
    gc.callbacks.append(count)
    try:
        answer = batch_answer(requests, True)
        [[] for _ in range(1000)]  # the server allocates on: enough for a pass to start
    finally:
        gc.callbacks.remove(count)
    assert len(pb.CalculateBatchResponse.FromString(b"".join(answer)).results) == len(configs)
    assert walked and max(walked) < 2000, f"passes walked {walked} objects"


def test_batch_errors_name_every_bad_request(client: LRToolClient) -> None:
    requests = [calculate_request(TYPICAL) for _ in range(20)]
    requests[17] = calculate_request({**TYPICAL, "alpha": -1.0})
    requests[3] = calculate_request(TYPICAL, offset=4.0)
    with pytest.raises(InvalidArgument) as caught:
        client.calculate_batch(requests)
    fields = [v.field for v in caught.value.violations]
    assert fields == ["requests[3].offset", "requests[17].config.alpha"]


def test_batch_over_the_limit_is_refused_with_the_limit(tmp_path: Any) -> None:
    with running_engine(tmp_path / "p.sqlite3", max_batch_requests=10) as small, LRToolClient(small.address) as c:
        with pytest.raises(InvalidArgument) as caught:
            c.calculate_batch([TYPICAL] * 11)
        (violation,) = caught.value.violations
        assert violation.field == "requests" and "at most 10 requests per call; got 11" in violation.description


def test_curves_for_plotting(client: LRToolClient) -> None:
    curves = client.get_curves(TYPICAL, offset=0.3, points=101)
    assert len(curves.steps) == len(curves.multipliers) == 101
    assert curves.steps[0] == 0 and curves.steps[-1] == TYPICAL["steps"] - 1
    assert curves.multipliers[0] == 0.0 and max(curves.multipliers) <= 1.0
    assert len(curves.offsets) == len(curves.stability) == len(curves.efficiency) == 101
    assert curves.calculation.offset == pytest.approx(0.3)
    with pytest.raises(InvalidArgument) as caught:
        client.get_curves(TYPICAL, points=1)
    assert caught.value.violations[0].field == "points"


def _fits_the_wire(field: str, value: Any) -> bool:
    """Numbers a TrainingConfig message can carry (int fields take whole numbers in 32/64 bits)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False  # wrong types cannot be sent: the message's field types refuse them
    if catalog.INPUT_RANGES[field].kind == "int":
        return math.isfinite(value) and float(value).is_integer() and abs(value) < 2**31
    return True


BAD_OVER_GRPC = [(field, value) for field, value in BAD_NUMBERS if _fits_the_wire(field, value)]


@pytest.mark.parametrize(("field", "value"), BAD_OVER_GRPC, ids=[f"{f}={v!r}" for f, v in BAD_OVER_GRPC])
def test_bad_input_table_through_grpc(engine: RunningEngine, client: LRToolClient, field: str, value: Any) -> None:
    kind = catalog.INPUT_RANGES[field].kind
    fields: dict[str, Any] = {**TYPICAL, field: float(value) if kind == "float" else value}
    if field == "warmup_steps":
        fields.pop("warmup_fraction")
    with pytest.raises(InvalidArgument) as caught:
        client.calculate(fields)
    (violation,) = caught.value.violations
    assert violation.field == f"config.{field}"
    assert violation.description.startswith(f"must be {catalog.INPUT_RANGES[field].describe()}; got ")
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert client.is_serving()


@pytest.mark.parametrize("field", ["model", "optimizer", "scheduler", "objective", "formula", "trainer"])
def test_unknown_names_through_grpc(client: LRToolClient, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.calculate({**TYPICAL, field: "no such thing"})
    assert [v.field for v in caught.value.violations] == [f"config.{field}"]
    assert "accepted:" in caught.value.violations[0].description


def test_raw_stub_gets_bad_request_details(engine: RunningEngine) -> None:
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    with grpc.insecure_channel(engine.address) as channel:
        stub = pb_grpc.LRToolEngineStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Calculate(pb.CalculateRequest(config=pb.TrainingConfig(model="SDXL", steps=-5)), timeout=5)
        error: Any = caught.value
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        status = rpc_status.from_call(error)
        bad_request = error_details_pb2.BadRequest()
        status.details[0].Unpack(bad_request)
        fields = {v.field for v in bad_request.field_violations}
        assert {"config.steps", "config.images", "config.rank"} <= fields  # resolution defaults to native


# --- Profiles ------------------------------------------------------------------


def test_profile_round_trip_with_server_computed_statistics(client: LRToolClient) -> None:
    saved = client.save_profile("round trip", TYPICAL, offset=0.2, notes="v8 of the seed log")
    assert saved.version == 1 and saved.notes == "v8 of the seed log"
    expected = calculate(TrainingConfig(**TYPICAL), offset=0.2)
    assert saved.statistics.adjusted_lr == expected.adjusted_lr
    loaded = client.get_profile("round trip")
    assert loaded.config.model == "sdxl" and loaded.offset == 0.2
    assert loaded.statistics.stability_score == expected.stability_score
    assert loaded.created_at.seconds > 0 and loaded.updated_at.seconds >= loaded.created_at.seconds


def test_client_statistics_are_never_stored(engine: RunningEngine) -> None:
    with grpc.insecure_channel(engine.address) as channel:
        stub = pb_grpc.LRToolEngineStub(channel)
        config = pb.TrainingConfig(**{k: v for k, v in TYPICAL.items()})
        forged = pb.Calculation(recommended_lr=1.0, stability_score=100.0, risk_band="Safe")
        saved = stub.SaveProfile(
            pb.SaveProfileRequest(profile=pb.Profile(name="forged", config=config, statistics=forged)), timeout=5
        )
    assert saved.statistics.recommended_lr != 1.0
    assert saved.statistics.recommended_lr == calculate(TrainingConfig(**TYPICAL)).recommended_lr


def test_compare_and_set_and_its_errors(client: LRToolClient) -> None:
    client.save_profile("cas", TYPICAL, expected_version=0)
    with pytest.raises(ProfileAlreadyExists):
        client.save_profile("cas", TYPICAL, expected_version=0)
    updated = client.save_profile("cas", {**TYPICAL, "rank": 64}, expected_version=1)
    assert updated.version == 2
    with pytest.raises(VersionConflict) as caught:
        client.save_profile("cas", TYPICAL, expected_version=1)
    assert "2" in caught.value.message and caught.value.code == grpc.StatusCode.ABORTED
    with pytest.raises(VersionConflict):
        client.delete_profile("cas", expected_version=1)
    client.delete_profile("cas", expected_version=2)
    with pytest.raises(ProfileNotFound):
        client.get_profile("cas")


def test_listing_pages_and_the_default(client: LRToolClient) -> None:
    for index in range(7):
        client.save_profile(f"page {index}", TYPICAL)
    first = client.list_profiles(page_size=3)
    assert len(first.profiles) == 3 and first.next_page_token
    names = [p.name for p in client.iter_profiles(page_size=2)]
    assert [n for n in names if n.startswith("page ")] == [f"page {i}" for i in range(7)]
    client.set_default_profile("page 3")
    assert client.default_profile() == "page 3"
    client.set_default_profile(None)
    assert client.default_profile() is None
    with pytest.raises(ProfileNotFound):
        client.set_default_profile("no such profile")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.save_profile("", TYPICAL), "profile.name"),
        (lambda c: c.save_profile("a/b", TYPICAL), "profile.name"),
        (lambda c: c.save_profile("x" * 129, TYPICAL), "profile.name"),
        (lambda c: c.save_profile("ok", TYPICAL, notes="n" * 10_001), "profile.notes"),
        (lambda c: c.save_profile("ok", TYPICAL, offset=1.5), "profile.offset"),
        (lambda c: c.save_profile("ok", {**TYPICAL, "steps": 0}), "profile.config.steps"),
        (lambda c: c.get_profile("bad/name"), "name"),
        (lambda c: c.list_profiles(page_size=5000), "page_size"),
        (lambda c: c.list_profiles(page_token="not a token"), "page_token"),
    ],
)
def test_profile_input_errors_name_the_field(client: LRToolClient, call: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        call(client)
    assert field in [v.field for v in caught.value.violations]


def test_lrtool_1_0_file_imports_and_reproduces_its_numbers(client: LRToolClient) -> None:
    original = load_json("lrtool_1_0_profile_sdxl_character.json")
    content = (pytest.importorskip("conftest").DATA / "lrtool_1_0_profile_sdxl_character.json").read_bytes()
    profile = client.import_profile(content, "from 1.0")
    assert profile.config.formula == "lrtool-1.0"
    for name, want in original["statistics"].items():
        if hasattr(profile.statistics, name) and name != "warnings":
            got = getattr(profile.statistics, name)
            assert got == want if isinstance(want, str) or want == 0 else math.isclose(got, want, rel_tol=1e-9), name
    exported = client.export_profile("from 1.0")
    assert exported.filename == "from_1.0.json"
    again = client.import_profile(exported.content, "from 1.0 again")
    assert again.statistics.recommended_lr == profile.statistics.recommended_lr


def test_malformed_profile_file_is_named(client: LRToolClient) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.import_profile(b'{"configuration": {"steps": "20x0"}}', "broken")
    fields = [v.field for v in caught.value.violations]
    assert any(field.startswith("content.configuration") for field in fields)
    with pytest.raises(InvalidArgument) as caught:
        client.import_profile(b"not json", "broken")
    assert caught.value.violations[0].field.startswith("content")


# --- Health, reflection, shutdown ----------------------------------------------------


def test_health_and_reflection(engine: RunningEngine) -> None:
    with grpc.insecure_channel(engine.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "lrtool.v1.LRToolEngine"):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = list(
            reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        )
        services = {s.name for s in answers[0].list_services_response.service}
        assert {"lrtool.v1.LRToolEngine", "grpc.health.v1.Health"} <= services


def test_graceful_shutdown_reports_not_serving_and_closes_the_store(tmp_path: Any) -> None:
    with running_engine(tmp_path / "p.sqlite3") as running, LRToolClient(running.address) as c:
        c.save_profile("kept", TYPICAL)
        health = health_pb2_grpc.HealthStub(c._channel)
        running.server.health.enter_graceful_shutdown()
        status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert running.server.wait_for_termination(0)
    from engine_server.store import SQLiteProfileStore

    with SQLiteProfileStore(tmp_path / "p.sqlite3") as store:
        assert store.get("kept").version == 1
        assert store.integrity_check() == "ok"


def test_very_many_violations_still_fit_in_a_status(client: LRToolClient) -> None:
    bad = {"model": "?" * 50, "optimizer": "?" * 50, "objective": "?", "formula": "?", "trainer": "?", "steps": -1}
    with pytest.raises(InvalidArgument) as caught:
        client.calculate_batch([calculate_request(bad) for _ in range(50)])
    violations = caught.value.violations
    assert violations[0].field == "requests[0].config.model"
    assert "more problems" in violations[-1].description
    assert len(caught.value.message) <= 1000
