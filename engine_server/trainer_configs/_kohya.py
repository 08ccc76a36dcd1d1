"""kohya sd-scripts: a `--config_file` TOML and its `--dataset_config` TOML.

The rules are sd-scripts' own (library/train_util.py, library/config_util.py, train_network.py):

* every section of the config TOML is flattened into one set of arguments; section names do not
  matter, a later key wins; values are used as written (argparse does not convert them);
* steps: `max_train_epochs` × ceil(batches per epoch / processes / gradient_accumulation_steps) when
  epochs are set, else `max_train_steps` (default 1600); batches per epoch = ceil(images × repeats /
  batch), doubled with regularization images;
* `lr_warmup_steps`: an int is steps, a float a fraction of the steps; `lr_decay_steps` likewise;
* schedules are transformers' / diffusers' (`get_scheduler_fix`): cosine never gets num_cycles,
  cosine_with_restarts gets `lr_scheduler_num_cycles`, cosine_with_min_lr and warmup_stable_decay
  get half of it; `lr_scheduler_args` add keyword arguments;
* Adafactor with relative_step (its default) replaces the schedule with Adafactor's own;
* `network_dim` defaults to 4 and `network_alpha` to 1 (networks/lora.py);
* the dataset config falls back subset → dataset → [general] → command line (`train_batch_size`
  is `batch_size`, `dataset_repeats` is `num_repeats`).

Images and repeats: no file counts the images, so `images` (the distinct training images) is asked
for; `repeats` is read: each training subset's `num_repeats` (regularization subsets only double the
batches), or `dataset_repeats` for an `in_json` image list. Subsets repeating differently give their
mean, rounded, with a warning (the images-weighted mean when the subsets are the same size; see
`_common.settle_repeats`). Without a dataset config the DreamBooth folders of `train_data_dir` carry
the repeats in their names ("10_name" repeats 10 times), which the file does not hold: `repeats` is
then asked for too. Steps from epochs count images × repeats samples per epoch, as sd-scripts does.

The kohya_ss GUI and musubi-tuner read through the same functions.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine_server.engine import catalog
from engine_server.name_matching import name_key

from . import _models, _names, _resolution
from ._common import Draft, Path, Section, format_number, settle_repeats, show, to_bool, to_float, to_int
from ._models import Unsupported

TRAINER = "huggingface"

#: sd-scripts' defaults (argparse) for what a file may leave out.
DEFAULT_STEPS = 1600
DEFAULT_LEARNING_RATE = 2e-6
DEFAULT_RANK = 4
DEFAULT_ALPHA = 1.0

#: Schedules sd-scripts accepts by name (transformers' SchedulerType, diffusers' piecewise_constant).
SD_SCRIPTS_SCHEDULES = frozenset(
    name_key(name)
    for name in (
        "constant",
        "constant_with_warmup",
        "linear",
        "cosine",
        "cosine_with_restarts",
        "polynomial",
        "inverse_sqrt",
        "cosine_with_min_lr",
        "warmup_stable_decay",
        "piecewise_constant",
    )
)

#: sd-scripts spellings the catalog does not list itself.
OPTIMIZER_ALIASES = {name_key("PagedAdamW"): "adamw", name_key("PagedAdamW32bit"): "adamw"}

#: Network modules that train something other than a plain LoRA, or a model LRTool does not calibrate.
_NETWORK_FAMILIES: Mapping[str, str | Unsupported] = {
    "networks.lora_flux": "flux1",
    "networks.oft_flux": "flux1",
    "networks.lora_sd3": "sd35",
    "networks.lora_lumina": "lumina2",
    "networks.lora_hunyuan_image": Unsupported("HunyuanImage"),
    "networks.lora_anima": "anima",
}


# --- The config TOML -----------------------------------------------------------------


def flatten(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Path]]:
    """sd-scripts' read_config_from_file: every section's keys in one namespace, later keys winning."""
    values: dict[str, Any] = {}
    paths: dict[str, Path] = {}
    for name, content in data.items():
        if isinstance(content, Mapping):
            for key, value in content.items():
                values[key] = value
                paths[key] = (name, key)
        else:
            values[name] = content
            paths[name] = (name,)
    return values, paths


def occurrences(data: Mapping[str, Any], key: str) -> list[Path]:
    """Every place `key` is set in a sectioned TOML (export sets them all, so no stale copy remains)."""
    found: list[Path] = [(key,)] if key in data and not isinstance(data[key], Mapping) else []
    for name, content in data.items():
        if isinstance(content, Mapping) and key in content:
            found.append((name, key))
    return found


def home_of(paths: Mapping[str, Path], key: str) -> Path:
    """Where a missing optimizer key belongs: beside optimizer_type or lr_scheduler, else at the top."""
    for neighbour in ("optimizer_type", "lr_scheduler", "learning_rate", "unet_lr"):
        if neighbour in paths:
            return (*paths[neighbour][:-1], key)
    return (key,)


def read(data: Mapping[str, Any], dataset: Mapping[str, Any] | None, draft: Draft) -> None:
    """An sd-scripts `--config_file` TOML (with its dataset TOML when given)."""
    values, paths = flatten(data)
    args = Section(values, draft, paths=paths)
    draft.set("trainer", TRAINER)
    read_model(draft, args)
    read_network(draft, args)
    draft.set("grad_accum", args.integer("gradient_accumulation_steps", 1))
    datasets = read_datasets(draft, args, dataset)
    relative_step = read_optimizer(draft, args)
    primary = read_learning_rates(draft, args, data, paths)
    read_schedule(draft, args, warmup=read_warmup(draft, args), learning_rate=primary, adafactor=relative_step)
    read_steps(draft, args, datasets)


def read_model(draft: Draft, args: Section) -> None:
    module = args.text("network_module") or ""
    family: str | Unsupported | None = _NETWORK_FAMILIES.get(module)
    source = f"network_module {show(module)}"
    if family is None and args.flag("v2"):
        family, source = "sd2", "v2 = true"
    if family is None and args.has("ae") and args.has("t5xxl"):
        family, source = "flux1", "the FLUX autoencoder and T5 settings"
    _models.settle(draft, family, [args.text("pretrained_model_name_or_path") or ""], source)


#: LyCORIS algorithms (network_args algo=…) and the network types they train; its default is "lora",
#: which adapts convolutions too (LoCon).
_LYCORIS_ALGORITHMS = {"lora": "locon", "locon": "locon", "loha": "loha", "lokr": "lokr"}


#: LoRA+ ratios for the U-Net / DiT, the specific one first: sd-scripts' networks (lora.py,
#: lora_flux.py …) and LyCORIS read them from network_args only (top-level keys are ignored).
LORAPLUS_RATIO_KEYS = ("loraplus_unet_lr_ratio", "loraplus_lr_ratio")


#: sd-scripts' per-block settings of networks.lora (SD1.x / SDXL), which override the network's
#: rank, alpha or rate for the blocks they name.
BLOCK_ARGUMENTS = (
    "block_dims", "block_alphas", "conv_block_dims", "conv_block_alphas",
    "down_lr_weight", "mid_lr_weight", "up_lr_weight",
)  # fmt: skip


def network_arguments(args: Section) -> dict[str, str]:
    """network_args ["algo=lokr", "conv_dim=8", …] as a mapping."""
    found = {}
    for item in args.sequence("network_args"):
        if isinstance(item, str) and "=" in item:
            key, _, value = item.partition("=")
            found[key.strip().lower()] = value.strip()
    return found


def read_network(
    draft: Draft, args: Section, label: str = "sd-scripts", loraplus_keys: tuple[str, ...] = LORAPLUS_RATIO_KEYS
) -> None:
    module = args.text("network_module") or ""
    extra = network_arguments(args)
    if extra.get("dora_wd", "").lower() == "true":
        draft.set("network", "dora")
    elif module.startswith("lycoris"):
        algorithm = extra.get("algo", "lora").lower()
        _names.resolve_network(draft, _LYCORIS_ALGORITHMS.get(algorithm, algorithm), f"LyCORIS algo {show(algorithm)}:")
    elif "conv_dim" in extra:
        draft.set("network", "locon")  # kohya's LoRA with conv_dim adapts the 3×3 convolutions: LoCon
    else:
        draft.set("network", "lora")
    draft.set("rank", args.integer("network_dim", DEFAULT_RANK))
    draft.set("alpha", args.number("network_alpha", DEFAULT_ALPHA))
    if not args.has("network_dim"):
        draft.warn(f"rank: network_dim is not set; {label} uses {DEFAULT_RANK}")
    by_block = [key for key in BLOCK_ARGUMENTS if key in extra] if module == "networks.lora" else []
    if by_block:
        draft.warn(
            f"network: network_args {', '.join(by_block)} set ranks, alphas or rates block by block; LRTool reads"
            " network_dim, network_alpha and learning_rate as the whole network's, so the blocks set apart train"
            " otherwise than the recommendation assumes"
        )
    ratio = loraplus_ratio(extra, loraplus_keys)
    if ratio is not None:
        draft.warn(
            f"network: LoRA+ (loraplus ratio {format_number(ratio)}) trains the B (up) matrices at"
            f" {format_number(ratio)}× learning_rate; LRTool's recommendation is for plain LoRA, where A and B share"
            " one rate (no public preset to fit LoRA+ on), so this run changes its weights faster than the scores"
            " assume"
        )
    rank, alpha = draft.config.get("rank"), draft.config.get("alpha")
    rs_lora = module.startswith("lycoris") and to_bool(extra.get("rs_lora"))
    if rs_lora and rank and alpha and rank < catalog.FULL_MATRIX_RANK:  # a full matrix has no alpha scale
        draft.warn(
            f"alpha: rs_lora scales updates by alpha / √rank, not alpha / rank; LRTool reads alpha as alpha / rank,"
            f" so alpha {format_number(alpha)} at rank {rank} trains as alpha {format_number(alpha * math.sqrt(rank))}"
            " would: enter that to describe this run"
        )


def loraplus_ratio(network_args: Mapping[str, str], keys: tuple[str, ...]) -> float | None:
    """The ratio of B's rate to learning_rate that LoRA+ sets for the U-Net / DiT; None when LoRA+ is off."""
    for key in keys:
        ratio = to_float(network_args.get(key))
        if ratio is not None and ratio > 0 and ratio != 1:
            return ratio
    return None


