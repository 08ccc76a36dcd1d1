"""The ComfyUI node pack, loaded the way ComfyUI loads it, against a real engine."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import RunningEngine

from engine_server.client import LRToolClient

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "comfy_nodes"
WORKFLOWS = PACK / "example_workflows"
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}


def load_pack(custom_nodes: Path) -> ModuleType:
    """Link the pack into a custom_nodes folder and import it as ComfyUI's load_custom_node does."""
    custom_nodes.mkdir(parents=True, exist_ok=True)
    link = custom_nodes / "lrtool"
    if not link.exists():
        link.symlink_to(PACK, target_is_directory=True)
    module_name = str(link).replace(".", "_x_")
    spec = importlib.util.spec_from_file_location(module_name, link / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def pack(engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LRTOOL_ENGINE", engine.address)
        patch.setenv("LRTOOL_AUTOSTART", "0")
        yield load_pack(tmp_path_factory.mktemp("comfy") / "custom_nodes")


@pytest.fixture(scope="module")
def catalog(engine: RunningEngine) -> Any:
    with LRToolClient(engine.address) as client:
        return client.get_catalog()


def node(pack: ModuleType, name: str) -> Any:
    return pack.NODE_CLASS_MAPPINGS[name]


def defaults(node_class: Any) -> dict[str, Any]:
    """What a freshly placed node sends: every widget at its default."""
    types = node_class.INPUT_TYPES()
    values = {}
    for section in ("required", "optional"):
        for name, spec in types.get(section, {}).items():
            if len(spec) > 1 and "default" in spec[1]:
                values[name] = spec[1]["default"]
    return values


def recommend(pack: ModuleType, **changes: Any) -> dict[str, Any]:
    node_class = node(pack, "LRToolRecommendLR")
    result: dict[str, Any] = node_class().recommend(**{**defaults(node_class), **changes})
    return result


# --- Loading and the shape of every node -----------------------------------------------------


def test_pack_loads_like_a_custom_node(pack: ModuleType) -> None:
    assert set(pack.NODE_CLASS_MAPPINGS) == {
        "LRToolRecommendLR",
        "LRToolEvaluateLR",
        "LRToolLoadProfile",
        "LRToolSaveProfile",
        "LRToolRecordRun",
    }
    assert set(pack.NODE_DISPLAY_NAME_MAPPINGS) == set(pack.NODE_CLASS_MAPPINGS)
    for node_id, display in pack.NODE_DISPLAY_NAME_MAPPINGS.items():
        assert node_id.startswith("LRTool") and display.startswith("LRTool ")
    web = PACK / pack.WEB_DIRECTORY
    assert any(web.glob("*.js"))


def test_client_only(pack: ModuleType) -> None:
    """The pack talks to the engine through the client: the engine itself is never imported."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in PACK.glob("*.py"))
    assert "engine_server.engine" not in source and "from engine_server import engine" not in source
    assert "engine_server.server" not in source and "engine_server.store" not in source


@pytest.mark.parametrize(
    "node_id", ["LRToolRecommendLR", "LRToolEvaluateLR", "LRToolLoadProfile", "LRToolSaveProfile", "LRToolRecordRun"]
)
def test_node_declarations(pack: ModuleType, node_id: str) -> None:
    cls = node(pack, node_id)
    assert cls.CATEGORY == "LRTool"
    assert cls.DESCRIPTION
    assert callable(getattr(cls(), cls.FUNCTION))
    assert len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES) == len(cls.OUTPUT_TOOLTIPS)
    assert all(cls.OUTPUT_TOOLTIPS)
    custom_types = {t for other in pack.NODE_CLASS_MAPPINGS.values() for t in other.RETURN_TYPES}
    custom_types.add("LOSS_MAP")  # an output of ComfyUI's own Train LoRA node
    types = cls.INPUT_TYPES()
    assert set(types) <= {"required", "optional", "hidden"}
    for section in ("required", "optional"):
        for name, spec in types.get(section, {}).items():
            kind, options = spec[0], spec[1]
            assert options.get("tooltip"), f"{node_id}.{name} has no tooltip"
            if isinstance(kind, list):
                assert kind and all(isinstance(option, str) for option in kind), name
                assert len(set(kind)) == len(kind), f"{name} lists an option twice"
                assert options["default"] in kind, name
            elif kind in ("INT", "FLOAT"):
                number = int if kind == "INT" else (int, float)
                for key in ("default", "min", "max"):
                    assert isinstance(options[key], number) and not isinstance(options[key], bool), (name, key)
                assert options["min"] <= options["default"] <= options["max"], name
                assert options.get("step", 1) > 0
            elif kind == "STRING":
                assert isinstance(options.get("default", ""), str)
            elif kind == "BOOLEAN":
                assert isinstance(options["default"], bool)
            else:
                assert kind in custom_types, f"{node_id}.{name}: {kind} comes from no LRTool output"


def test_output_layout_feeds_the_trainer(pack: ModuleType) -> None:
    for node_id in ("LRToolRecommendLR", "LRToolLoadProfile"):
        cls = node(pack, node_id)
        outputs = dict(zip(cls.RETURN_NAMES, cls.RETURN_TYPES, strict=True))
        assert outputs == {
            "learning_rate": "FLOAT",
            "stability": "FLOAT",
            "efficiency": "FLOAT",
            "report": "STRING",
            "steps": "INT",
            "batch_size": "INT",
            "grad_accum": "INT",
            "rank": "INT",
            "config": "LRTOOL_CONFIG",
        }
    evaluate = node(pack, "LRToolEvaluateLR")
    assert evaluate.RETURN_NAMES == ("stability", "efficiency", "band", "report")
    assert node(pack, "LRToolSaveProfile").OUTPUT_NODE is True


# --- Combos and ranges equal the engine's catalog -----------------------------------------


def test_combos_equal_the_catalog(pack: ModuleType, catalog: Any) -> None:
    required = node(pack, "LRToolRecommendLR").INPUT_TYPES()["required"]
    assert required["model"][0] == [model.display_name for model in catalog.models]
    assert required["optimizer"][0] == [optimizer.display_name for optimizer in catalog.optimizers]
    assert required["objective"][0] == [objective.display_name for objective in catalog.objectives]
    assert required["trainer"][0] == [trainer.id for trainer in catalog.trainers]
    assert required["formula"][0] == [formula.id for formula in catalog.formula_sets]
    schedules = [s.id for owner in [*catalog.trainers, *catalog.formula_sets] for s in owner.schedules]
    assert sorted(required["scheduler"][0]) == sorted(set(schedules))
    assert required["trainer"][1]["default"] == catalog.default_trainer
    assert required["formula"][1]["default"] == catalog.default_formula


def test_ranges_equal_the_catalog(pack: ModuleType, catalog: Any) -> None:
    types = node(pack, "LRToolRecommendLR").INPUT_TYPES()
    inputs = {**types["required"], **types["optional"]}
    ranges = {entry.field: entry for entry in catalog.input_ranges}
    for name in ("resolution", "steps", "images", "batch_size", "grad_accum", "rank"):
        assert inputs[name][0] == "INT"
        assert (inputs[name][1]["min"], inputs[name][1]["max"]) == (ranges[name].minimum, ranges[name].maximum)
    for name in ("alpha", "warmup_fraction", "offset"):
        low, high = inputs[name][1]["min"], inputs[name][1]["max"]
        assert ranges[name].minimum <= low and high == ranges[name].maximum
    parameters = {
        p.name for owner in [*catalog.trainers, *catalog.formula_sets] for s in owner.schedules for p in s.parameters
    }
    assert parameters <= set(types["optional"]), "every schedule parameter has an input"


def test_snapshot_matches_the_live_catalog(pack: ModuleType, catalog: Any) -> None:
    snapshot = pack.nodes.cat.load_snapshot()
    assert snapshot == catalog, (
        "comfy_nodes/catalog_snapshot.json is stale: run `python -m comfy_nodes.make_catalog_snapshot`"
    )


def test_snapshot_is_used_when_no_engine_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Any) -> None:
    monkeypatch.setenv("LRTOOL_ENGINE", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("LRTOOL_AUTOSTART", "0")
    offline = load_pack(tmp_path / "custom_nodes")
    required = offline.NODE_CLASS_MAPPINGS["LRToolRecommendLR"].INPUT_TYPES()["required"]
    assert required["model"][0] == [model.display_name for model in catalog.models]
    assert not offline.connection.catalog_is_live()


# --- Running the nodes against the engine ----------------------------------------------------


def test_recommend(pack: ModuleType, client: LRToolClient) -> None:
    out = recommend(pack, model="SDXL", steps=1500, images=30, batch_size=2, grad_accum=3, rank=16, alpha=8.0)
    lr, stability, efficiency, report, steps, batch_size, grad_accum, rank, settings = out["result"]
    expected = client.calculate(settings["config"], offset=0.0)
    assert lr == expected.adjusted_lr
    assert (stability, efficiency) == (expected.stability_score, expected.efficiency_score)
    assert (steps, batch_size, grad_accum, rank) == (1500, 2, 3, 16)
    assert settings["config"]["model"] == "SDXL" and settings["offset"] == 0.0
    assert "warmup_steps" not in settings["config"] and "num_cycles" not in settings["config"]
    assert f"{lr:.3e}" in report and "Safe" in report
    assert out["ui"]["text"][0].startswith(f"LR {lr:.3e}")


def test_recommend_offset_and_schedule_parameters(pack: ModuleType, client: LRToolClient) -> None:
    config = {"scheduler": "cosine_with_restarts", "warmup_fraction": 0.1, "num_cycles": 3.0, "offset": 0.2}
    lr, *_, settings = recommend(pack, **config)["result"]
    assert settings["config"]["num_cycles"] == 3.0 and settings["offset"] == 0.2
    direct = client.calculate({**settings["config"]}, offset=0.2)
    assert lr == pytest.approx(direct.recommended_lr * 1.2, rel=1e-12)
    default_cycles = client.calculate({**settings["config"], "num_cycles": 1.0})
    assert direct.recommended_lr != default_cycles.recommended_lr
    steps_warmup = recommend(pack, scheduler="cosine", warmup_steps=150)["result"][8]
    assert steps_warmup["config"]["warmup_steps"] == 150 and "warmup_fraction" not in steps_warmup["config"]


def test_recommend_other_trainer_and_formula(pack: ModuleType) -> None:
    onetrainer = recommend(pack, trainer="onetrainer", scheduler="cosine_with_hard_restarts", min_lr_ratio=0.1)
    assert onetrainer["result"][0] > 0
    legacy = recommend(pack, formula="lrtool-1.0", scheduler="cosine_restarts", warmup_fraction=0.1)
    assert legacy["result"][0] > 0


@pytest.mark.parametrize(
    ("changes", "clamped_to"),
    [
        # The energy formula set reaches rates outside TrainLoraNode's range with these extremes.
        (
            {"steps": 10_000_000, "images": 1, "batch_size": 4096, "rank": 4096, "alpha": 0.01, "formula": "energy"},
            1e-7,
        ),
        (
            {"model": "SD1.5", "resolution": 64, "steps": 1, "images": 10_000_000, "rank": 1, "alpha": 4096.0}
            | {"formula": "energy"},
            1.0,
        ),
    ],
)
def test_learning_rate_is_clamped_to_the_trainer_range(
    pack: ModuleType, client: LRToolClient, changes: dict[str, Any], clamped_to: float
) -> None:
    out = recommend(pack, **changes)
    lr, stability, _, report, *_, settings = out["result"]
    assert lr == clamped_to
    assert client.calculate(settings["config"]).adjusted_lr != clamped_to
    assert stability == client.calculate(settings["config"], learning_rate=clamped_to).stability_score
    assert "clamped" in report and "clamped" in out["ui"]["text"][0]


def test_engine_rejections_become_node_errors(pack: ModuleType) -> None:
    with pytest.raises(Exception, match=r"warmup_fraction: schedule 'constant' .* takes no warmup") as caught:
        recommend(pack, scheduler="constant", warmup_fraction=0.1)
    assert "config." not in str(caught.value)
    with pytest.raises(Exception, match=r"steps: must be an integer from 1 to 10,000,000; got -5"):
        recommend(pack, steps=-5)  # a linked value ComfyUI does not range-check


def test_validate_inputs(pack: ModuleType) -> None:
    validate = node(pack, "LRToolRecommendLR").VALIDATE_INPUTS
    assert validate("cosine", "huggingface", "energy") is True
    assert validate("cosine_restarts", "huggingface", "lrtool-1.0") is True
    assert validate("cosine", None, "energy") is True  # linked: checked when the node runs
    message = validate("polynomial", "onetrainer", "energy")
    assert isinstance(message, str) and "not a schedule of trainer 'onetrainer'" in message
    message = validate("adafactor", "huggingface", "energy")
    assert isinstance(message, str) and "computed inside the optimizer" in message
    assert "not one of" in validate("nope", "huggingface", "energy")
    assert node(pack, "LRToolSaveProfile").VALIDATE_INPUTS("  ") == "name: give the profile a name"
    assert node(pack, "LRToolSaveProfile").VALIDATE_INPUTS("mine") is True


def test_evaluate(pack: ModuleType, client: LRToolClient) -> None:
    lr, *_, settings = recommend(pack, model="FLUX.1", objective="Style")["result"]
    evaluate = node(pack, "LRToolEvaluateLR")
    out = evaluate().evaluate(config=settings, learning_rate=lr * 1.6)
    stability, efficiency, band, report = out["result"]
    direct = client.calculate(settings["config"], learning_rate=lr * 1.6)
    assert (stability, efficiency, band) == (direct.stability_score, direct.efficiency_score, direct.risk_band)
    assert "offset +0.600" in report
    with pytest.raises(Exception, match="connect the config output"):
        evaluate().evaluate(config=None, learning_rate=1e-4)


def test_save_and_load_profiles(pack: ModuleType, client: LRToolClient) -> None:
    save, load = node(pack, "LRToolSaveProfile"), node(pack, "LRToolLoadProfile")
    recommended = recommend(pack, model="Pony (SDXL)", rank=32, alpha=16.0, offset=-0.1)["result"]
    settings = recommended[8]
    assert save.IS_CHANGED(name="comfy pony") == "missing"
    saved = save().save(config=settings, name="comfy pony", overwrite=True, notes="from ComfyUI")
    assert saved["result"] == ("comfy pony", 1)
    stored = client.get_profile("comfy pony")
    assert stored.offset == pytest.approx(-0.1) and stored.notes == "from ComfyUI"
    fingerprint = save.IS_CHANGED(name="comfy pony")
    save().save(config=settings, name="comfy pony", overwrite=True, notes="from ComfyUI")
    assert save.IS_CHANGED(name="comfy pony") == fingerprint  # same content: ComfyUI need not save again
    with pytest.raises(Exception, match="already exists; switch overwrite on"):
        save().save(config=settings, name="comfy pony", overwrite=False)

    loaded = load().load(name="comfy pony")
    assert loaded["result"][:3] == recommended[:3] and loaded["result"][4:8] == recommended[4:8]
    assert "profile 'comfy pony' (version 2): from ComfyUI" in loaded["result"][3]
    assert "LRTool: Pony (SDXL) · Character · AdamW" in loaded["result"][3]  # display names, not stored ids
    version = load.IS_CHANGED(name="comfy pony")
    client.save_profile("comfy pony", settings["config"], offset=0.3)
    assert load.IS_CHANGED(name="comfy pony") != version  # saved elsewhere: the node runs again
    assert load().load(name="comfy pony")["result"][0] > recommended[0]

    client.set_default_profile("comfy pony")
    assert load().load(name="")["result"][8]["config"]["model"] == "pony"
    with pytest.raises(Exception, match="no profile named 'missing one'"):
        load().load(name="missing one")
    assert math.isnan(load.IS_CHANGED(name=None))


def train_lora_loss_map(
    steps: int,
    grad_accumulation_steps: int = 1,
    *,
    blow_up_at: float | None = None,
    nan_at: int | None = None,
    seed: int = 7,
) -> dict[str, list[float]]:
    """A loss map as ComfyUI's TrainLoraNode returns it: {"loss": [...]}, one float per micro-step, appended
    by its TrainSampler's loss_callback(loss.item()). Diffusion losses jump with each step's random noise level."""
    rng = random.Random(seed)
    loss_map: dict[str, list[float]] = {"loss": []}

    def loss_callback(loss: float) -> None:
        loss_map["loss"].append(loss)

    total = steps * grad_accumulation_steps
    for index in range(total):
        level = rng.random()  # percent_to_sigma(torch.rand(1)) in the trainer
        loss = 0.02 + 0.25 * level * level * (1.0 - 0.3 * index / total)
        if blow_up_at is not None and index >= blow_up_at * total:
            loss *= 1.0 + 40.0 * (index / total - blow_up_at)
        if nan_at is not None and index >= nan_at:
            loss = math.nan
        loss_callback(loss)
    return loss_map  # fmt: skip


def test_record_run_records_learns_and_updates(pack: ModuleType, client: LRToolClient) -> None:
    record = node(pack, "LRToolRecordRun")
    lr, _, _, _, steps, _, grad_accum, _, settings = recommend(
        pack, model="SD1.5", resolution=512, steps=600, images=20, grad_accum=2
    )["result"]
    loss = train_lora_loss_map(steps, grad_accum)
    assert len(loss["loss"]) == 1200 and divergence_of(pack, loss) is None

    out = record().record(config=settings, learning_rate=lr, loss=loss, steps=steps, outcome="undertrained",
                          notes="weak likeness", log="comfy runs")  # fmt: skip
    run_id, outcome, next_rate, report = out["result"]
    (stored,) = client.iter_runs("comfy runs")
    assert stored.id == run_id and outcome == "undertrained" and stored.outcome == 1  # UNDERTRAINED
    assert stored.learning_rate == lr and list(stored.loss) == loss["loss"] and stored.notes == "weak likeness"
    assert stored.config.steps == 600 and stored.config.model == "sd15"
    after = client.calculate(settings["config"], run_log="comfy runs")
    assert next_rate == after.recommended_lr > lr and after.personal_runs == 1
    assert f"recorded run {run_id} in log 'comfy runs'" in report and "run " in out["ui"]["text"][0]

    # Looked at the samples, changed the outcome, queued again: the same run is updated.
    again = record().record(config=settings, learning_rate=lr, loss=loss, steps=steps, outcome="good",
                            best_step=500, notes="fine after all", log="comfy runs")  # fmt: skip
    assert again["result"][0] == run_id and f"updated run {run_id}" in again["result"][3]
    (updated,) = client.iter_runs("comfy runs")
    assert updated.outcome == 2 and updated.best_step == 500 and updated.notes == "fine after all"

    # The default log is what Recommend LR learns from: ComfyUI reruns it once the log changed.
    changed = node(pack, "LRToolRecommendLR").IS_CHANGED
    log_state = changed()
    before = recommend(pack, model="SD1.5", resolution=512, steps=600, images=20, grad_accum=2)["result"][0]
    record().record(config=settings, learning_rate=lr * 3, loss=train_lora_loss_map(steps, grad_accum, seed=8),
                    steps=steps, outcome="overtrained")  # fmt: skip
    after_default = recommend(pack, model="SD1.5", resolution=512, steps=600, images=20, grad_accum=2)["result"][0]
    assert after_default != before and changed() != log_state


@pytest.mark.parametrize(
    ("loss", "flag"),
    [
        (
            lambda: train_lora_loss_map(400, nan_at=250),
            "the loss is NaN or infinite at 150 of 400 points (first at point 251)",
        ),
        (lambda: train_lora_loss_map(400, blow_up_at=0.5), "the loss rose from a median"),
    ],
)
def test_record_run_flags_a_diverged_loss_itself(pack: ModuleType, client: LRToolClient, loss: Any, flag: str) -> None:
    lr, *_, settings = recommend(pack, model="SDXL", steps=400)["result"]
    log = "diverged NaN" if "NaN" in flag else "diverged explosion"
    out = node(pack, "LRToolRecordRun")().record(
        config=settings, learning_rate=lr * 10, loss=loss(), steps=400, outcome="good", log=log
    )
    run_id, outcome, _, report = out["result"]
    assert outcome == "diverged" and f"flagged as diverged: {flag}" in report
    assert "⚠ diverged loss" in out["ui"]["text"][0]
    (stored,) = client.iter_runs(log)
    assert stored.id == run_id and stored.outcome == 4  # DIVERGED
    if "NaN" in flag:
        assert math.isnan(stored.loss[300]) and len(stored.loss) == 400


def test_record_run_refuses_what_is_not_a_training(pack: ModuleType) -> None:
    record = node(pack, "LRToolRecordRun")
    lr, *_, settings = recommend(pack)["result"]
    with pytest.raises(Exception, match="connect the loss output"):
        record().record(config=settings, learning_rate=lr, loss=[0.1, 0.2], steps=2000, outcome="good")
    with pytest.raises(Exception, match="learning_rate: must be a finite number above 0"):
        record().record(config=settings, learning_rate=math.nan, loss={"loss": [0.1]}, steps=2000, outcome="good")
    with pytest.raises(Exception, match=r"run.best_step: must be a step of the run, from 1 to steps \(2,000\)"):
        record().record(config=settings, learning_rate=lr, loss={"loss": [0.1]}, steps=2000, outcome="good",
                        best_step=5000, log="refused")  # fmt: skip
    with pytest.raises(Exception, match="connect the config output"):
        record().record(config=None, learning_rate=lr, loss={"loss": [0.1]}, steps=2000, outcome="good")


def divergence_of(pack: ModuleType, loss_map: dict[str, list[float]]) -> str | None:
    nodes = sys.modules[f"{pack.__name__}.nodes"]
    result: str | None = nodes.divergence(nodes.loss_values(loss_map))
    return result


def test_example_workflows(pack: ModuleType, client: LRToolClient) -> None:
    api = json.loads((WORKFLOWS / "api" / "lrtool_train_lora.json").read_text(encoding="utf-8"))
    ui = json.loads((WORKFLOWS / "lrtool_train_lora.json").read_text(encoding="utf-8"))
    recommend_id = next(key for key, value in api.items() if value["class_type"] == "LRToolRecommendLR")
    names = node(pack, "LRToolRecommendLR").RETURN_NAMES
    trainer = next(value for value in api.values() if value["class_type"] == "TrainLoraNode")
    wiring = {
        "learning_rate": "learning_rate",
        "steps": "steps",
        "batch_size": "batch_size",
        "grad_accumulation_steps": "grad_accum",
        "rank": "rank",
    }
    for trainer_input, output in wiring.items():
        assert trainer["inputs"][trainer_input] == [recommend_id, names.index(output)]
    saver = next(value for value in api.values() if value["class_type"] == "SaveLoRANode")
    assert saver["inputs"]["lora"][0] == next(key for key, value in api.items() if value is trainer)
    # the run is recorded from what fed the trainer and what it returned
    trainer_id = next(key for key, value in api.items() if value is trainer)
    recorder = next(value for value in api.values() if value["class_type"] == "LRToolRecordRun")
    assert recorder["inputs"]["config"] == [recommend_id, names.index("config")]
    assert recorder["inputs"]["learning_rate"] == [recommend_id, names.index("learning_rate")]
    assert recorder["inputs"]["loss"] == [trainer_id, 2] and recorder["inputs"]["steps"] == [trainer_id, 3]
    record_specs = node(pack, "LRToolRecordRun").INPUT_TYPES()
    assert set(recorder["inputs"]) == {*record_specs["required"], *record_specs["optional"]}
    assert recorder["inputs"]["outcome"] in record_specs["required"]["outcome"][0]

    # the LRTool node's values are valid widget values, and it runs
    inputs = api[recommend_id]["inputs"]
    types = node(pack, "LRToolRecommendLR").INPUT_TYPES()
    specs = {**types["required"], **types["optional"]}
    assert set(inputs) == set(specs)
    for name, value in inputs.items():
        kind, options = specs[name]
        if isinstance(kind, list):
            assert value in kind, name
        elif kind in ("INT", "FLOAT"):
            assert options["min"] <= value <= options["max"], name
    lr = node(pack, "LRToolRecommendLR")().recommend(**inputs)["result"][0]
    assert 1e-7 <= lr <= 1.0

    # the UI format holds the same graph
    ui_nodes = {str(n["id"]): n for n in ui["nodes"]}
    for key, value in api.items():
        assert ui_nodes[key]["type"] == value["class_type"]
    links = {(str(link[1]), link[2], str(link[3])) for link in ui["links"]}
    for key, value in api.items():
        for linked in (v for v in value["inputs"].values() if isinstance(v, list)):
            assert (linked[0], linked[1], key) in links
    widgets = ui_nodes[recommend_id]["widgets_values"]
    assert widgets == [inputs[name] for name in specs]


# --- Connection: auto-start, switched off, not local ----------------------------------------------


def test_auto_start_of_a_local_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("LRTOOL_ENGINE", f"127.0.0.1:{port}")
    monkeypatch.delenv("LRTOOL_AUTOSTART", raising=False)
    monkeypatch.setenv("LRTOOL_DB", str(tmp_path / "profiles.sqlite3"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    started = load_pack(tmp_path / "custom_nodes")
    try:
        required = started.NODE_CLASS_MAPPINGS["LRToolRecommendLR"].INPUT_TYPES()["required"]  # ComfyUI lists nodes
        assert started.connection.catalog_is_live()
        engine = started.connection._started[f"127.0.0.1:{port}"]
        assert engine.process.poll() is None
        assert engine.log_path.is_file()
        if sys.platform.startswith("linux"):
            assert engine.log_path.is_relative_to(tmp_path / "state")
        assert required["model"][1]["default"] == "SDXL"
        out = started.NODE_CLASS_MAPPINGS["LRToolRecommendLR"]().recommend(
            **defaults(node(started, "LRToolRecommendLR"))
        )
        assert out["result"][0] > 0
        assert (tmp_path / "profiles.sqlite3").exists()
    finally:
        started.connection.stop_started_engines()
    assert engine.process.poll() is not None


def test_auto_start_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRTOOL_ENGINE", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("LRTOOL_AUTOSTART", "0")
    offline = load_pack(tmp_path / "custom_nodes")
    with pytest.raises(Exception, match=r"does not answer and starting one is switched off \(LRTOOL_AUTOSTART=0\)"):
        offline.NODE_CLASS_MAPPINGS["LRToolRecommendLR"]().recommend(**defaults(node(offline, "LRToolRecommendLR")))
    assert not offline.connection._started


def test_unreachable_engine_that_is_not_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A Unix socket nobody listens on: not a loopback HOST:PORT, and no traffic leaves the machine.
    monkeypatch.setenv("LRTOOL_ENGINE", f"unix:{tmp_path / 'nobody.sock'}")
    monkeypatch.delenv("LRTOOL_AUTOSTART", raising=False)
    remote = load_pack(tmp_path / "custom_nodes")
    with pytest.raises(Exception, match=r"does not answer\. The LRTool nodes start an engine only at a loopback"):
        remote.NODE_CLASS_MAPPINGS["LRToolLoadProfile"]().load(name="any")
    assert not remote.connection._started
    assert remote.connection.is_loopback("127.0.0.2") and remote.connection.is_loopback("::1")
    assert remote.connection.is_loopback("localhost")
    assert not remote.connection.is_loopback("10.1.2.3") and not remote.connection.is_loopback("engine.example")
    assert remote.connection.split_address("[::1]:6000") == ("::1", 6000)
    assert remote.connection.split_address("localhost") == ("localhost", 50051)


def test_a_token_for_a_remote_plaintext_engine_is_a_message_for_the_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRTOOL_ENGINE", "192.0.2.7:50051")
    monkeypatch.setenv("LRTOOL_TOKEN", "team-token")
    for name in ("LRTOOL_INSECURE", "LRTOOL_CA_FILE", "LRTOOL_TLS"):
        monkeypatch.delenv(name, raising=False)
    remote = load_pack(tmp_path / "custom_nodes")
    with pytest.raises(Exception, match=r"LRTool engine: refusing to send the token in clear text to 192\.0\.2\.7"):
        remote.NODE_CLASS_MAPPINGS["LRToolLoadProfile"]().load(name="any")
    assert not remote.connection._started


# --- The whole repository in custom_nodes/ (Comfy registry, or a git clone there) --------------------

#: Run in a fresh interpreter: hide the installed lrtool (a registry install has only its
#: dependencies), load the copy's root __init__.py as ComfyUI's load_custom_node does, run a node.
REGISTRY_LOAD = """
import importlib.util, json, os, sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if not (f if isinstance(f, type) else type(f)).__module__.startswith("__editable__")]
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.abspath(sys.argv[2])]
assert importlib.util.find_spec("engine_server") is None, "lrtool is still importable"
folder = sys.argv[1]
name = folder.replace(".", "_x_")
spec = importlib.util.spec_from_file_location(name, os.path.join(folder, "__init__.py"))
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
recommend = module.NODE_CLASS_MAPPINGS["LRToolRecommendLR"]
types = recommend.INPUT_TYPES()
values = {key: spec[1]["default"] for section in ("required", "optional")
          for key, spec in types.get(section, {}).items() if len(spec) > 1 and "default" in spec[1]}
