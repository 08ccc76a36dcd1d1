"""ai-toolkit (ostris/ai-toolkit): a job YAML (or JSON) with `config.process[0]` holding the run.

Read as ai-toolkit reads it (toolkit/config_modules.py, toolkit/scheduler.py, toolkit/optimizer.py,
jobs/process/BaseSDTrainProcess.py):

* `network`: `linear` (or `rank`, default 4) and `linear_alpha` (default `alpha`, itself default 1.0);
* `train`: `steps` (default 1000), `lr` (default 1e-6; its YAML loader reads `1e-4` as a number),
  `batch_size` (1), `optimizer` (adamw), `lr_scheduler` (constant) with `lr_scheduler_params`;
  the LoRA trains at `lr` (unet_lr / text_encoder_lr are not used for a network);
* schedules are torch's over `steps` (cosine, cosine_with_restarts, linear from 1/3 to 1, constant)
  or diffusers' constant_with_warmup (`num_warmup_steps`, default 1000);
* `gradient_accumulation` = n batches per step; the older `gradient_accumulation_steps` = k counts
  every batch as a step, so `steps` hold steps / k optimizer steps;
* `model`: `arch`, else the flags (`is_flux`, `is_xl`, `is_v2`, `is_v3`, …), else SD 1.x;
* `datasets`: each listed `resolution` duplicates the dataset; `num_repeats` repeats it.

Images and repeats: `images` (distinct images) is asked for; `repeats` is each dataset's passes per
epoch, `num_repeats` × the number of resolutions it lists (an image trained at 768 and 1024 is seen
twice an epoch, the same image both times). Datasets repeating differently give their mean, rounded,
with a warning (the images-weighted mean when the datasets are the same size; see
`_common.settle_repeats`). `train.steps` sets the steps, so the images and repeats do not change them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine_server.name_matching import name_key

from . import _models, _names, _resolution
from ._common import Draft, Path, Section, format_number, settle_repeats, show, to_float, to_int
from ._models import Unsupported

TRAINER = "ai-toolkit"
DEFAULT_STEPS = 1000
DEFAULT_LEARNING_RATE = 1e-6
DEFAULT_RANK = 4
DEFAULT_WARMUP = 1000  # diffusers' constant_with_warmup as toolkit/scheduler.py fills it in
DEFAULT_RESOLUTION = 512

#: ai-toolkit's own optimizer spellings (toolkit/optimizer.py) the catalog does not list.
OPTIMIZER_ALIASES = {name_key("adamw8"): "adamw_8bit", name_key("adam8"): "adam_8bit"}

#: `model.arch` values and the model families they train.
_ARCHES: Mapping[str, str | Unsupported] = {
    "sd1": "sd1",
    "sd2": "sd2",
    "sdxl": "sdxl",
    "flux": "flux1",
    "flux_kontext": "flux1",
    "flux2": "flux2",
    "zimage": "zimage",
    "chroma": "chroma",
    "flex1": "flex",
    "flex2": "flex",
    "qwen_image": "qwen_image",
    "qwen_image_edit": "qwen_image",
    "qwen_image_edit_plus": "qwen_image",
    "hidream": "hidream",
    "hidream_e1": "hidream",
    "hidream_o1": "hidream_o1",
    "lumina2": "lumina2",
    "omnigen2": "omnigen2",
    "wan21": "wan",
    "wan21_i2v": "wan",
    "wan22_14b": "wan",
    "wan22_14b_i2v": "wan",
    "wan22_5b": "wan",
    "ltx2": "ltx2",
    "ltx2.3": "ltx2",
    "krea2": "krea2",
    "ideogram4": "ideogram4",
    "ernie_image": "ernie_image",
    "boogu_image": "boogu_image",
    "prx_pixel": "prx_pixel",
    "flux2_klein_4b": "flux2_klein",
    "flux2_klein_9b": "flux2_klein",
}

#: The flags ai-toolkit tests when there is no arch, in its order.
_FLAGS: tuple[tuple[str, str | Unsupported], ...] = (
    ("is_flux", "flux1"),
    ("is_v3", "sd35"),
    ("is_pixart", "pixart_sigma"),
    ("is_auraflow", "auraflow"),
    ("is_lumina2", "lumina2"),
    ("is_ssd", Unsupported("SSD-1B")),
    ("is_vega", Unsupported("Vega")),
    ("is_xl", "sdxl"),
    ("is_v2", "sd2"),
)

_SCHEDULE_PARAMETERS = {"start_factor", "end_factor", "num_warmup_steps", "total_iters"}


def read(data: Any, dataset: Mapping[str, Any] | None, draft: Draft) -> None:
    if not isinstance(data, Mapping):
        draft.problem("", f"an ai-toolkit file is a mapping with a 'config' section; got {show(data)}")
        return
    root = Section(data, draft)
    config = root.section("config")
    processes = config.sequence("process") if config is not None else []
    if config is None or not processes:
        draft.problem("config.process", "an ai-toolkit training file lists its run under config.process")
        return
    if len(processes) > 1:
        draft.warn(f"config.process lists {len(processes)} processes; LRTool reads the first")
    if not isinstance(processes[0], Mapping):
        draft.problem("config.process[0]", f"must be a mapping of settings; got {show(processes[0])}")
        return
    process = Section(processes[0], draft, ("config", "process", 0))
    train = process.section("train") or Section({}, draft, (*process.base, "train"))
    draft.set("trainer", TRAINER)
    _model(draft, process.section("model"))
    _network(draft, process.section("network"))
    _optimizer(draft, train)
    accumulation = _steps_and_accumulation(draft, train)
    _learning_rates(draft, train)
    _schedule(draft, train, accumulation)
    _datasets(draft, process)
    if dataset is not None:
        draft.warn("ai-toolkit lists its datasets in the config itself; the separate dataset file was not read")


def _model(draft: Draft, model: Section | None) -> None:
    if model is None:
        draft.miss("model", "the file has no model section; choose the base model")
        return
    arch = model.text("arch")
    family: str | Unsupported | None
    if arch:
        # "wan21:14b", "krea2:o_edit": the part before the colon names the architecture.
        family = _ARCHES.get(arch.lower().split(":")[0], Unsupported(f"the '{arch}' architecture"))
        source = f"arch {show(arch)}"
        if arch.lower() == "flux_kontext":
            draft.warn("model: FLUX.1 Kontext is modelled as FLUX.1")
    else:
        family, source = "sd1", "no arch or model flag (ai-toolkit then loads SD 1.x)"
        for flag, flagged in _FLAGS:
            if model.flag(flag):
                family, source = flagged, f"{flag}: true"
                break
    _models.settle(draft, family, [model.text("name_or_path") or ""], source)


def _network(draft: Draft, network: Section | None) -> None:
    if network is None:
        draft.warn("the file has no network section, so it does not train a LoRA; LRTool models LoRA training")
        network = Section({}, draft, ("config", "process", 0, "network"))
    _names.resolve_network(draft, network.text("type") or "lora", "network.type")
    rank = network.integer("rank") if network.has("rank") else network.integer("linear", DEFAULT_RANK)
    alpha = network.number("alpha", 1.0)
    draft.set("rank", rank)
    draft.set("alpha", network.number("linear_alpha", alpha))


def _optimizer(draft: Draft, train: Section) -> None:
    name = train.text("optimizer") or "adamw"
    _names.resolve_optimizer(draft, name, "train.optimizer", OPTIMIZER_ALIASES)


def _steps_and_accumulation(draft: Draft, train: Section) -> int:
    """Set steps, batch size and accumulation; returns k, the batches each legacy step accumulates."""
    steps = train.integer("steps", DEFAULT_STEPS) or DEFAULT_STEPS
    if not train.has("steps"):
        draft.warn(f"steps: train.steps is not set; ai-toolkit trains its default {DEFAULT_STEPS}")
    draft.set("batch_size", train.integer("batch_size", 1))
    accumulation = train.integer("gradient_accumulation", 1) or 1
    legacy = train.integer("gradient_accumulation_steps", 1) or 1
    if legacy == -1:
        draft.miss("grad_accum", "gradient_accumulation_steps -1 accumulates whole epochs; supply the batches per step")
        draft.miss("steps", "with whole-epoch accumulation the steps depend on the image count; supply them")
        return 1
    if legacy > 1:
        draft.set("steps", max(1, steps // legacy))
        draft.set("grad_accum", legacy)
        draft.warn(
            f"steps: gradient_accumulation_steps {legacy} counts every batch as a step, so train.steps {steps}"
            f" are {draft.config['steps']} optimizer steps"
        )
        return legacy
    draft.set("steps", steps)
    draft.set("grad_accum", accumulation)
    return 1


def _learning_rates(draft: Draft, train: Section) -> None:
    if train.has("lr"):
        draft.rate(train.path("lr"), train.number("lr"), primary=True)
    else:
        draft.primary_home = train.path("lr")
        draft.warn(f"train.lr is not set; ai-toolkit trains at its default {format_number(DEFAULT_LEARNING_RATE)}")
    for key in ("unet_lr", "text_encoder_lr"):
        if train.has(key):
            draft.rate(train.path(key), train.number(key), primary=False)
            draft.warn(f"train.{key} is not used for a LoRA network: ai-toolkit trains it at train.lr")
    if train.flag("train_text_encoder"):
        draft.warn("the text encoder LoRA also trains, at the same rate; LRTool models the U-Net / DiT LoRA")


def _schedule(draft: Draft, train: Section, accumulation: int) -> None:
    name = train.text("lr_scheduler") or "constant"
    parameters = train.section("lr_scheduler_params")
    options: Mapping[str, Any] = parameters.data if parameters is not None else {}
    draft.set("warmup_steps", 0)
    schedule = _names.resolve_schedule(draft, TRAINER, name.lower(), "train.lr_scheduler")
    if schedule is None:
        return
    if schedule == "constant_with_warmup":
        warmup = to_int(options.get("num_warmup_steps", DEFAULT_WARMUP))
        if warmup is None or warmup < 0:
            draft.problem((*train.path("lr_scheduler_params"), "num_warmup_steps"), "must be a whole number of steps")
            warmup = 0
        if "num_warmup_steps" not in options:
            draft.warn(f"warmup: num_warmup_steps is not set; ai-toolkit uses {DEFAULT_WARMUP} steps")
        draft.set("warmup_steps", warmup // accumulation)
    if schedule == "linear":
        for key in ("start_factor", "end_factor"):
            if key in options:
                value = to_float(options[key])
                where = (*train.path("lr_scheduler_params"), key)
                if value is None:
                    draft.problem(where, f"must be a number; got {show(options[key])}")
                else:
                    draft.set(key, value)
    if "total_iters" in options:
        draft.warn("lr_scheduler_params.total_iters: LRTool spreads the schedule over train.steps, as ai-toolkit does")
    for key in options:
        if key not in _SCHEDULE_PARAMETERS:
            draft.warn(f"lr_scheduler_params.{key} is not modelled by LRTool")


def _datasets(draft: Draft, process: Section) -> None:
    entries = process.sequence("datasets")
    edges: list[list[int]] = []
    sources: list[str] = []
    repeats_of: list[tuple[str, float]] = []
    for index, entry in enumerate(entries):
        path: Path = (*process.base, "datasets", index)
        if not isinstance(entry, Mapping):
            draft.problem(path, f"must be a mapping of settings; got {show(entry)}")
            continue
        dataset = Section(entry, draft, path)
        sizes = dataset.raw("resolution")
        listed = sizes if isinstance(sizes, list) else [sizes if sizes is not None else DEFAULT_RESOLUTION]
        edges.append([_resolution.edge(draft, size, dataset.path("resolution")) or 0 for size in listed])
        repeats = dataset.integer("num_repeats", 1) or 1
        folder = dataset.text("folder_path") or dataset.text("dataset_path") or "a dataset"
        sources.append(show(folder))
        repeats_of.append((show(folder), repeats * len(listed)))
        if len(listed) > 1:
            draft.warn(
                f"repeats: {show(folder)} lists {len(listed)} resolutions, so each image is seen"
                f" {repeats} × {len(listed)} = {repeats * len(listed)} times per epoch"
            )
    if not entries:
        draft.miss("resolution", "the file lists no datasets; supply the training resolution")
    elif all(sizes == edges[0] for sizes in edges) and all(edges[0]):
        _resolution.settle(draft, edges[0], "each dataset trains at")
    elif all(all(sizes) for sizes in edges):
        shown = "; ".join(", ".join(map(str, sizes)) for sizes in edges)
        draft.miss("resolution", f"the datasets train at different resolutions ({shown}); supply the typical one")
    where = "; ".join(sources) or "the datasets"
    draft.miss(
        "images",
        f"the file does not count the images: supply the number of distinct images in {where},"
        " not multiplied by their repeats or resolutions (repeats are a field of their own)",
    )
    if repeats_of:
        settle_repeats(draft, repeats_of)
    else:
        draft.miss("repeats", "the file lists no datasets; supply how often each image repeats per epoch")