def keyword_arguments(draft: Draft, args: Section, key: str) -> dict[str, Any]:
    """`optimizer_args` / `lr_scheduler_args`: "name=value" items, values read as Python literals."""
    result: dict[str, Any] = {}
    for item in args.strings(key):
        name, separator, text = item.partition("=")
        if not separator or not name.strip():
            draft.problem(args.path(key), f"each item must look like name=value; got {show(item)}")
            continue
        try:
            result[name.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            result[name.strip()] = text.strip()
    return result


def read_optimizer(draft: Draft, args: Section) -> bool:
    """Set `optimizer`; True when Adafactor runs its own relative-step schedule."""
    name = args.text("optimizer_type") or ""
    if args.flag("use_8bit_adam"):
        name = "AdamW8bit"
    elif args.flag("use_lion_optimizer"):
        name = "Lion"
    name = name or "AdamW"
    _names.resolve_optimizer(draft, name, "optimizer_type", OPTIMIZER_ALIASES)
    if name_key(name) != "adafactor":
        return False
    options = keyword_arguments(draft, args, "optimizer_args")
    return to_bool(options.get("relative_step", True)) is not False or to_bool(options.get("warmup_init")) is True


def read_warmup(draft: Draft, args: Section, key: str = "lr_warmup_steps") -> int | float:
    """sd-scripts' warmup: an int is steps, a float a fraction of the run (values are used as written)."""
    value = args.raw(key)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and 0.0 <= value < 1.0:
        return value
    if isinstance(value, float) and value >= 1.0:
        draft.problem(
            args.path(key),
            f"a decimal number is a fraction of the steps in sd-scripts, so {format_number(value)} would warm up"
            f" for the whole run; write {int(value)} for {int(value)} steps",
        )
        return 0
    draft.problem(args.path(key), f"must be a whole number of steps or a fraction below 1; got {show(value)}")
    return 0


def set_warmup(draft: Draft, warmup: int | float) -> None:
    if isinstance(warmup, float):
        draft.set("warmup_fraction", warmup)
    else:
        draft.set("warmup_steps", warmup)


def read_schedule(
    draft: Draft,
    args: Section,
    *,
    warmup: int | float,
    learning_rate: float | None,
    adafactor: bool = False,
    accepted: frozenset[str] = SD_SCRIPTS_SCHEDULES,
    trainer_label: str = "sd-scripts",
) -> None:
    """The transformers / diffusers schedule sd-scripts (or musubi-tuner) builds, with its parameters."""
    optimizer = catalog.OPTIMIZERS.get(draft.config.get("optimizer", ""))
    if optimizer is not None and optimizer.schedule_free:
        # get_scheduler_fix gives a schedule-free optimizer a dummy scheduler: the rate stays constant.
        draft.set("warmup_steps", 0)
        draft.set("scheduler", "constant")
        named = args.text("lr_scheduler_type") or args.text("lr_scheduler")
        if (named and named.lower() != "constant") or warmup:
            draft.warn(
                f"scheduler: {trainer_label} runs {optimizer.display_name} at a constant rate and ignores"
                f" lr_scheduler {show(named or 'constant')} and its warmup; read as constant"
            )
        return
    set_warmup(draft, warmup)
    custom = args.text("lr_scheduler_type")
    if custom:
        draft.miss(
            "scheduler",
            f"lr_scheduler_type {show(custom)} is a custom scheduler class; LRTool cannot integrate it",
        )
        return
    name = (args.text("lr_scheduler") or "constant").lower()
    if adafactor:
        reason = catalog.TRAINERS.by_id(TRAINER).refused_schedules.by_id("adafactor").reason
        draft.miss("scheduler", f"optimizer_type Adafactor runs with relative_step (its default): {reason}")
        return
    if name.startswith("adafactor"):  # "adafactor:<initial lr>", sd-scripts' spelling of that schedule
        _names.resolve_schedule(draft, TRAINER, "adafactor", "lr_scheduler")
        return
    schedule = _names.resolve_schedule(draft, TRAINER, name, "lr_scheduler", accepted=accepted)
    if schedule is None:
        return
    if warmup and not _names.takes_warmup(TRAINER, schedule):
        draft.warn(
            f"warmup: {trainer_label} refuses warmup with lr_scheduler {show(name)}"
            " (it raises an error); set the warmup to 0 or use constant_with_warmup"
        )
    options = keyword_arguments(draft, args, "lr_scheduler_args")
    _ScheduleParameters(draft, args, schedule, options, learning_rate).read()
    for unused in options:
        draft.warn(f"lr_scheduler_args: {unused} is not modelled by LRTool")


@dataclass
class _ScheduleParameters:
    """Schedule parameters as get_scheduler_fix passes them; `options` (lr_scheduler_args) are consumed."""

    draft: Draft
    args: Section
    schedule: str
    options: dict[str, Any]
    learning_rate: float | None

    def set(self, name: str, value: Any) -> None:
        if value is not None and _names.takes(TRAINER, self.schedule, name):
            self.draft.set(name, value)

    def option(self, name: str) -> float | None:
        if name not in self.options:
            return None
        value = self.options.pop(name)
        number = to_float(value)
        if number is None:
            self.draft.problem(self.args.path("lr_scheduler_args"), f"{name} must be a number; got {show(value)}")
        return number

    def read(self) -> None:
        cycles = self.args.number("lr_scheduler_num_cycles", 1.0)
        assert cycles is not None
        if self.schedule == "cosine":
            self.set("num_cycles", self.option("num_cycles"))  # sd-scripts passes none: 0.5 unless given here
        elif self.schedule == "cosine_with_restarts":
            self.set("num_cycles", float(cycles))
        elif self.schedule in ("cosine_with_min_lr", "warmup_stable_decay"):
            self.set("num_cycles", cycles / 2.0)
        self.set("power", self.option("power") or self.args.number("lr_scheduler_power", 1.0))
        self.set("timescale", to_int(self.option("timescale")) or self.args.integer("lr_scheduler_timescale"))
        self._min_lr_ratio()
        if self.schedule == "warmup_stable_decay":
            self._decay_steps()
        if self.schedule == "piecewise_constant":
            rules = self.options.pop("step_rules", None)
            if rules is None:
                self.draft.miss("step_rules", "lr_scheduler_args has no step_rules for piecewise_constant")
            else:
                self.set("step_rules", str(rules))

    def _min_lr_ratio(self) -> None:
        ratio = self.args.number("lr_scheduler_min_lr_ratio")
        rate = self.option("min_lr_rate")
        ratio = rate if rate is not None else ratio
        absolute = self.option("lr_end") if self.schedule == "polynomial" else self.option("min_lr")
        if absolute is not None and self.learning_rate:
            ratio = absolute / self.learning_rate
            self.draft.warn(
                f"min_lr_ratio: {format_number(absolute)} as a share of the learning rate"
                f" {format_number(self.learning_rate)}; it changes if the learning rate does"
            )
        if ratio is None and self.schedule == "warmup_stable_decay":
            ratio = 0.0  # sd-scripts' default for this schedule
        if ratio is None and self.schedule == "cosine_with_min_lr":
            self.draft.miss("min_lr_ratio", "cosine_with_min_lr needs lr_scheduler_min_lr_ratio; supply it")
        self.set("min_lr_ratio", ratio)

    def _decay_steps(self) -> None:
        value = self.args.raw("lr_decay_steps")
        if isinstance(value, float) and 0.0 < value < 1.0:
            fraction = value

            def from_steps(draft: Draft) -> None:
                steps = draft.config.get("steps")
                if "decay_steps" not in draft.overridden and isinstance(steps, int):
                    draft.set("decay_steps", int(fraction * steps))

            self.draft.miss("decay_steps", f"lr_decay_steps {format_number(value)} is a fraction of the steps")
            self.draft.finalizers.append(from_steps)
            return
        steps = self.args.integer("lr_decay_steps")
        if not steps:
            self.draft.miss("decay_steps", "warmup_stable_decay needs lr_decay_steps; supply the decay steps")
        self.set("decay_steps", steps or None)


# --- Learning rates ----------------------------------------------------------------


def read_learning_rates(
    draft: Draft, args: Section, data: Mapping[str, Any], paths: Mapping[str, Path]
) -> float | None:
    """Every learning rate of an sd-scripts file; returns the rate the U-Net / DiT LoRA trains at."""
    unet = args.number("unet_lr")
    base = args.number("learning_rate")
    primary_key = "unet_lr" if unet is not None else "learning_rate"
    for key in ("unet_lr", "learning_rate"):
        value = unet if key == "unet_lr" else base
        for path in occurrences(data, key) if value is not None else []:
            draft.rate(path, value, primary=key == primary_key)
    if unet is None and base is None:
        draft.primary_home = home_of(paths, "learning_rate")
        draft.warn(f"learning_rate is not set; sd-scripts trains at its default {format_number(DEFAULT_LEARNING_RATE)}")
    if unet == 0.0:
        draft.warn("unet_lr is 0: sd-scripts then does not train the U-Net / DiT LoRA")
    primary = unet if unet is not None else base if base is not None else DEFAULT_LEARNING_RATE
    te_rate = _text_encoder_rates(draft, args)
    if args.flag("network_train_unet_only"):
        if te_rate is not None:
            draft.warn("text_encoder_lr is not used: network_train_unet_only is set")
    else:
        warn_text_encoder(draft, te_rate if te_rate is not None else base or DEFAULT_LEARNING_RATE, primary)
    return primary


def warn_text_encoder(draft: Draft, rate: float, primary: float) -> None:
    """The text encoder LoRA trains too: LRTool's recommendation is for the U-Net / DiT part."""
    if rate == primary:
        draft.warn("the text encoder LoRA also trains, at the same rate; LRTool models the U-Net / DiT LoRA")
    else:
        draft.warn(
            f"the text encoder LoRA also trains, at {format_number(rate)}; LRTool models the U-Net / DiT LoRA"
            " (export keeps the text encoder's rate in proportion)"
        )


def _text_encoder_rates(draft: Draft, args: Section) -> float | None:
    """text_encoder_lr: one rate, or one per text encoder (a list)."""
    value = args.raw("text_encoder_lr")
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    paths = [(*args.path("text_encoder_lr"), index) for index in range(len(values))] if isinstance(value, list) else []
    first: float | None = None
    for index, item in enumerate(values):
        number = to_float(item)
        if number is None:
            draft.problem(args.path("text_encoder_lr"), f"must be a number or a list of numbers; got {show(value)}")
            return None
        draft.rate(paths[index] if paths else args.path("text_encoder_lr"), number, primary=False)
        first = number if first is None else first
    return first


# --- Datasets and steps ---------------------------------------------------------------


@dataclass
class Datasets:
    """What the dataset settings say: per-dataset batch sizes and resolutions, the image sources."""

    batch_sizes: list[int] = field(default_factory=list)
    edges: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # "'folder'", for the images hint
    #: Each training dataset's passes per image per epoch, by name (empty: the file does not say).
    repeats: list[tuple[str, float]] = field(default_factory=list)
    #: What to supply when `repeats` is empty.
    repeats_hint: str = ""
    regularized: bool = False
    described: bool = False  # the sources come from a dataset config


def read_datasets(draft: Draft, args: Section, dataset: Mapping[str, Any] | None) -> Datasets:
    """Batch size, resolution and image sources, from the dataset TOML or the command-line fallbacks."""
    draft.dataset_name = args.text("dataset_config") or ""
    found = _dataset_config(draft, args, dataset) if dataset is not None else _folder_datasets(draft, args)
    settle_batch_and_resolution(draft, found)
    return found


def settle_batch_and_resolution(draft: Draft, found: Datasets) -> None:
    if len(set(found.batch_sizes)) == 1:
        draft.set("batch_size", found.batch_sizes[0])
    elif found.batch_sizes:
        sizes = ", ".join(map(str, found.batch_sizes))
        draft.miss("batch_size", f"the datasets train with different batch sizes ({sizes}); supply the typical one")
    if len(set(found.edges)) == 1:
        draft.set("resolution", found.edges[0])
    elif found.edges:
        sizes = ", ".join(map(str, found.edges))
        draft.miss("resolution", f"the datasets train at different resolutions ({sizes}); supply the typical one")


def _fallback(key: str, *sections: Section | None) -> tuple[Any, Section | None]:
    for section in sections:
        if section is not None and section.has(key):
            return section.raw(key), section
    return None, None


def _dataset_config(draft: Draft, args: Section, dataset: Mapping[str, Any]) -> Datasets:
    root = Section(dataset, draft, ("dataset",))
    general = root.section("general")
    # The command line's names for the same settings (ARGPARSE_OPTNAME_TO_CONFIG_OPTNAME).
    renamed = {"batch_size": "train_batch_size", "num_repeats": "dataset_repeats", "resolution": "resolution"}
    command_line = Section(
        {name: args.raw(key) for name, key in renamed.items()},
        draft,
        paths={name: args.path(key) for name, key in renamed.items()},
    )
    found = Datasets(described=True)
    for this in dataset_entries(root, draft):
        batch, where = _fallback("batch_size", this, general, command_line)
        found.batch_sizes.append(_read_int(draft, where, "batch_size", batch, 1))
        size, where = _fallback("resolution", this, general, command_line)
        if size is None:
            draft.miss("resolution", "neither the dataset config nor the config file sets a resolution")
        elif where is not None:
            found.edges.append(_resolution.edge(draft, size, where.path("resolution")) or 0)
        for number, subset in enumerate(this.sequence("subsets")):
            if not isinstance(subset, Mapping):
                draft.problem((*this.base, "subsets", number), f"must be a table of settings; got {show(subset)}")
                continue
            part = Section(subset, draft, (*this.base, "subsets", number))
            repeats, where = _fallback("num_repeats", part, this, general, command_line)
            count = _read_int(draft, where, "num_repeats", repeats, 1)
            folder = part.text("image_dir") or part.text("metadata_file") or "a subset"
            if part.flag("is_reg"):
                found.regularized = True
                continue
            found.sources.append(show(folder))
            found.repeats.append((show(folder), count))
    found.edges = [edge for edge in found.edges if edge]
    return found


def _read_int(draft: Draft, where: Section | None, key: str, value: Any, default: int) -> int:
    if value is None or where is None:
        return default
    return where.integer(key, default) or default


def _folder_datasets(draft: Draft, args: Section) -> Datasets:
    """No dataset config: sd-scripts reads train_data_dir (folders named "10_name" repeat 10 times)."""
    found = Datasets(regularized=args.has("reg_data_dir"))
    found.batch_sizes.append(args.integer("train_batch_size", 1) or 1)
    if args.has("resolution"):
        size = _resolution.edge(draft, args.raw("resolution"), args.path("resolution"))
        if size:
            found.edges.append(size)
    else:
        draft.miss("resolution", "the file sets no resolution; supply the training resolution")
    folder = args.text("train_data_dir")
    if args.has("in_json"):
        repeats = args.integer("dataset_repeats", 1) or 1
        found.sources.append(f"the images listed in {show(args.text('in_json'))}")
        found.repeats.append((show(args.text("in_json")), repeats))
    elif folder:
        found.sources.append(f"the images in the folders of {show(folder)}")
        found.repeats_hint = (
            f"each folder of {show(folder)} repeats as many times as its name starts with ('10_name': 10);"
            " the file does not hold the folder names: supply that number (for folders repeating differently,"
            " Σ(images × repeats) / images over them, rounded)"
        )
    if args.has("dataset_config"):
        found.repeats_hint = (
            f"dataset_config {show(args.text('dataset_config'))} was not given: its num_repeats are the repeats;"
            " add the dataset file or supply them"
        )
        draft.warn(
            f"dataset_config {show(args.text('dataset_config'))} was not given: batch size and resolution are the"
            " config file's (the dataset config may override them); add the dataset file to read them"
        )
    return found


def images_hint(found: Datasets) -> str:
    """What to supply as `images`: the distinct images, never multiplied by their repeats."""
    where = f" ({'; '.join(found.sources)})" if found.sources else ""
    return (
        f"the files do not count the images: supply the number of distinct training images{where},"
        " not multiplied by their repeats (repeats are a field of their own)"
    )


def settle_dataset_repeats(draft: Draft, found: Datasets, datasets: str = "subsets") -> None:
    """`repeats` from the datasets read, else asked for with what the file says of them."""
    if found.repeats:
        settle_repeats(draft, found.repeats, datasets)
    else:
        draft.miss("repeats", found.repeats_hint or "the file does not say how often each image repeats; supply it")


def read_steps(
    draft: Draft,
    args: Section,
    found: Datasets,
    *,
    trainer_label: str = "sd-scripts",
) -> None:
    """`steps` from max_train_epochs (once the image count is known) or max_train_steps."""
    draft.miss("images", images_hint(found))
    settle_dataset_repeats(draft, found, "subsets" if found.described else "datasets")
    epochs = args.integer("max_train_epochs")
    if epochs:
        epochs_from_images(draft, epochs, regularized=found.regularized, processes=1, label=trainer_label)
        return
    steps = args.integer("max_train_steps")
    if steps is None:
        steps = DEFAULT_STEPS
        draft.warn(f"steps: max_train_steps is not set; {trainer_label} trains its default {DEFAULT_STEPS} steps")
    draft.set("steps", steps)


def epochs_from_images(draft: Draft, epochs: int, *, regularized: bool, processes: int, label: str) -> None:
    """sd-scripts' and musubi-tuner's count: epochs × ceil(ceil(samples / batch) / processes / accumulation),
    samples being images × repeats."""

    def count(samples: int, batch: int, accumulation: int) -> tuple[int, str]:
        per_device = max(1, batch // processes)
        batches = math.ceil(samples * (2 if regularized else 1) / per_device)
        steps = epochs * math.ceil(batches / processes / accumulation)
        doubled = " (doubled by the regularization images)" if regularized else ""
        return steps, (
            f"{epochs} epochs of {batches} batches{doubled} with accumulation {accumulation}"
            f" = {steps} steps, as {label} counts them (buckets may add a few batches)"
        )

    draft.steps_from_image_count(f"{epochs} epochs: the steps follow from the images and their repeats", count)


def dataset_entries(root: Section, draft: Draft) -> list[Section]:
    """The [[datasets]] tables of a dataset config (sd-scripts' layout, which musubi-tuner shares)."""
    entries = root.sequence("datasets")
    if not entries:
        draft.problem(("dataset", "datasets"), "the dataset config has no [[datasets]]")
    tables = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            draft.problem(("dataset", "datasets", index), f"must be a table of settings; got {show(entry)}")
            continue
        tables.append(Section(entry, draft, ("dataset", "datasets", index)))
    return tables
