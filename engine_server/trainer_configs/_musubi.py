"""musubi-tuner (kohya-ss/musubi-tuner): a `--config_file` TOML and its `--dataset_config` TOML.

musubi-tuner shares sd-scripts' argument handling (training/parser_common.py, training/trainer_base.py):
sections flattened, `max_train_epochs` over `max_train_steps` (default 1600), warmup int = steps and
float = fraction, transformers schedules plus its own `rex`, `network_alpha` default 1 and
`network_dim` default 4. Differences handled here: the model is a DiT checkpoint (`dit`) trained by a
per-architecture script whose network module names it; there is no `train_batch_size` and no U-Net /
text-encoder rates: batch size, resolution (default 960×544) and repeats live only in the dataset
config (dataset/config_utils.py: [general] defaults, one [[datasets]] table per image or video folder).

Images and repeats: `images` (distinct images) is asked for; `repeats` is each dataset's
`num_repeats` ([general]'s, else 1). Datasets repeating differently give their mean, rounded, with a
warning (the images-weighted mean when the datasets are the same size; see
`_common.settle_repeats`). Without the dataset config `repeats` is asked for too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine_server.name_matching import name_key

from . import _kohya, _models, _resolution
from ._common import Draft, Section, format_number, show
from ._models import Unsupported

LABEL = "musubi-tuner"
SCHEDULES = _kohya.SD_SCRIPTS_SCHEDULES | {name_key("rex")}

#: musubi-tuner's defaults for the dataset config (dataset/config_utils.py BaseDatasetParams).
DEFAULT_RESOLUTION = (960, 544)

#: Each training script's network module, and the model it trains.
_NETWORK_FAMILIES: Mapping[str, str | Unsupported] = {
    "networks.lora": "hunyuan_video",
    "networks.lora_hv_1_5": Unsupported("HunyuanVideo 1.5"),
    "networks.lora_wan": "wan",
    "networks.lora_framepack": "framepack",
    "networks.lora_flux": "flux1",
    "networks.lora_flux_2": "flux2",
    "networks.lora_zimage": "zimage",
    "networks.lora_qwen_image": "qwen_image",
    "networks.lora_kandinsky": "kandinsky5",
    "networks.lora_krea2": "krea2",
    "networks.lora_ideogram4": "ideogram4",
    "networks.lora_hidream_o1": "hidream_o1",
}


def read(data: Mapping[str, Any], dataset: Mapping[str, Any] | None, draft: Draft) -> None:
    values, paths = _kohya.flatten(data)
    args = Section(values, draft, paths=paths)
    draft.set("trainer", _kohya.TRAINER)
    _model(draft, args)
    _kohya.read_network(draft, args, LABEL, loraplus_keys=("loraplus_lr_ratio",))  # its networks read only this one
    draft.set("grad_accum", args.integer("gradient_accumulation_steps", 1))
    found = _datasets(draft, args, dataset)
    relative_step = _kohya.read_optimizer(draft, args)
    primary = _learning_rate(draft, args, data, paths)
    _kohya.read_schedule(
        draft,
        args,
        warmup=_kohya.read_warmup(draft, args),
        learning_rate=primary,
        adafactor=relative_step,
        accepted=SCHEDULES,
        trainer_label=LABEL,
    )
    _kohya.read_steps(draft, args, found, trainer_label=LABEL)


def _model(draft: Draft, args: Section) -> None:
    module = args.text("network_module") or ""
    family = _NETWORK_FAMILIES.get(module)
    version = args.text("model_version") or ""
    source = f"network_module {show(module)}"
    if family == "flux2" and "klein" in version.lower():
        family, source = "flux2_klein", f"model_version {show(version)}"
    dit = args.text("dit") or ""
    if family == "flux1" or "kontext" in dit.lower():
        draft.warn("model: musubi-tuner trains FLUX.1 Kontext here, which LRTool models as FLUX.1")
    _models.settle(draft, family, [dit, args.text("dit_high_noise") or ""], source)


def _learning_rate(draft: Draft, args: Section, data: Mapping[str, Any], paths: Mapping[str, Any]) -> float:
    rate = args.number("learning_rate")
    for path in _kohya.occurrences(data, "learning_rate") if rate is not None else []:
        draft.rate(path, rate, primary=True)
    if rate is None:
        draft.primary_home = _kohya.home_of(paths, "learning_rate")
        rate = _kohya.DEFAULT_LEARNING_RATE
        draft.warn(f"learning_rate is not set; {LABEL} trains at its default {format_number(rate)}")
    return rate


def _datasets(draft: Draft, args: Section, dataset: Mapping[str, Any] | None) -> _kohya.Datasets:
    found = _kohya.Datasets()
    draft.dataset_name = args.text("dataset_config") or ""
    if dataset is None:
        named = f" {show(args.text('dataset_config'))}" if args.has("dataset_config") else ""
        hint = f"batch size and resolution are set in the dataset config{named}; add it or supply them"
        draft.miss("batch_size", hint)
        draft.miss("resolution", hint)
        found.repeats_hint = f"each dataset's num_repeats is set in the dataset config{named}; add it or supply them"
        return found
    root = Section(dataset, draft, ("dataset",))
    general = root.section("general") or Section({}, draft, ("dataset", "general"))
    for this in _kohya.dataset_entries(root, draft):
        where = this if this.has("batch_size") else general
        found.batch_sizes.append(where.integer("batch_size", 1) or 1)
        where = this if this.has("resolution") else general
        size = where.raw("resolution") or list(DEFAULT_RESOLUTION)
        found.edges.append(_resolution.edge(draft, size, where.path("resolution")) or 0)
        where = this if this.has("num_repeats") else general
        repeats = where.integer("num_repeats", 1) or 1
        source = next(
            (this.text(key) for key in ("image_directory", "image_jsonl_file") if this.has(key)),
            None,
        )
        if source is None:
            video = this.text("video_directory") or this.text("video_jsonl_file") or "a dataset"
            draft.warn(f"dataset {show(video)} is a video dataset; LRTool is calibrated for image LoRA training")
            source = video
        found.sources.append(show(source))
        found.repeats.append((show(source), repeats))
    found.edges = [size for size in found.edges if size]
    _kohya.settle_batch_and_resolution(draft, found)
    return found
