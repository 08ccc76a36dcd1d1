"""The run log end to end: real servers on free ports, real SQLite files (and PostgreSQL), the client."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import SEED_004_SETUP, running_engine
from test_store import _url_with, postgres_schema, postgres_url  # noqa: F401  (fixtures)

from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server.client import InvalidArgument, LRToolClient, RunNotFound, calculate_request

#: Seed 004's setup: SD1.5 at 512 px, 20 images, AdamW8bit, cosine with restarts.
SD15: dict[str, Any] = {**SEED_004_SETUP, "steps": 1200, "rank": 64, "alpha": 32.0}
#: Six runs a user might try in turn: lengths, ranks and dataset sizes vary, the family does not.
VARIANTS: list[dict[str, Any]] = [
    {"steps": 1200, "rank": 32, "alpha": 16.0},
    {"steps": 900, "rank": 64},
    {"steps": 2000, "rank": 16, "alpha": 16.0},
    {"steps": 1500, "images": 30},
    {"steps": 800, "rank": 8, "alpha": 4.0},
    {"steps": 3000, "rank": 64},
]
#: The simulated user's judgement: within 30 % of their best rate looks good, beyond 4× it blows up.
GOOD_WITHIN = 1.3
DIVERGES_ABOVE = 4.0
CHECKPOINTS = 10


@pytest.fixture(scope="module")
def runs_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_engine(tmp_path_factory.mktemp("runs") / "runs.sqlite3") as running:
        yield running.address


@pytest.fixture
def engine(runs_engine: str) -> Iterator[LRToolClient]:
    with LRToolClient(runs_engine) as client:
        yield client


def simulated_run(engine: LRToolClient, config: dict[str, Any], rate: float, best: float) -> tuple[str, int | None]:
    """How a user whose best rate is `best` for `config` judges a run at `rate`, and the checkpoint they keep.

    Overtrained runs reached the target early: the best checkpoint (one every tenth of the run)
    is the one at which `rate` delivered what `best` delivers over a run that long.
    """
    ratio = rate / best
    if ratio > DIVERGES_ABOVE:
        return "DIVERGED", None
    if ratio < 1 / GOOD_WITHIN:
        return "UNDERTRAINED", None
    if ratio <= GOOD_WITHIN:
        return "GOOD", None
    steps = config["steps"]
    checkpoints = [steps * k // CHECKPOINTS for k in range(1, CHECKPOINTS + 1)]
    shorter = engine.calculate_batch(
        [calculate_request({**config, "steps": step}, population_only=True) for step in checkpoints]
    )
    full = engine.calculate(config, population_only=True).population_lr
    # best / full is the user's factor; at step b the right rate is that factor × the population's for b steps.
    errors = [abs(math.log(rate / (best / full * result.population_lr))) for result in shorter]
    return "OVERTRAINED", checkpoints[errors.index(min(errors))]


@pytest.mark.parametrize("hidden", [0.45, 2.4])
def test_a_simulated_user_converges_within_1_5x_after_six_runs(engine: LRToolClient, hidden: float) -> None:
    log = f"simulated {hidden}"
    errors: list[float] = []
    bands: list[float] = []
    for variant in VARIANTS:
        config = {**SD15, **variant}
        result = engine.calculate(config, run_log=log)
        best = hidden * result.population_lr  # the truth, hidden from the engine
        errors.append(result.recommended_lr / best)
        bands.append(result.recommended_high / result.recommended_low)
        outcome, best_step = simulated_run(engine, config, result.recommended_lr, best)
        engine.record_run(config, result.recommended_lr, outcome=outcome, best_step=best_step, log=log)
    final = engine.calculate(SD15, run_log=log)
    error = final.recommended_lr / (hidden * final.population_lr)
    assert 1 / 1.5 < error < 1.5, (errors, error)
    assert final.personal_runs == 6 and final.personal_factor == pytest.approx(error * hidden, rel=1e-9)
    # The first run was the population's recommendation; the band narrowed with every run.
    assert errors[0] == pytest.approx(1 / hidden) and bands[0] > 4.0
    assert final.recommended_high / final.recommended_low < 0.5 * bands[0]
    # The truth lies in the band, give or take what this user can tell apart (GOOD within 30 %).
    truth = hidden * final.population_lr
    assert final.recommended_low / GOOD_WITHIN < truth < final.recommended_high * GOOD_WITHIN


def test_logs_stay_apart(engine: LRToolClient) -> None:
    engine.record_run(SD15, 3e-4, outcome="GOOD", log="alice")
    engine.record_run(SD15, 3e-5, outcome="GOOD", log="bob")
    alice = engine.calculate(SD15, run_log="alice")
    bob = engine.calculate(SD15, run_log="bob")
    untouched = engine.calculate(SD15, run_log="carol")
    assert alice.population_lr == bob.population_lr == untouched.population_lr
    assert alice.recommended_lr > untouched.recommended_lr > bob.recommended_lr
    assert untouched.personal_runs == 0 and untouched.personal_factor == 1.0
    assert [run.learning_rate for run in engine.iter_runs("alice")] == [3e-4]
    assert [run.learning_rate for run in engine.iter_runs("bob")] == [3e-5]


def test_population_only_ignores_the_log(engine: LRToolClient) -> None:
    engine.record_run(SD15, 4e-4, outcome="UNDERTRAINED", log="default")
    personal = engine.calculate(SD15)  # "" is the default log
    population = engine.calculate(SD15, population_only=True)
    assert personal.personal_runs >= 1 and personal.recommended_lr > population.recommended_lr
    assert population.recommended_lr == population.population_lr == personal.population_lr
    assert population.personal_factor == 1.0 and population.personal_runs == 0
    # The statistics follow the personal rate: offset 0 is the personal recommendation.
    assert personal.adjusted_lr == personal.recommended_lr
    assert personal.recommended_low < personal.recommended_lr < personal.recommended_high
    # The plot data's calculation learns the same way.
    assert engine.get_curves(SD15, offset=0.1).calculation == engine.calculate(SD15, offset=0.1)
    assert engine.get_curves(SD15, population_only=True).calculation == population


def test_a_best_step_halfway_lowers_the_rate(engine: LRToolClient) -> None:
    # Both lengths within the run-length factor's evidence (runs shorter than 750 steps count as 750).
    long_run = {**SD15, "steps": 3000}
    rate = engine.calculate(long_run, population_only=True).population_lr * 1.5
    engine.record_run(long_run, rate, outcome="GOOD", log="full length")
    engine.record_run(long_run, rate, outcome="GOOD", best_step=long_run["steps"] // 2, log="halfway")
    full = engine.calculate(long_run, run_log="full length").recommended_lr
    halfway = engine.calculate(long_run, run_log="halfway").recommended_lr
    assert halfway < 0.9 * full


def test_a_batch_learns_per_request_log(engine: LRToolClient) -> None:
    engine.record_run(SD15, 5e-4, outcome="GOOD", log="batch")
    requests = [
        calculate_request(SD15, run_log="batch"),
        calculate_request(SD15, run_log="batch", population_only=True),
        calculate_request({**SD15, "steps": 2400}, run_log="batch"),
        calculate_request(SD15, run_log="a log without runs"),  # the population's, on arrays
    ]
    results = engine.calculate_batch(requests)
    assert results[0].recommended_lr == engine.calculate(SD15, run_log="batch").recommended_lr
    assert results[1].personal_runs == 0 and results[0].personal_runs == results[2].personal_runs == 1
    assert results[2].personal_factor == results[0].personal_factor  # one fit for the family
    assert results[3] == engine.calculate(SD15, run_log="a log without runs") == results[1]


def test_lrtool_1_0_is_never_personalized(engine: LRToolClient) -> None:
    legacy = {**SD15, "formula": "lrtool-1.0", "scheduler": "Cosine"}
    engine.record_run(legacy, 5e-4, outcome="UNDERTRAINED", log="legacy")
    engine.record_run(SD15, 5e-4, outcome="UNDERTRAINED", log="legacy")
    result = engine.calculate(legacy, run_log="legacy")
    assert result.personal_factor == 1.0 and result.recommended_lr == result.population_lr


def test_record_list_update_delete(engine: LRToolClient) -> None:
    loss = [0.12, 0.11, math.nan, math.inf]
    first = engine.record_run(SD15, 1e-4, outcome="overtrained", best_step=800, notes="slight burning", log="crud")
    second = engine.record_run(
        {**SD15, "model": "SDXL", "resolution": 1024}, 2e-4, loss=loss, log="crud", notes="exploded"
    )
    assert first.id and int(second.id) > int(first.id)
    assert first.recorded_at.seconds > 0 and first.outcome == pb.OVERTRAINED and first.best_step == 800
    assert first.config.model == "sd15" and first.config.steps == 1200
    listed = engine.list_runs("crud", page_size=1)
    assert [run.id for run in listed.runs] == [second.id] and listed.next_page_token
    rest = engine.list_runs("crud", page_size=1, page_token=listed.next_page_token)
    assert [run.id for run in rest.runs] == [first.id] and not rest.next_page_token
    (kept,) = [run for run in engine.iter_runs("crud") if run.id == second.id]
    assert kept.loss[:2] == loss[:2] and math.isnan(kept.loss[2]) and kept.loss[3] == math.inf
    assert [run.id for run in engine.iter_runs("crud", model="Stable Diffusion XL")] == [second.id]

    updated = engine.update_run(second.id, outcome="DIVERGED", notes="NaN at step 300")
    assert updated.outcome == pb.DIVERGED and updated.notes == "NaN at step 300" and not updated.HasField("best_step")
    assert updated.learning_rate == 2e-4 and updated.config.model == "sdxl"

    engine.delete_run(first.id)
    assert [run.id for run in engine.iter_runs("crud")] == [second.id]
    with pytest.raises(RunNotFound):
        engine.delete_run(first.id)
    with pytest.raises(RunNotFound):
        engine.update_run(first.id, outcome="GOOD")
    with pytest.raises(InvalidArgument) as caught:
        engine.delete_run("run-1")
    assert caught.value.violations[0].field == "id"


SEED_CSV = b"""model,resolution,images,optimizer,scheduler,objective,rank,alpha,steps,learning_rate,outcome,best_step,\
notes
SD1.5,512,20,AdamW8bit,cosine_with_restarts,Character,64,32,1200,1.5e-4,GOOD,800,"extremely accurate"
SD1.5,512,20,AdamW8bit,cosine_with_restarts,Character,64,32,1400,1e-4,overtrained,800,"slight, noticeable burning"
SD1.5,512,20,AdamW8bit,cosine_with_restarts,Character,32,16,900,1.5e-4,,750,
"""


def test_csv_round_trip(engine: LRToolClient) -> None:
    imported = engine.import_runs(SEED_CSV, "csv source", filename="seed.csv")
    assert [run.outcome for run in imported] == [pb.GOOD, pb.OVERTRAINED, pb.OUTCOME_UNSPECIFIED]
    assert [run.best_step for run in imported] == [800, 800, 750]
    assert imported[1].notes == "slight, noticeable burning" and imported[0].config.model == "sd15"
    exported = engine.export_runs("csv source")
    assert exported.filename == "csv_source_runs.csv"
    again = engine.import_runs(exported.content, "csv copy")
    for original, copy in zip(imported, again, strict=True):
        assert copy.config == original.config and copy.learning_rate == original.learning_rate
        assert (copy.outcome, copy.best_step, copy.notes) == (original.outcome, original.best_step, original.notes)
    assert engine.export_runs("csv copy").content == exported.content
    assert engine.calculate(SD15, run_log="csv copy") == engine.calculate(SD15, run_log="csv source")


def test_csv_rows_take_what_they_leave_out_from_the_base(engine: LRToolClient) -> None:
    content = b"rank,alpha,steps,learning_rate,outcome\n64,32,1200,1.5e-4,GOOD\n16,,800,1e-4,undertrained\n"
    base = {**SD15, "alpha": 8.0, "warmup_steps": 50}
    runs = engine.import_runs(content, "based", base=base)
    assert [(run.config.rank, run.config.alpha, run.config.steps) for run in runs] == [(64, 32, 1200), (16, 8, 800)]
    assert all(run.config.model == "sd15" and run.config.warmup_steps == 50 for run in runs)


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        (b"learning_rate\nnan\n", "content.rows[1].learning_rate", "finite"),
        (b"learning_rate\ninf\n", "content.rows[1].learning_rate", "finite"),
        (b"learning_rate\n0\n", "content.rows[1].learning_rate", "above 0"),
        (b"learning_rate\n-1e-4\n", "content.rows[1].learning_rate", "above 0"),
        (b"learning_rate\n1e-4\nfast\n", "content.rows[2].learning_rate", "line 3: must be a number"),
        (b"learning_rate,best_step\n1e-4,1300\n", "content.rows[1].best_step", "from 1 to steps (1,200)"),
        (b"learning_rate,best_step\n1e-4,1e30\n", "content.rows[1].best_step", "line 2: 10000000000"),
        (b"learning_rate,rank\n1e-4,99999999999\n", "content.rows[1].rank", "line 2: cannot be 99999999999"),
        (b"learning_rate,outcome\n1e-4,GOOD\n1e-4,burned\n", "content.rows[2].outcome", "UNDERTRAINED, GOOD"),
        (b"learning_rate,steps\n1e-4,1200\n1e-4\n", "content.rows[2]", "has 1 cells but the header names 2"),
        (b"learning_rate,steps\n1e-4,0\n", "content.rows[1].steps", "line 2"),
        (b"learning_rate,speed\n1e-4,3\n", "content.columns", "'speed' is not a run column"),
        (b"rank\n16\n", "content.columns", "needs a learning_rate column"),
        (b"learning_rate\n", "content", "no runs"),
    ],
)
def test_bad_csv_names_the_row_and_field_and_imports_nothing(
    engine: LRToolClient, content: bytes, field: str, words: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        engine.import_runs(b"" + content, "refused", base=SD15)
    assert field in [v.field for v in caught.value.violations], caught.value.violations
    assert any(words in v.description for v in caught.value.violations), caught.value.violations
    assert list(engine.iter_runs("refused")) == []


def test_every_bad_row_is_named_at_once(engine: LRToolClient) -> None:
    content = b"learning_rate,outcome,best_step\n1e-4,GOOD,\nnan,GOOD,\n1e-4,maybe,\n1e-4,GOOD,99999\n"
    with pytest.raises(InvalidArgument) as caught:
        engine.import_runs(content, "refused", base=SD15)
    fields = [v.field for v in caught.value.violations]
    assert fields == ["content.rows[2].learning_rate", "content.rows[3].outcome", "content.rows[4].best_step"]
    assert list(engine.iter_runs("refused")) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"learning_rate": math.nan}, "run.learning_rate"),
        ({"learning_rate": -math.inf}, "run.learning_rate"),
        ({"learning_rate": 0.0}, "run.learning_rate"),
        ({"best_step": 1201}, "run.best_step"),
        ({"outcome": 9}, "run.outcome"),
        ({"log": " spaced "}, "run.log"),
        ({"config": {**SD15, "steps": 0}}, "run.config.steps"),
        ({"notes": "x" * 10_001}, "run.notes"),
        ({"notes": "a\x00b"}, "run.notes"),  # PostgreSQL cannot keep it, so no store does
    ],
)
def test_record_run_refuses_bad_input(engine: LRToolClient, changes: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"config": SD15, "learning_rate": 1e-4, "log": "refused", **changes}
    with pytest.raises(InvalidArgument) as caught:
        engine.record_run(arguments.pop("config"), arguments.pop("learning_rate"), **arguments)
    assert [v.field for v in caught.value.violations] == [field]
    assert list(engine.iter_runs("refused")) == []


def test_an_unknown_outcome_word_is_refused_by_the_client(engine: LRToolClient) -> None:
    with pytest.raises(InvalidArgument) as caught:
        engine.record_run(SD15, 1e-4, outcome="burned", log="refused")
    assert caught.value.violations[0].field == "outcome"


def test_bad_list_requests(engine: LRToolClient) -> None:
    with pytest.raises(InvalidArgument) as caught:
        engine.list_runs(model="no such model")
    assert caught.value.violations[0].field == "model"
    with pytest.raises(InvalidArgument) as caught:
        engine.list_runs(page_token="garbage")
    assert caught.value.violations[0].field == "page_token"
    with pytest.raises(InvalidArgument) as caught:
        engine.calculate(SD15, run_log="bad/log")
    assert caught.value.violations[0].field == "run_log"


def _store_location(backend: str, sqlite_file: Path, request: pytest.FixtureRequest) -> str:
    """Where `lrtool serve --db` finds a new store of that backend (PostgreSQL: a schema of its own)."""
    if backend == "sqlite":
        return str(sqlite_file)
    import psycopg

    url = request.getfixturevalue("postgres_url")
    schema = request.getfixturevalue("postgres_schema")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return _url_with(url, query=f"options={quote(f'-csearch_path={schema}')}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_restart_keeps_the_runs_and_what_they_taught(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = _store_location(backend, tmp_path / "restart.sqlite3", request)
    with running_engine(db) as first, LRToolClient(first.address) as engine:
        recorded = engine.import_runs(SEED_CSV, "kept")
        before = engine.calculate(SD15, run_log="kept")
    with running_engine(db) as second, LRToolClient(second.address) as engine:
        assert [run.id for run in engine.iter_runs("kept")] == [run.id for run in reversed(recorded)]
        assert engine.calculate(SD15, run_log="kept") == before
        assert before.personal_runs == 3


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_log_changed_by_another_engine_on_the_same_store_is_read_again(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """An engine keeps what it read of a log between calls; every change to the log, by itself
    or by another process writing the same store, shows in its very next calculation."""
    db = _store_location(backend, tmp_path / "shared.sqlite3", request)
    with (
        running_engine(db) as first,
        running_engine(db) as second,
        LRToolClient(first.address) as reader,
        LRToolClient(second.address) as writer,
    ):
        population = reader.calculate(SD15, run_log="shared")
        assert population.personal_runs == 0
        run = writer.record_run(SD15, 3 * population.population_lr, outcome="GOOD", log="shared")
        learned = reader.calculate(SD15, run_log="shared")
        assert learned.personal_runs == 1 and learned.recommended_lr > population.recommended_lr
        writer.update_run(run.id, outcome="DIVERGED")
        diverged = reader.calculate(SD15, run_log="shared")
        assert diverged.personal_runs == 1 and diverged.recommended_lr < learned.recommended_lr
        reader.record_run(SD15, 3 * population.population_lr, outcome="GOOD", log="shared")  # its own write
        assert reader.calculate(SD15, run_log="shared").personal_runs == 2
        writer.delete_run(run.id)
        assert reader.calculate(SD15, run_log="shared").personal_runs == 1
        assert reader.calculate(SD15, run_log="other").personal_runs == 0


def test_a_batch_reports_a_bad_log_name_beside_the_other_problems(engine: LRToolClient) -> None:
    requests = [
        calculate_request(SD15),
        calculate_request(SD15, run_log=" padded "),  # a log name may not start or end with a space
        calculate_request({**SD15, "steps": 0}),
    ]
    with pytest.raises(InvalidArgument) as caught:
        engine.calculate_batch(requests)
    assert [violation.field for violation in caught.value.violations] == [
        "requests[1].run_log",
        "requests[2].config.steps",
    ]