import engine_server
print(json.dumps({
    "nodes": sorted(module.NODE_CLASS_MAPPINGS),
    "web": os.path.abspath(os.path.join(folder, module.WEB_DIRECTORY)),
    "pack": sys.modules[name + ".comfy_nodes"].__file__,
    "engine_server": engine_server.__file__,
    "learning_rate": recommend().recommend(**values)["result"][0],
}))
"""


def test_the_repository_root_loads_as_a_custom_node(engine: RunningEngine, tmp_path: Path) -> None:
    folder = tmp_path / "custom_nodes" / "lrtool-0.1.0"  # a dotted name, as registry folders have
    folder.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copy2(ROOT / "__init__.py", folder / "__init__.py")
    shutil.copy2(ROOT / "pyproject.toml", folder / "pyproject.toml")
    for package in ("comfy_nodes", "engine_server"):
        shutil.copytree(ROOT / package, folder / package, ignore=ignore)
    environment = {**os.environ, "LRTOOL_ENGINE": engine.address, "LRTOOL_AUTOSTART": "0", "PYTHONPATH": ""}
    finished = subprocess.run(
        [sys.executable, "-c", REGISTRY_LOAD, str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    loaded = json.loads(finished.stdout.strip().splitlines()[-1])
    assert loaded["nodes"] == [
        "LRToolEvaluateLR",
        "LRToolLoadProfile",
        "LRToolRecommendLR",
        "LRToolRecordRun",
        "LRToolSaveProfile",
    ]
    assert Path(loaded["pack"]).is_relative_to(folder) and Path(loaded["engine_server"]).is_relative_to(folder)
    assert any(Path(loaded["web"]).glob("*.js"))
    assert loaded["learning_rate"] > 0


# --- Install into a ComfyUI ---------------------------------------------------------------------------


def fake_comfy(root: Path) -> Path:
    (root / "custom_nodes").mkdir(parents=True)
    (root / "main.py").write_text("", encoding="utf-8")
    (root / "nodes.py").write_text("", encoding="utf-8")
    return root


def recording_python(path: Path, log: Path) -> Path:
    """An interpreter that records pip calls (instead of installing) and runs everything else."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$@" >> "{log}"; exit 0; fi\n'
        f'exec "{sys.executable}" "$@"\n',
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


