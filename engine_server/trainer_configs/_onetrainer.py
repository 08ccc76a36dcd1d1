"""OneTrainer (Nerogar/OneTrainer): a training preset or saved config, JSON.

Presets are partial: an absent key takes OneTrainer's default (modules/util/config/TrainConfig.py
`default_values`). Read as OneTrainer runs it (modules/util/create.py `create_lr_scheduler`,
modules/util/NamedParameterGroup.py, mgds' batch sorting):

* total steps = int(epoch length × epochs / accumulation), the epoch length being the full batches
  per epoch, images // batch_size (per aspect bucket);
* `learning_rate_warmup_steps`: above 1 it is steps (divided by the accumulation), from 0 to 1 a
  fraction of the steps; warmup shifts the schedule; `learning_rate_min_factor` lifts it;
* each model part (`unet`, `transformer`, `text_encoder`, …) trains at its own `learning_rate`, or at
  the top-level one when that is null; `learning_rate_scaler` multiplies every rate by √scale
  (BATCH: batch size, GRADIENT_ACCUMULATION: accumulation, BOTH: their product);
* `resolution` "1024", "512,768,1024" (each image takes one of them) or "1024x768" (fixed size).

The concepts (images and their repeats) live in a separate concepts file or inline under `concepts`.

Images and repeats: `images` (distinct images) is asked for; `repeats` is each enabled concept's
`balancing` with `balancing_strategy` REPEATS (its default; validation concepts do not train). A
fractional balancing is rounded (LRTool's repeats are whole passes) and concepts repeating
differently give their mean, rounded, with a warning (the images-weighted mean when the concepts are
the same size; see `_common.settle_repeats`); steps are still counted with the unrounded value. A
concept balanced by SAMPLES (a number of samples per epoch, whatever its size) repeats samples /
images times, and without the concepts the balancing is unknown: `repeats` is then asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from engine_server.name_matching import name_key

from . import _models, _names, _resolution
from ._common import Draft, Section, format_number, settle_repeats, show, to_float
from ._models import Unsupported

TRAINER = "onetrainer"

#: OneTrainer's defaults (TrainConfig.default_values) for what a preset leaves out.
DEFAULTS: Mapping[str, Any] = {
    "model_type": "STABLE_DIFFUSION_15",
    "base_model_name": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "training_method": "FINE_TUNE",
    "peft_type": "LORA",
    "learning_rate": 3e-6,
    "learning_rate_scheduler": "CONSTANT",
    "learning_rate_warmup_steps": 200.0,
    "learning_rate_cycles": 1.0,
    "learning_rate_min_factor": 0.0,
    "learning_rate_scaler": "NONE",
    "epochs": 100,
    "batch_size": 1,
    "gradient_accumulation_steps": 1,
    "resolution": "512",
    "lora_rank": 16,
    "lora_alpha": 1.0,
    "optimizer": "ADAMW",
}

#: model_type -> family, and what the inpainting / older variants are modelled as.
_MODEL_TYPES: Mapping[str, str] = {
    "STABLE_DIFFUSION_15": "sd1",
    "STABLE_DIFFUSION_15_INPAINTING": "sd1",
    "STABLE_DIFFUSION_20": "sd2",
    "STABLE_DIFFUSION_20_BASE": "sd2",
    "STABLE_DIFFUSION_20_INPAINTING": "sd2",
    "STABLE_DIFFUSION_20_DEPTH": "sd2",
    "STABLE_DIFFUSION_21": "sd2",
    "STABLE_DIFFUSION_21_BASE": "sd2",
    "STABLE_DIFFUSION_XL_10_BASE": "sdxl",
    "STABLE_DIFFUSION_XL_10_BASE_INPAINTING": "sdxl",
    "FLUX_DEV_1": "flux1",
    "FLUX_FILL_DEV_1": "flux1",
    "FLUX_2": "flux2",
    "Z_IMAGE": "zimage",
    "STABLE_DIFFUSION_3": "sd35",
    "STABLE_DIFFUSION_35": "sd35",
    "WUERSTCHEN_2": "stable_cascade",
    "STABLE_CASCADE_1": "stable_cascade",
    "PIXART_ALPHA": "pixart_sigma",
    "PIXART_SIGMA": "pixart_sigma",
    "SANA": "sana",
    "HUNYUAN_VIDEO": "hunyuan_video",
    "HI_DREAM_FULL": "hidream",
    "CHROMA_1": "chroma",
    "QWEN": "qwen_image",
    "QWEN_IMAGE_EDIT": "qwen_image",
    "ANIMA": "anima",
    "KREA_2": "krea2",
    "ERNIE": "ernie_image",
    "IDEOGRAM_4": "ideogram4",
    "WAN_T2V": "wan",
    "WAN_I2V": "wan",
    "KANDINSKY_5": "kandinsky5",
}
#: The model types that are exactly a catalog model (the others are variants of one).
_EXACT_MODEL_TYPES = {"STABLE_DIFFUSION_15", "STABLE_DIFFUSION_21", "STABLE_DIFFUSION_XL_10_BASE", "FLUX_DEV_1"}
_EXACT_MODEL_TYPES |= {"FLUX_2", "Z_IMAGE", "STABLE_DIFFUSION_35", "PIXART_SIGMA", "SANA", "HUNYUAN_VIDEO"}
_EXACT_MODEL_TYPES |= {"HI_DREAM_FULL", "CHROMA_1", "QWEN", "ANIMA", "KREA_2", "ERNIE", "IDEOGRAM_4"}

#: The model part holding the U-Net / DiT, and the text encoders each family has.
_DENOISER = {"sd1": "unet", "sd2": "unet", "sdxl": "unet", "flux1": "transformer", "flux2": "transformer"}
_DENOISER |= {"zimage": "transformer"}
_TEXT_ENCODERS = {
    "sd1": ("text_encoder",),
    "sd2": ("text_encoder",),
    "sdxl": ("text_encoder", "text_encoder_2"),
    "flux1": ("text_encoder", "text_encoder_2"),
    "flux2": ("text_encoder",),
    "zimage": ("text_encoder",),
}

#: OneTrainer optimizer names the catalog lists under another name: its "advanced" variants
#: (adv_optm) of optimizers the catalog has, which take the same rates.
OPTIMIZER_ALIASES = {
    name_key(name): optimizer
    for name, optimizer in (
        ("ADAMW_ADV", "adamw"),
        ("ADOPT_ADV", "adopt"),
        ("LION_ADV", "lion"),
        ("PRODIGY_ADV", "prodigy"),
        ("LION_PRODIGY_ADV", "prodigy"),
        ("MUON_ADV", "muon"),
        ("ADAMUON_ADV", "adamuon"),
    )
}

_SCALES = {"NONE", "BATCH", "GLOBAL_BATCH", "GRADIENT_ACCUMULATION", "BOTH", "GLOBAL_BOTH"}


def read(data: Any, dataset: Any, draft: Draft) -> None:
    if not isinstance(data, Mapping):
        draft.problem("", f"a OneTrainer config is a JSON object of settings; got {show(data)}")
        return
    config = Section(data, draft)
    draft.set("trainer", TRAINER)

    def value(key: str) -> Any:
        return config.raw(key) if config.has(key) else DEFAULTS[key]

    if str(value("training_method")).upper() != "LORA":
        draft.warn(f"training_method {show(value('training_method'))}: LRTool models LoRA training")
    peft_type = str(value("peft_type")).upper()
    if peft_type == "LORA" and config.flag("lora_decompose"):
        draft.set("network", "dora")  # OneTrainer's weight-decomposed LoRA
    else:
        _names.resolve_network(draft, peft_type, "peft_type")
    family = _model(draft, config, value)
    rank = config.integer("lora_rank", DEFAULTS["lora_rank"])
    alpha = config.number("lora_alpha", DEFAULTS["lora_alpha"])
    batch = config.integer("batch_size", DEFAULTS["batch_size"]) or 1
    accumulation = config.integer("gradient_accumulation_steps", DEFAULTS["gradient_accumulation_steps"]) or 1
    draft.set("rank", rank)
    draft.set("alpha", alpha)
    draft.set("batch_size", batch)
    draft.set("grad_accum", accumulation)
    _resolutions(draft, config, str(value("resolution")))
    _optimizer(draft, config)
    _schedule(draft, config, accumulation)
    _steps(draft, config)
    _learning_rates(draft, config, family, batch, accumulation)
    _images_and_repeats(draft, data, dataset)
    if config.flag("multi_gpu"):
        draft.warn("multi_gpu: LRTool counts one GPU's batch; each step sees it once per GPU")


def _model(draft: Draft, config: Section, value: Callable[[str], Any]) -> str | None:
    model_type = str(value("model_type"))
    if not config.has("model_type"):
        draft.warn(f"model_type is not set; OneTrainer's default is {DEFAULTS['model_type']}")
    family = _MODEL_TYPES.get(model_type)
    if family is not None and model_type not in _EXACT_MODEL_TYPES:
        draft.warn(f"model_type {show(model_type)} is modelled as its base model")
    _models.settle(
        draft,
        family if family is not None else Unsupported(model_type),
        [str(value("base_model_name"))],
        f"model_type {show(model_type)}",
    )
    return family


def _resolutions(draft: Draft, config: Section, text: str) -> None:
    path = config.path("resolution")
    if "x" in text.lower() and "," not in text:
        size = _resolution.edge(draft, text, path)  # a fixed width x height
        if size:
            draft.set("resolution", size)
        return
    sizes = [_resolution.edge(draft, part, path) for part in text.split(",") if part.strip()]
    if sizes and all(sizes):
        _resolution.settle(draft, [size for size in sizes if size], "OneTrainer trains each image at one of")
    elif not sizes:
        draft.problem(path, f"must be a size like 1024 or sizes like 512,768,1024; got {show(text)}")


def _optimizer(draft: Draft, config: Section) -> None:
    raw = config.raw("optimizer")
    settings = config.section("optimizer") if isinstance(raw, Mapping) else None
    if settings is not None:
        name = settings.text("optimizer") or DEFAULTS["optimizer"]
        where = "optimizer.optimizer"
    elif raw is None:
        name, where = DEFAULTS["optimizer"], "optimizer"
    else:
        name, where = config.text("optimizer") or DEFAULTS["optimizer"], "optimizer"
    _names.resolve_optimizer(draft, name, where, OPTIMIZER_ALIASES)
    if settings is not None and name_key(name) == "adafactor" and settings.flag("relative_step"):
        draft.warn("optimizer.relative_step: Adafactor then scales the rate itself; LRTool models a fixed rate")


def _schedule(draft: Draft, config: Section, accumulation: int) -> None:
    name = config.text("learning_rate_scheduler") or DEFAULTS["learning_rate_scheduler"]
    warmup = config.number("learning_rate_warmup_steps", DEFAULTS["learning_rate_warmup_steps"]) or 0.0
    if not config.has("learning_rate_warmup_steps"):
        draft.warn(f"warmup: learning_rate_warmup_steps is not set; OneTrainer warms up for {int(warmup)} steps")
    if warmup > 1:
        draft.set("warmup_steps", int(warmup / accumulation))
    elif warmup == 1:
        draft.problem(
            config.path("learning_rate_warmup_steps"),
            "1 is a fraction in OneTrainer: the warmup would last the whole run",
        )
    elif warmup > 0:
        draft.set("warmup_fraction", warmup)
    else:
        draft.set("warmup_steps", 0)
    schedule = _names.resolve_schedule(draft, TRAINER, name, "learning_rate_scheduler")
    if schedule is None:
        return
    cycles = config.number("learning_rate_cycles", DEFAULTS["learning_rate_cycles"])
    floor = config.number("learning_rate_min_factor", DEFAULTS["learning_rate_min_factor"])
    for parameter, number in (("num_cycles", cycles), ("min_lr_ratio", floor)):
        if number is not None and _names.takes(TRAINER, schedule, parameter):
            draft.set(parameter, number)


def _steps(draft: Draft, config: Section) -> None:
    epochs = config.integer("epochs", DEFAULTS["epochs"]) or 0
    if not config.has("epochs"):
        draft.warn(f"epochs is not set; OneTrainer trains {epochs} epochs")

    def count(samples: int, batch: int, accumulation: int) -> tuple[int, str]:
        steps = int((samples // batch) * epochs / accumulation)
        return steps, (
            f"{epochs} epochs of {samples // batch} full batches with accumulation {accumulation}"
            f" = {steps} steps, as OneTrainer counts them (per aspect bucket there may be fewer)"
        )

    draft.steps_from_image_count(f"{epochs} epochs: the steps follow from the images and their repeats", count)


def _learning_rates(draft: Draft, config: Section, family: str | None, batch: int, accumulation: int) -> None:
    scaler = (config.text("learning_rate_scaler") or DEFAULTS["learning_rate_scaler"]).upper()
    factor = {"BATCH": batch, "GLOBAL_BATCH": batch, "GRADIENT_ACCUMULATION": accumulation}.get(scaler, 1)
    if scaler in ("BOTH", "GLOBAL_BOTH"):
        factor = batch * accumulation
    if scaler not in _SCALES:
        draft.problem(config.path("learning_rate_scaler"), f"must be one of {', '.join(sorted(_SCALES))}")
    draft.scale = math.sqrt(factor)
    if factor != 1:
        draft.warn(
            f"learning_rate_scaler {scaler}: OneTrainer trains at the file's rates × √{factor}"
            f" = × {draft.scale:.4g}; export writes the rate divided by that"
        )
    base = config.number("learning_rate") if config.has("learning_rate") else None
    denoiser = _DENOISER.get(family or "", "unet")
    part = config.section(denoiser)
    own = part.number("learning_rate") if part is not None and part.has("learning_rate") else None
    if own is not None and part is not None:
        draft.rate(part.path("learning_rate"), own, primary=True)
    if base is not None:
        draft.rate(config.path("learning_rate"), base, primary=own is None)
    elif own is None:
        draft.primary_home = config.path("learning_rate")
        draft.warn(
            f"learning_rate is not set; OneTrainer trains at its default {format_number(DEFAULTS['learning_rate'])}"
        )
    effective_base = base if base is not None else DEFAULTS["learning_rate"]
    primary = own if own is not None else effective_base
    for name in _TEXT_ENCODERS.get(family or "", ()):
        encoder = config.section(name)
        rate = encoder.number("learning_rate") if encoder is not None and encoder.has("learning_rate") else None
        if encoder is not None and rate is not None:
            draft.rate(encoder.path("learning_rate"), rate, primary=False)
        trains = encoder.flag("train", True) if encoder is not None else True
        if trains:
            shown = "the same rate" if (rate or effective_base) == primary else format_number(rate or effective_base)
            draft.warn(f"{name} LoRA also trains, at {shown}; LRTool models the U-Net / DiT LoRA")
    if config.has("embedding_learning_rate"):
        draft.rate(config.path("embedding_learning_rate"), config.number("embedding_learning_rate"), primary=False)


def _images_and_repeats(draft: Draft, data: Mapping[str, Any], dataset: Any) -> None:
    """`images` asked for; `repeats` from the concepts' balancing when every concept repeats (not samples)."""
    concepts = dataset if isinstance(dataset, list) else data.get("concepts")
    sources: list[str] = []
    repeats: list[tuple[str, float]] = []
    sampled: list[str] = []
    for concept in concepts if isinstance(concepts, list) else []:
        if not isinstance(concept, Mapping) or not concept.get("enabled", True):
            continue
        if str(concept.get("type", "STANDARD")).upper() == "VALIDATION":
            continue
        name = show(str(concept.get("path", "a concept")))
        balancing = to_float(concept.get("balancing", 1.0))
        strategy = str(concept.get("balancing_strategy", "REPEATS")).upper()
        sources.append(name)
        if balancing is None or balancing <= 0:
            draft.warn(f"repeats: concept {name} has balancing {show(concept.get('balancing'))}, not a number above 0")
            sampled.append(name)
        elif strategy == "SAMPLES":
            sampled.append(f"{name} ({format_number(balancing)} samples per epoch)")
        else:
            repeats.append((name, balancing))
    concept_file = data.get("concept_file_name", "training_concepts/concepts.json")
    where = f" ({'; '.join(sources)})" if sources else f" (the concepts in {show(concept_file)})"
    draft.miss(
        "images",
        f"the file does not count the images: supply the number of distinct images{where},"
        " not multiplied by their repeats (repeats are a field of their own)",
    )
    if sampled:
        draft.miss(
            "repeats",
            f"concepts balanced by samples per epoch, not repeats: {'; '.join(sampled)}; supply repeats as"
            " the samples per epoch of all concepts / their distinct images, rounded",
        )
    elif repeats:
        settle_repeats(draft, repeats, "concepts")
    else:
        draft.miss(
            "repeats",
            f"each concept's balancing is set in {show(concept_file)}; add that file or supply the repeats",
        )
