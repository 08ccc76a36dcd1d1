"""The kohya_ss GUI's saved JSON (bmaltais/kohya_ss): the settings it turns into an sd-scripts run.

Read as the GUI reads it (kohya_gui/common_gui.py `update_my_data`, kohya_gui/lora_gui.py `train_model`):

* blanks are ""; on loading, numbers kept as text are converted, and a blank becomes the GUI's
  fallback (0 for steps, epochs and the warmup percentage, 1 for `lr_scheduler_num_cycles`);
* the model checkbox (`sdxl`, `flux1_checkbox`, …) picks the sd-scripts script; none means SD 1.x/2.x;
* warmup is `lr_warmup` percent of the steps, unless `lr_warmup_steps` gives steps (with a dataset
  config and known steps the GUI turns the percentage into steps itself);
* steps: `max_train_epochs` if set (sd-scripts counts them), else `max_train_steps`; if neither, the
  GUI counts images × folder repeats / batch / accumulation × `epoch` (× 2 with regularization
  images), except with a dataset config, where sd-scripts falls back to its default 1600 steps;
* a `unet_lr` or `text_encoder_lr` of 0 means "use learning_rate".

Images and repeats: `images` (distinct images) is asked for. With a dataset config, `repeats` are
its subsets' `num_repeats`, as sd-scripts reads them (subsets repeating differently: their mean,
rounded, with a warning). Without one, the repeats are the numbers the folder names in
`train_data_dir` start with ("10_name"), which the file does not hold: `repeats` is asked for too,
and the GUI's step count uses images × repeats.

Everything else follows sd-scripts (see `_kohya`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import _kohya, _models, _names
from ._common import Draft, Path, Section, format_number, show, to_float
from ._models import Unsupported

#: The model checkboxes, in the order the GUI tests them when it picks the script.
_CHECKBOXES: tuple[tuple[str, str | Unsupported], ...] = (
    ("sdxl", "sdxl"),
    ("flux1_checkbox", "flux1"),
    ("sd3_checkbox", Unsupported("Stable Diffusion 3")),
    ("hunyuan_image_checkbox", Unsupported("HunyuanImage")),
    ("anima_checkbox", Unsupported("Anima")),
    ("lumina_checkbox", Unsupported("Lumina")),
)

#: sd-scripts argument -> the GUI's key for it.
_ARGUMENTS = {
    "pretrained_model_name_or_path": "pretrained_model_name_or_path",
    "network_dim": "network_dim",
    "network_alpha": "network_alpha",
    "train_batch_size": "train_batch_size",
    "resolution": "max_resolution",
    "optimizer_type": "optimizer",
    "optimizer_args": "optimizer_args",
    "use_8bit_adam": "use_8bit_adam",
    "lr_scheduler": "lr_scheduler",
    "lr_scheduler_args": "lr_scheduler_args",
    "lr_scheduler_type": "lr_scheduler_type",
    "lr_scheduler_power": "lr_scheduler_power",
    "lr_scheduler_min_lr_ratio": "lr_scheduler_min_lr_ratio",
    "lr_scheduler_timescale": "lr_scheduler_timescale",
    "lr_decay_steps": "lr_decay_steps",
    "train_data_dir": "train_data_dir",
    "reg_data_dir": "reg_data_dir",
    "dataset_config": "dataset_config",
}


def read(data: Any, dataset: Mapping[str, Any] | None, draft: Draft) -> None:
    if not isinstance(data, Mapping):
        draft.problem("", f"a kohya_ss GUI file is a JSON object of settings; got {show(data)}")
        return
    gui = Section(data, draft)
    draft.set("trainer", _kohya.TRAINER)
    processes = max(1, gui.integer("num_processes", 1) or 1)
    values: dict[str, Any] = {name: data.get(key) for name, key in _ARGUMENTS.items()}
    paths: dict[str, Path] = {name: (key,) for name, key in _ARGUMENTS.items()}
    values["gradient_accumulation_steps"] = _loaded_int(draft, gui, "gradient_accumulation_steps", 0) or 1
    values["lr_scheduler_num_cycles"] = _loaded_int(draft, gui, "lr_scheduler_num_cycles", 1)
    values["lr_scheduler_power"] = _loaded_float(draft, gui, "lr_scheduler_power", 1.0)
    args = Section(values, draft, paths=paths)

    _model(draft, gui)
    _kohya.read_network(draft, args)
    if "LoRA_type" not in data and "network_dim" not in data:
        draft.warn("the file has no LoRA settings (a DreamBooth or fine-tuning config?); LRTool models LoRA training")
    lora_type = gui.text("LoRA_type") or "Standard"
    if gui.flag("dora_wd"):
        draft.set("network", "dora")
    else:
        _names.resolve_network(draft, lora_type, "LoRA_type")
    draft.set("grad_accum", values["gradient_accumulation_steps"])
    found = _kohya.read_datasets(draft, args, dataset)
    if processes > 1 and isinstance(draft.config.get("batch_size"), int):
        draft.set("batch_size", draft.config["batch_size"] * processes)
        draft.warn(
            f"batch_size: {processes} processes each train a batch, so one step sees {draft.config['batch_size']}"
        )
    relative_step = _kohya.read_optimizer(draft, args)
    primary = _learning_rates(draft, gui)
    warmup = _warmup(draft, gui, processes)
    _kohya.read_schedule(
        draft,
        args,
        warmup=warmup,
        learning_rate=primary,
        adafactor=relative_step,
        trainer_label="sd-scripts (run by the kohya_ss GUI)",
    )
    _steps(draft, gui, found, processes)


def _loaded_int(draft: Draft, gui: Section, key: str, fallback: int) -> int:
    """An integer setting as update_my_data loads it (see _loaded_float), truncated as int() does."""
    return int(_loaded_float(draft, gui, key, fallback))


def _loaded_float(draft: Draft, gui: Section, key: str, fallback: float) -> float:
    """A number setting as update_my_data loads it: text is converted, unreadable text becomes `fallback`."""
    value = gui.raw(key)
    if value is None:
        return fallback
    number = to_float(value)
    if number is None or isinstance(value, bool):
        draft.warn(f"{key}: the GUI replaces {show(value)} with {format_number(fallback)} when it loads the file")
        return fallback
    return number


def _model(draft: Draft, gui: Section) -> None:
    family: str | Unsupported = "sd2" if gui.flag("v2") else "sd1"
    source = "v2 = true" if gui.flag("v2") else "no model checkbox (train_network.py)"
    for key, checked in _CHECKBOXES:
        if gui.flag(key):
            family, source = checked, f"{key} = true"
            break
    names = [gui.text("pretrained_model_name_or_path") or ""]
    model_list = gui.text("model_list") or ""
    if model_list != "custom":
        names.append(model_list)
    _models.settle(draft, family, names, source)


def _learning_rates(draft: Draft, gui: Section) -> float:
    """learning_rate, unet_lr and text_encoder_lr (0 = use learning_rate), t5xxl_lr; returns the U-Net rate."""
    rates = {key: _loaded_float(draft, gui, key, 0.0) for key in ("learning_rate", "unet_lr", "text_encoder_lr")}
    rates["t5xxl_lr"] = gui.number("t5xxl_lr", 0.0) or 0.0
    primary_key = "unet_lr" if rates["unet_lr"] else "learning_rate"
    for key, value in rates.items():
        if key in gui.data and (value or key == primary_key):
            draft.rate((key,), value, primary=key == primary_key)
    if primary_key not in gui.data:
        draft.primary_home = (primary_key,)
    primary = rates[primary_key]
    if not primary:
        draft.warn("learning_rate: no learning rate is set (the GUI refuses to train without one)")
    unet_only = rates["text_encoder_lr"] == 0 and rates["unet_lr"] != 0  # as the GUI decides it
    if not unet_only:
        _kohya.warn_text_encoder(draft, rates["text_encoder_lr"] or rates["learning_rate"], primary)
    return primary


def _warmup(draft: Draft, gui: Section, processes: int) -> int | float:
    """The GUI's resolve_lr_warmup_steps: explicit steps win, else the percentage as a fraction."""
    steps = gui.number("lr_warmup_steps", 0.0) or 0.0
    percent = _loaded_int(draft, gui, "lr_warmup", 0)
    max_steps = _loaded_int(draft, gui, "max_train_steps", 0)
    warmup: int | float = 0
    if steps > 0:
        warmup = int(steps)
    elif percent and gui.has("dataset_config") and max_steps > 0:
        warmup = round(percent * max_steps / 100)
    elif percent:
        warmup = percent / 100.0
    if processes > 1 and isinstance(warmup, int) and warmup:
        # accelerate steps the schedule once per process and optimizer step
        warmup = round(warmup / processes)
        draft.warn(f"warmup: {processes} processes step the schedule together: {warmup} optimizer steps")
    return warmup