@pytest.mark.skipif(os.name == "nt", reason="POSIX shell stand-in for ComfyUI's Python")
def test_install_into_comfyui(pack: ModuleType, tmp_path: Path) -> None:
    install = importlib.import_module(f"{pack.__name__}.install")
    comfy = fake_comfy(tmp_path / "ComfyUI")
    log = tmp_path / "pip.log"
    recording_python(comfy / "venv" / "bin" / "python", log)  # ComfyUI's own venv is found

    message = install.install(comfy)
    link = comfy / "custom_nodes" / "lrtool"
    assert link.is_symlink() and link.resolve() == PACK
    assert log.read_text(encoding="utf-8").split() == ["-m", "pip", "install", "--quiet", "-e", str(ROOT)]
    assert str(comfy / "venv" / "bin" / "python") in message and "found in the ComfyUI folder" in message
    assert "already linked" in install.install(comfy, python=str(comfy / "venv" / "bin" / "python"))

    with pytest.raises(install.InstallError, match="is not a ComfyUI checkout"):
        install.install(tmp_path)
    with pytest.raises(install.InstallError, match="is not a directory"):
        install.install(tmp_path / "nowhere")
    other = fake_comfy(tmp_path / "Other")
    (other / "custom_nodes" / "lrtool").mkdir()
    with pytest.raises(install.InstallError, match="already exists and is not a link"):
        install.install(other, python=str(comfy / "venv" / "bin" / "python"))
    with pytest.raises(install.InstallError, match="cannot run"):
        install.install(other, python=str(tmp_path / "no-python"))
