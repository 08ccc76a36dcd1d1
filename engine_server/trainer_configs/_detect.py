"""Which syntax a file is written in, and which trainer wrote it.

The syntax comes from the file name's extension, else from the text (JSON starts with "{"; TOML and
YAML are told apart by which one parses). The trainer comes from keys only it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import _json_file, _kohya, _toml_file, _yaml_file
from ._common import Edit, TrainerConfigError


@dataclass(frozen=True)
class Syntax:
    """How files of one syntax are read (text -> plain data) and edited (text, edits -> text)."""

    load: Callable[[str], Any]
    write: Callable[[str, Sequence[Edit]], str]


SYNTAXES: Mapping[str, Syntax] = {
    "toml": Syntax(_toml_file.load, _toml_file.write),
    "json": Syntax(_json_file.load, _json_file.write),
    "yaml": Syntax(_yaml_file.load, _yaml_file.write),
}

_EXTENSIONS = {"toml": "toml", "json": "json", "jsonc": "json", "yaml": "yaml", "yml": "yaml"}

_KOHYA_GUI_KEYS = frozenset({"LoRA_type", "model_list", "max_resolution", "lr_warmup", "flux1_checkbox", "sdxl"})
_ONETRAINER_KEYS = frozenset(
    {"__version", "model_type", "training_method", "base_model_name", "learning_rate_scheduler", "lora_rank"}
)
_SD_SCRIPTS_KEYS = frozenset(
    {
        "pretrained_model_name_or_path",
        "network_module",
        "network_dim",
        "learning_rate",
        "optimizer_type",
        "max_train_steps",
        "max_train_epochs",
        "train_data_dir",
        "dataset_config",
        "lr_scheduler",
    }
)
_MUSUBI_KEYS = frozenset({"dit", "dit_high_noise"})


def syntax_of(text: str, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    if text.lstrip().startswith("{"):
        return "json"
    try:
        _toml_file.load(text)
        return "toml"
    except TrainerConfigError as toml_error:
        try:
            _yaml_file.compose(text)
        except TrainerConfigError:
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")
            if first.startswith("[") or ("=" in first and ":" not in first.split("=", 1)[0]):
                raise toml_error from None
            raise
        return "yaml"


def trainer_of(syntax: str, data: Any) -> str:
    """The format (trainer) of parsed data; TrainerConfigError when no trainer's keys are there."""
    if isinstance(data, Mapping):
        config = data.get("config")
        if syntax in ("json", "yaml") and isinstance(config, Mapping) and "process" in config:
            return "ai-toolkit"
        if syntax == "json" and _KOHYA_GUI_KEYS & data.keys():
            return "kohya_ss"
        if syntax == "json" and _ONETRAINER_KEYS & data.keys():
            return "onetrainer"
        if syntax == "toml":
            flat, _ = _kohya.flatten(data)
            if _MUSUBI_KEYS & flat.keys():
                return "musubi-tuner"
            if _SD_SCRIPTS_KEYS & flat.keys():
                return "sd-scripts"
            if "datasets" in data or "general" in data:
                raise TrainerConfigError.one(
                    "", "this is a dataset config: give it as the dataset file, with the training config file"
                )
    raise TrainerConfigError.one(
        "",
        f"not a trainer configuration LRTool knows ({syntax.upper()} without the settings of"
        " kohya sd-scripts, the kohya_ss GUI, ai-toolkit, OneTrainer or musubi-tuner); name the format"
        " if it is one of them",
    )