def _steps(draft: Draft, gui: Section, found: _kohya.Datasets, processes: int) -> None:
    label = "sd-scripts"
    draft.miss("images", _kohya.images_hint(found))
    _kohya.settle_dataset_repeats(draft, found, "subsets" if found.described else "folders")
    max_epochs = _loaded_int(draft, gui, "max_train_epochs", 0)
    max_steps = _loaded_int(draft, gui, "max_train_steps", 0)
    if max_epochs > 0:
        _kohya.epochs_from_images(draft, max_epochs, regularized=found.regularized, processes=processes, label=label)
    elif max_steps > 0:
        draft.set("steps", max_steps)
    elif gui.has("dataset_config"):
        draft.set("steps", _kohya.DEFAULT_STEPS)
        draft.warn(
            "steps: max_train_steps and max_train_epochs are blank and a dataset config is used, so the GUI"
            f" does not count steps from 'epoch' and sd-scripts trains its default {_kohya.DEFAULT_STEPS} steps"
        )
    else:
        _gui_counted_steps(draft, _loaded_int(draft, gui, "epoch", 0), found.regularized, processes)


def _gui_counted_steps(draft: Draft, epochs: int, regularized: bool, processes: int) -> None:
    """The GUI's own count: ceil(images × repeats / batch / accumulation × epoch × regularization factor)."""

    def count(samples: int, batch: int, accumulation: int) -> tuple[int, str]:
        factor = 2 if regularized else 1
        per_device = max(1, batch // processes)
        steps = math.ceil(samples / per_device / accumulation * epochs * factor)
        return steps, (
            f"{samples} / batch {per_device} / accumulation {accumulation} × {epochs} epochs"
            f"{' × 2 (regularization images)' if regularized else ''} = {steps}, as the GUI counts them"
        )

    missing = f"epoch {epochs}: the GUI counts the steps from the images and their repeats"
    draft.steps_from_image_count(missing, count)
