"""Trainer config files: real examples import to the configuration their trainer runs, export round-trips
with only the learning rate changed, and hostile files are refused with the key or line at fault."""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine_server.engine import TrainingConfig
from engine_server.trainer_configs import (
    FORMATS,
    MAX_CONFIG_BYTES,
    FoundLearningRate,
    ImportedConfig,
    TrainerConfigError,
    detect_format,
    export_trainer_config,
    import_trainer_config,
)
from engine_server.trainer_configs._models import Unsupported, from_names
from engine_server.trainer_configs._numbers import like
from engine_server.trainer_configs._resolution import combine

SHARED = Path(__file__).parents[2] / "shared" / "reference" / "trainer-configs"
OWN = Path(__file__).parent / "data" / "trainer_configs"
USER = {"images": 200, "objective": "Character"}
#: The repeats the user supplies when the file does not hold them.
USER_REPEATS = 2


@dataclass(frozen=True)
class Example:
    """A trainer file and everything its import must say."""

    where: Path
    name: str
    format: str
    config: dict[str, Any]
    rates: tuple[tuple[str, float], ...]
    missing: tuple[str, ...]
    dataset: str = ""
    scale: float = 1.0
    #: Fields derived once the user supplies USER (steps counted from epochs).
    with_user: dict[str, Any] = field(default_factory=dict)

    def user(self) -> dict[str, Any]:
        """What the user supplies: USER, and the repeats when the file does not hold them."""
        return USER | ({"repeats": USER_REPEATS} if "repeats" in self.missing else {})

    @property
    def id(self) -> str:
        return f"{self.where.name}/{self.name}"

    def content(self) -> bytes:
        return _read(self.where / self.name)

    def dataset_content(self) -> bytes:
        return _read(self.where / self.dataset) if self.dataset else b""

    def imported(self, **overrides: Any) -> ImportedConfig:
        return import_trainer_config(
            self.content(),
            Path(self.name).name,
            dataset_content=self.dataset_content(),
            dataset_filename=Path(self.dataset).name,
            overrides=overrides or None,
        )


def _read(path: Path) -> bytes:
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared reference trainer configs sit next to the repository)")
    return path.read_bytes()


HF = "huggingface"

EXAMPLES = [
    # --- Real files (../shared/reference/trainer-configs, see its README for sources) ---------------
    Example(
        SHARED,
        "sd-scripts/config_file_sdxl_lora.toml",
        "sd-scripts",
        {
            "model": "sdxl",  # sd_xl_base_1.0.safetensors
            "resolution": 1024,  # "1024,1024"
            "batch_size": 4,
            "grad_accum": 1,
            "rank": 32,
            "alpha": 16.0,
            "optimizer": "adafactor",  # relative_step=False: a fixed rate
            "scheduler": "constant_with_warmup",
            "warmup_steps": 100,
            "trainer": HF,
            "network": "locon",  # network_args conv_dim: kohya's LoCon
            "repeats": 1,  # dataset_repeats of the in_json image list
        },
        (("optimizer_arguments.learning_rate", 1e-5),),
        ("steps", "images", "objective"),  # max_train_epochs = 10 over an in_json image list
        with_user={"steps": 10 * math.ceil(200 * 1 / 4)},
    ),
    Example(
        SHARED,
        "kohya_ss_gui/locon-AdamW8bit-toml.json",
        "kohya_ss",
        {
            "model": "sd15",  # no model checkbox; runwayml/stable-diffusion-v1-5
            "resolution": 512,  # the dataset config's
            "steps": 1600,  # blank max_train_steps with a dataset config: sd-scripts' default
            "batch_size": 4,
            "grad_accum": 1,
            "rank": 8,
            "alpha": 1.0,
            "optimizer": "adamw_8bit",
            "scheduler": "constant",
            "warmup_steps": 0,
            "trainer": HF,
            "network": "lora",
            "repeats": 10,  # the dataset config's num_repeats
        },
        (("learning_rate", 5e-4),),  # unet_lr and text_encoder_lr 0.0 fall back to it
        ("images", "objective"),
        dataset="sd-scripts/dataset.toml",
    ),
    Example(
        SHARED,
        "ai-toolkit/train_lora_flux_24gb.yaml",
        "ai-toolkit",
        {
            "model": "flux1",
            "resolution": 765,  # 512, 768 and 1024 in equal shares, FLUX's exponent 0.91
            "steps": 2000,
            "batch_size": 1,
            "grad_accum": 1,
            "rank": 16,
            "alpha": 16.0,
            "optimizer": "adamw_8bit",
            "scheduler": "constant",  # ai-toolkit's default
            "warmup_steps": 0,
            "trainer": "ai-toolkit",
            "network": "lora",
            "repeats": 3,  # one num_repeats × three resolutions
        },
        (("config.process[0].train.lr", 1e-4),),  # `lr: 1e-4`, text under YAML 1.1
        ("images", "objective"),
    ),
    Example(
        SHARED,
        "onetrainer/#sdxl 1.0 LoRA.json",
        "onetrainer",
        {
            "model": "sdxl",
            "resolution": 1024,
            "batch_size": 4,
            "grad_accum": 1,
            "rank": 16,  # OneTrainer's defaults from here on
            "alpha": 1.0,
            "optimizer": "adamw",
            "scheduler": "constant",
            "warmup_steps": 200,
            "trainer": "onetrainer",
            "network": "lora",
        },
        (("learning_rate", 3e-4),),
        ("steps", "images", "objective", "repeats"),  # 100 epochs by default; no concepts given
        with_user={"steps": (200 * USER_REPEATS // 4) * 100},
    ),
    # --- Our own files in each format (tests/data/trainer_configs) -----------------------------------
    Example(
        OWN,
        "sd_scripts_pony.toml",
        "sd-scripts",
        {
            "model": "pony",
            "resolution": 1024,
            "batch_size": 4,  # the dataset config's, over train_batch_size
            "grad_accum": 2,
            "rank": 32,
            "alpha": 16.0,
            "optimizer": "adamw_8bit",
            "scheduler": "cosine_with_restarts",
            "warmup_fraction": 0.05,
            "trainer": HF,
            "network": "lora",
            "num_cycles": 3.0,
            "repeats": 6,  # subsets repeating 10 and 2 times: their mean
        },
        (
            ("optimizer.unet_lr", 2e-4),
            ("optimizer.learning_rate", 1e-4),
            ("optimizer.text_encoder_lr[0]", 5e-5),
            ("optimizer.text_encoder_lr[1]", 2.5e-5),
        ),
        ("steps", "images", "objective"),
        dataset="sd_scripts_pony_dataset.toml",
        # 8 epochs × ceil(ceil(2 × 200 × 6 / 4) / 2): regularization images double the batches
        with_user={"steps": 8 * math.ceil(math.ceil(2 * 200 * 6 / 4) / 2)},
    ),
    Example(
        OWN,
        "kohya_ss_gui_sdxl.json",
        "kohya_ss",
        {
            "model": "sdxl",
            "resolution": 887,  # "1024,768": the square of the same area
            "batch_size": 2,
            "grad_accum": 1,
            "rank": 16,
            "alpha": 8.0,
            "optimizer": "lion_8bit",
            "scheduler": "cosine",
            "warmup_fraction": 0.1,  # lr_warmup 10 %
            "trainer": HF,
            "network": "lora",
        },
        (("learning_rate", 1e-4), ("text_encoder_lr", 5e-5)),
        ("steps", "images", "objective", "repeats"),  # the folder names in train_data_dir hold the repeats
        # the GUI counts 200 images × 2 repeats / batch 2 / accumulation 1 × 10 epochs
        with_user={"steps": 2000},
    ),
    Example(
        OWN,
        "ai_toolkit_flux.yaml",
        "ai-toolkit",
        {
            "model": "flux1",
            "resolution": 895,  # 768 and 1024 in equal shares
            "steps": 3000,
            "batch_size": 2,
            "grad_accum": 2,
            "rank": 32,
            "alpha": 16.0,
            "optimizer": "adamw_8bit",
            "scheduler": "cosine",
            "warmup_steps": 0,
            "trainer": "ai-toolkit",
            "network": "lora",
            "repeats": 3,  # 2 × 2 resolutions and 1 × 2: their mean
        },
        (("config.process[0].train.lr", 2e-4),),
        ("images", "objective"),
    ),
    Example(
        OWN,
        "onetrainer_flux.json",
        "onetrainer",
        {
            "model": "flux1",
            "resolution": 765,
            "batch_size": 4,
            "grad_accum": 1,
            "rank": 32,
            "alpha": 32.0,
            "optimizer": "adamw_8bit",
            "scheduler": "cosine",
            "warmup_fraction": 0.1,
            "trainer": "onetrainer",
            "network": "lora",
            "min_lr_ratio": 0.1,
        },
        (("transformer.learning_rate", 1e-4), ("learning_rate", 2e-4)),
        ("steps", "images", "objective", "repeats"),  # no concepts given
        scale=2.0,  # learning_rate_scaler BATCH with batch 4: × √4
        with_user={"steps": (200 * USER_REPEATS // 4) * 20},
    ),
    Example(
        OWN,
        "musubi_zimage.toml",
        "musubi-tuner",
        {
            "model": "z_image",
            "resolution": 1024,
            "steps": 3000,
            "batch_size": 2,
            "grad_accum": 1,
            "rank": 32,
            "alpha": 16.0,
            "optimizer": "adamw_8bit",
            "scheduler": "rex",
            "warmup_steps": 50,
            "trainer": HF,
            "network": "lora",
            "min_lr_ratio": 0.05,
            "repeats": 3,
        },
        (("optimizer.learning_rate", 1e-4),),
        ("images", "objective"),
        dataset="musubi_zimage_dataset.toml",
    ),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_import_gives_the_configuration_the_trainer_runs(example: Example) -> None:
    imported = example.imported()
    assert imported.format == example.format
    assert imported.config == example.config
    assert all(type(imported.config[name]) is type(value) for name, value in example.config.items())
    assert imported.learning_rates == tuple(FoundLearningRate(key, value) for key, value in example.rates)
    assert imported.missing_fields == example.missing
    assert imported.learning_rate_scale == example.scale
    for name in example.missing:
        assert any(warning.startswith(f"{name}: ") for warning in imported.warnings), name


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_the_user_completes_it_into_a_valid_training_config(example: Example) -> None:
    imported = example.imported(**example.user())
    assert imported.missing_fields == ()
    expected = example.config | example.user() | {"objective": "character"} | example.with_user  # as its id
    assert imported.config == expected
    config = TrainingConfig(**imported.config)
    assert config.trainer == example.config["trainer"]


@pytest.mark.parametrize(
    "example", [example for example in EXAMPLES if "steps" not in example.missing], ids=lambda example: example.id
)
def test_a_file_that_sets_its_steps_validates_with_just_images_and_objective(example: Example) -> None:
    TrainingConfig(**example.imported().config | example.user())  # (files counting epochs need images as an override)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_the_format_is_detected(example: Example) -> None:
    assert detect_format(example.content(), Path(example.name).name) == example.format
    assert detect_format(example.content()) == example.format  # from the text alone


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    old, new = before.decode().splitlines(keepends=True), after.decode().splitlines(keepends=True)
    assert len(old) == len(new)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    pairs: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            pairs.extend(zip(old[i1:i2], new[j1:j2], strict=True))
    return pairs


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_export_sets_the_rate_and_keeps_every_other_byte(example: Example) -> None:
    before = example.content()
    after = export_trainer_config(before, Path(example.name).name, learning_rate=3e-4)
    keys = {key.rsplit(".", 1)[-1].split("[")[0] for key, _ in example.rates}
    for old, new in changed_lines(before, after):
        assert any(key in old for key in keys), old
        # the line keeps its comment and layout: only the number differs
        assert old.split("#")[-1] == new.split("#")[-1] or "#" not in old
    again = import_trainer_config(after, Path(example.name).name, dataset_content=example.dataset_content())
    first = again.learning_rates[0]
    assert first.key == example.rates[0][0]
    assert first.value * again.learning_rate_scale == pytest.approx(3e-4, rel=1e-12)
    assert again.config == example.imported().config
    assert again.missing_fields == example.missing
    ratio = 3e-4 / (example.rates[0][1] * example.scale)
    assert [rate.key for rate in again.learning_rates] == [key for key, _ in example.rates]
    for rate, (_, value) in zip(again.learning_rates, example.rates, strict=True):
        assert rate.value == pytest.approx(value * ratio, rel=1e-9)  # the others keep their proportion


def test_export_writes_numbers_as_the_file_did() -> None:
    own = (OWN / "ai_toolkit_flux.yaml").read_bytes()
    assert b'lr: "3e-4"         # quoted' in export_trainer_config(own, "x.yaml", learning_rate=3e-4)
    gui = (OWN / "kohya_ss_gui_sdxl.json").read_bytes()
    exported = export_trainer_config(gui, "x.json", learning_rate=3e-4)
    assert b'"learning_rate": "0.0003",' in exported  # kept as text, as the file had it
    assert b'"text_encoder_lr": 1.5e-04,' in exported  # 5e-05 keeps its zero-padded exponent
    pony = (OWN / "sd_scripts_pony.toml").read_bytes()
    exported = export_trainer_config(pony, "x.toml", learning_rate=3e-4)
    assert b"unet_lr = 3e-4              # the U-Net LoRA\n" in exported
    assert b"text_encoder_lr = [ 7.5e-5, 3.75e-5 ]   # CLIP-L, CLIP-G\n" in exported


def test_export_writes_every_rate_to_four_significant_digits() -> None:
    pony = (OWN / "sd_scripts_pony.toml").read_bytes()
    exported = export_trainer_config(pony, "x.toml", learning_rate=2.5299254315468416e-4)
    assert b"unet_lr = 2.53e-4              # the U-Net LoRA\n" in exported
    # Rates kept in proportion are written the same way, not to ten digits.
    assert b"text_encoder_lr = [ 6.325e-5, 3.163e-5 ]   # CLIP-L, CLIP-G\n" in exported
    assert b"learning_rate = 1.265e-4 " in exported


def test_onetrainer_export_divides_by_the_learning_rate_scale() -> None:
    exported = export_trainer_config((OWN / "onetrainer_flux.json").read_bytes(), learning_rate=3e-4)
    document = json.loads(exported)
    assert document["transformer"]["learning_rate"] == pytest.approx(1.5e-4)  # OneTrainer trains at × √4
    assert document["learning_rate"] == pytest.approx(3e-4)  # kept in proportion (2:1)


def test_export_keeps_line_endings_and_byte_order_mark() -> None:
    content = b"\xef\xbb\xbf" + (OWN / "musubi_zimage.toml").read_bytes().replace(b"\n", b"\r\n")
    exported = export_trainer_config(content, "x.toml", learning_rate=2e-4)
    assert exported == content.replace(b"learning_rate = 1e-4", b"learning_rate = 2e-4")


@pytest.mark.parametrize(
    ("content", "filename", "key", "inserted"),
    [
        (
            b'{\n    "model_type": "STABLE_DIFFUSION_XL_10_BASE",\n    "batch_size": 2\n}\n',
            "preset.json",
            "learning_rate",
            b'    "batch_size": 2,\n    "learning_rate": 0.0002\n}',
        ),
        (
            b'# no rate\n[optimizer_arguments]\noptimizer_type = "AdamW"\n\n[model]\nnetwork_dim = 8\n',
            "c.toml",
            "optimizer_arguments.learning_rate",
            b'optimizer_type = "AdamW"\nlearning_rate = 2e-4\n',
        ),
        (
            b"config:\n  process:\n    - train:\n        steps: 100  # short\n"
            b"      model: {name_or_path: x, is_flux: true}\n",
            "c.yaml",
            "config.process[0].train.lr",
            b"    - train:\n        lr: 2.0e-4\n        steps: 100  # short\n",
        ),
    ],
    ids=["onetrainer", "sd-scripts", "ai-toolkit"],
)
def test_export_adds_a_rate_the_file_left_to_its_default(
    content: bytes, filename: str, key: str, inserted: bytes
) -> None:
    before = import_trainer_config(content, filename)
    assert before.learning_rates == ()
    assert any("learning_rate is not set" in warning or "lr is not set" in warning for warning in before.warnings)
    exported = export_trainer_config(content, filename, learning_rate=2e-4)
    assert inserted in exported
    assert import_trainer_config(exported, filename).learning_rates == (FoundLearningRate(key, 2e-4),)


@pytest.mark.parametrize("rate", [0.0, -1e-4, math.nan, math.inf, "fast"])
def test_export_refuses_a_rate_that_is_not_one(rate: Any) -> None:
    with pytest.raises(TrainerConfigError) as caught:
        export_trainer_config((OWN / "musubi_zimage.toml").read_bytes(), learning_rate=rate)
    assert caught.value.violations[0].field == "learning_rate"


# --- Hostile files -------------------------------------------------------------------------------


def problems(content: bytes, filename: str = "", **kwargs: Any) -> tuple[tuple[str, str], ...]:
    with pytest.raises(TrainerConfigError) as caught:
        import_trainer_config(content, filename, **kwargs)
    error = caught.value
    assert error.violations
    assert str(error) == "; ".join(
        f"{v.field}: {v.description}" if v.field else v.description for v in error.violations
    )
    return tuple((violation.field, violation.description) for violation in error.violations)


def test_files_over_one_mebibyte_are_refused_unread() -> None:
    big = b"# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)
    assert problems(big, "c.toml") == (
        ("file", f"is {len(big):,} bytes; trainer configuration files are limited to 1,048,576 bytes (1 MiB)"),
    )
    with pytest.raises(TrainerConfigError, match="1 MiB"):
        export_trainer_config(big, "c.toml", learning_rate=1e-4)
    config = (OWN / "musubi_zimage.toml").read_bytes()
    assert problems(config, dataset_content=big)[0][0] == "dataset file"
    exactly = b"#" * (MAX_CONFIG_BYTES - 30) + b'\ndit = "z_image.safetensors"\n'
    assert len(exactly) <= MAX_CONFIG_BYTES
    assert import_trainer_config(exactly, "c.toml").format == "musubi-tuner"


def billion_laughs() -> bytes:
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 10) + "]")
    lines.append("config:\n  process:\n    - train: {lr: 1e-4, extra: *lol9}")
    return "\n".join(lines).encode()


def test_yaml_alias_bombs_are_refused() -> None:
    assert problems(billion_laughs(), "bomb.yaml") == (  # lol4 is the first to pass 100,000
        ("line 5", "aliases expand to more than 100,000 values; such a file is refused"),
    )
    assert problems(b"a: &a [*a]\n", "loop.yaml") == (("line 1", "an alias refers to the node that contains it"),)
    # an ordinary anchor is fine
    shared = (
        b"base: &base {lr: 2e-4}\nconfig:\n  process:\n    - train: *base\n      model: {name_or_path: flux1-dev}\n"
    )
    assert import_trainer_config(shared, "ok.yaml").learning_rates == (
        FoundLearningRate("config.process[0].train.lr", 2e-4),
    )


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("lr: !!python/object/apply:os.system ['echo pwned']", "!!python/object/apply:os.system"),
        ("lr: !!python/name:os.system", "!!python/name:os.system"),
        ("lr: !!python/object/new:subprocess.Popen {args: [ls]}", "!!python/object/new:subprocess.Popen"),
        ("lr: !custom 1e-4", "!custom"),
        ("lr: !!set {a, b}", "!!set"),
    ],
)
def test_yaml_tags_never_construct_objects(text: str, tag: str) -> None:
    content = f"config:\n  process:\n    - train:\n        {text}\n".encode()
    assert problems(content, "evil.yaml") == (
        ("line 4", f"the tag {tag} is not allowed: trainer configs hold plain values, not objects"),
    )


@pytest.mark.parametrize(
    ("content", "filename", "where", "message"),
    [
        (b'[network]\nnetwork_dim = "abc"\n', "c.toml", "network.network_dim", "must be a whole number; got 'abc'"),
        (b"network_dim = 16\nnetwork_alpha = true\n", "c.toml", "network_alpha", "must be a finite number; got true"),
        (
            b"learning_rate = [1, 2]\nnetwork_dim = 4\n",
            "c.toml",
            "learning_rate",
            "must be a finite number; got a list",
        ),
        (b'network_dim = 4\nlr_warmup_steps = "10%"\n', "c.toml", "lr_warmup_steps", "must be a whole number"),
        (
            b'{"LoRA_type": "Standard", "network_dim": [8]}',
            "g.json",
            "network_dim",
            "must be a whole number; got a list",
        ),
        (b'{"model_type": "FLUX_DEV_1", "batch_size": "four"}', "o.json", "batch_size", "must be a whole number"),
        (b'{"model_type": "FLUX_DEV_1", "transformer": 3}', "o.json", "transformer", "must be a table of settings"),
        (
            b"config:\n  process:\n    - network: {linear: sixteen}\n",
            "a.yaml",
            "config.process[0].network.linear",
            "must be a whole number; got 'sixteen'",
        ),
        (b"config:\n  process: [5]\n", "a.yaml", "config.process[0]", "must be a mapping of settings; got 5"),
    ],
)
def test_wrong_types_name_the_key(content: bytes, filename: str, where: str, message: str) -> None:
    found = problems(content, filename)
    assert found[0][0] == where
    assert message in found[0][1]


def test_wrong_types_in_a_dataset_file_name_the_dataset_key() -> None:
    config = (OWN / "musubi_zimage.toml").read_bytes()
    dataset = b'[general]\nbatch_size = "two"\n[[datasets]]\nimage_directory = "/x"\n'
    assert problems(config, "c.toml", dataset_content=dataset) == (
        ("dataset.general.batch_size", "must be a whole number; got 'two'"),
    )


@pytest.mark.parametrize(
    ("content", "filename", "where", "message"),
    [
        (b"network_dim = 16\nlearning_rate = \n", "c.toml", "line 2", "not valid TOML: Invalid value (column 17)"),
        (b"[a]\nx = 1\n[a]\ny = 2\n", "c.toml", "line 3", "not valid TOML"),
        (b'{\n  "LoRA_type": "Standard",\n  "learning_rate": 1e-4,,\n}', "g.json", "line 3", "not valid JSON"),
        (b'{\n  "model_type": "FLUX_DEV_1"\n', "o.json", "line 3", "not valid JSON"),
        (b"config:\n  process:\n    - train:\n      lr: 1e-4\n     bad: [\n", "a.yaml", "line 5", "not valid YAML"),
        (b"config:\n\tprocess: []\n", "a.yaml", "line 2", "not valid YAML"),
    ],
)
def test_malformed_files_name_the_line(content: bytes, filename: str, where: str, message: str) -> None:
    found = problems(content, filename)
    assert found[0][0] == where
    assert message in found[0][1]


def test_a_malformed_dataset_file_names_its_line() -> None:
    config = (OWN / "sd_scripts_pony.toml").read_bytes()
    found = problems(config, "c.toml", dataset_content=b"[[datasets]]\nbatch_size = 4\nresolution = [1024\n")
    assert found[0][0] == "dataset line 3"
    assert "not valid TOML" in found[0][1]


@pytest.mark.parametrize(
    ("content", "filename"),
    [(b"[" * 50_000 + b"]" * 50_000, "deep.json"), (b"a: " + b"[" * 2_000 + b"]" * 2_000, "deep.yaml")],
)
def test_deep_nesting_is_refused(content: bytes, filename: str) -> None:
    assert "nested too deeply" in problems(content, filename)[0][1]


def test_text_that_is_not_utf8_is_refused() -> None:
    assert problems(b"network_dim = 4\n# caf\xe9\n", "c.toml") == (("line 2", "the file is not UTF-8 text"),)


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b'{"hello": "world"}', "x.json", "not a trainer configuration LRTool knows"),
        (b"just: text\n", "x.yaml", "not a trainer configuration LRTool knows"),
        (b"[1, 2, 3]", "x.json", "not a trainer configuration LRTool knows"),
        (b"[[datasets]]\nresolution = 512\n", "dataset.toml", "this is a dataset config"),
    ],
)
def test_unknown_files_are_refused(content: bytes, filename: str, message: str) -> None:
    with pytest.raises(TrainerConfigError, match=message):
        detect_format(content, filename)


def test_a_named_format_is_used_and_an_unknown_name_refused() -> None:
    content = b"network_dim = 8\n"
    assert import_trainer_config(content, format="musubi-tuner").format == "musubi-tuner"
    assert import_trainer_config(content, format="sd_scripts").format == "sd-scripts"
    assert import_trainer_config(b"{}", format="OneTrainer").format == "onetrainer"
    assert problems(content, format="invokeai") == (
        ("format", f"unknown format 'invokeai'; accepted: {', '.join(FORMATS)}"),
    )


# --- Overrides ------------------------------------------------------------------------------------


def test_overrides_replace_found_values_and_derived_values_follow() -> None:
    pony = EXAMPLES[4]
    imported = pony.imported(images=100, objective="Style", batch_size=2, alpha=32)
    assert imported.config["batch_size"] == 2
    assert imported.config["alpha"] == 32.0 and isinstance(imported.config["alpha"], float)
    # counted with the new batch size: 100 images × 6 repeats, doubled by the regularization images
    assert imported.config["steps"] == 8 * math.ceil(math.ceil(2 * 100 * 6 / 2) / 2)
    # repeats the user gives replace the file's in the count
    assert pony.imported(images=100, repeats=3, batch_size=2).config["steps"] == 8 * math.ceil(2 * 100 * 3 / 2 / 2)
    assert pony.imported(images=100, objective="Style", steps=777).config["steps"] == 777
    warmup = pony.imported(warmup_steps=30)
    assert warmup.config["warmup_steps"] == 30 and "warmup_fraction" not in warmup.config
    named = pony.imported(model="SDXL Lightning", optimizer="Lion8bit", objective="likeness", scheduler="Cosine")
    assert [named.config[key] for key in ("model", "optimizer", "objective", "scheduler")] == [
        "sdxl_lightning",
        "lion_8bit",
        "character",
        "cosine",
    ]
    assert pony.imported(model="Kandinsky").config["model"] == "Kandinsky"  # left for TrainingConfig to refuse
    cleared = pony.imported(num_cycles=None)
    assert "num_cycles" not in cleared.config and "num_cycles" not in cleared.missing_fields


def test_bad_overrides_are_refused_by_name() -> None:
    content = (OWN / "musubi_zimage.toml").read_bytes()
    assert problems(content, overrides={"images": "many", "rank": 1.5, "model": 3, "flavour": 1, "steps": True}) == (
        ("overrides.images", "must be a whole number; got 'many'"),
        ("overrides.rank", "must be a whole number; got 1.5"),
        ("overrides.model", "must be text; got 3"),
        ("overrides.flavour", problems(content, overrides={"flavour": 1})[0][1]),
        ("overrides.steps", "must be a whole number; got true (a boolean)"),
    )


# --- Trainer rules, one at a time ----------------------------------------------------------------


def sd_scripts(text: str, **overrides: Any) -> ImportedConfig:
    base = 'pretrained_model_name_or_path = "sd_xl_base_1.0.safetensors"\nresolution = "1024"\nmax_train_steps = 1000\n'
    return import_trainer_config((base + text).encode(), "c.toml", overrides=overrides or None)


def hint(imported: ImportedConfig, field_name: str) -> str:
    return next(warning for warning in imported.warnings if warning.startswith(f"{field_name}: "))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('lr_scheduler = "cosine"\nlr_scheduler_num_cycles = 4', {"scheduler": "cosine"}),  # sd-scripts passes none
        ('lr_scheduler = "cosine"\nlr_scheduler_args = ["num_cycles=2"]', {"scheduler": "cosine", "num_cycles": 2.0}),
        (
            'lr_scheduler = "cosine_with_min_lr"\nlr_scheduler_num_cycles = 1\nlr_scheduler_min_lr_ratio = 0.1',
            {"scheduler": "cosine_with_min_lr", "num_cycles": 0.5, "min_lr_ratio": 0.1},
        ),
        ('lr_scheduler = "polynomial"\nlr_scheduler_power = 2.0', {"scheduler": "polynomial", "power": 2.0}),
        (
            'lr_scheduler = "inverse_sqrt"\nlr_scheduler_timescale = 300',
            {"scheduler": "inverse_sqrt", "timescale": 300},
        ),
        (
            'lr_scheduler = "piecewise_constant"\nlr_scheduler_args = ["step_rules=\'1:500,0.1\'"]',
            {"scheduler": "piecewise_constant", "step_rules": "1:500,0.1"},
        ),
        (
            'lr_scheduler = "warmup_stable_decay"\nlr_decay_steps = 200',
            {"scheduler": "warmup_stable_decay", "num_cycles": 0.5, "min_lr_ratio": 0.0, "decay_steps": 200},
        ),
        (
            'lr_scheduler = "warmup_stable_decay"\nlr_decay_steps = 0.25',  # a fraction of the 1000 steps
            {"scheduler": "warmup_stable_decay", "num_cycles": 0.5, "min_lr_ratio": 0.0, "decay_steps": 250},
        ),
        ('lr_warmup_steps = 0.1\nlr_scheduler = "linear"', {"scheduler": "linear", "warmup_fraction": 0.1}),
        ("lr_warmup_steps = 100\nlr_scheduler = 'linear'", {"scheduler": "linear", "warmup_steps": 100}),
    ],
)
def test_sd_scripts_schedule_parameters(text: str, expected: dict[str, Any]) -> None:
    imported = sd_scripts(text, images=50, objective="Concept")
    found = {key: imported.config[key] for key in expected}
    assert found == expected
    TrainingConfig(**imported.config)
    for parameter in ("num_cycles", "power", "min_lr_ratio", "timescale", "decay_steps", "step_rules"):
        assert parameter in expected or parameter not in imported.config


def test_polynomial_lr_end_becomes_a_ratio_of_the_rate() -> None:
    imported = sd_scripts('learning_rate = 1e-4\nlr_scheduler = "polynomial"\nlr_scheduler_args = ["lr_end=1e-6"]')
    assert imported.config["min_lr_ratio"] == pytest.approx(0.01)
    assert any("min_lr_ratio" in warning for warning in imported.warnings)


@pytest.mark.parametrize(
    ("name", "optimizer"),
    [("Prodigy", "prodigy"), ("AdamWScheduleFree", "adamw_schedulefree"), ("ScheduleFreeAdamW", "adamw_schedulefree")],
)
def test_optimizers_that_set_their_own_step_size_are_read_for_the_calibrated_formula(name: str, optimizer: str) -> None:
    imported = sd_scripts(f'optimizer_type = "{name}"')
    assert imported.config["optimizer"] == optimizer and "optimizer" not in imported.missing_fields


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ('network_args = ["loraplus_lr_ratio=16"]', "16"),
        ('network_args = ["loraplus_unet_lr_ratio=4", "loraplus_lr_ratio=16"]', "4"),  # the U-Net's own wins
        ('network_args = ["loraplus_text_encoder_lr_ratio=16"]', None),  # the text encoder is not modelled
        ("loraplus_lr_ratio = 16", None),  # sd-scripts reads LoRA+ from network_args only
        ('network_module = "lycoris.kohya"\nnetwork_args = ["algo=lokr", "loraplus_lr_ratio=16"]', "16"),  # LyCORIS 3
    ],
)
def test_lora_plus_is_named_where_sd_scripts_applies_it(text: str, ratio: str | None) -> None:
    warnings = [warning for warning in sd_scripts(text).warnings if "LoRA+" in warning]
    assert len(warnings) == (ratio is not None)
    if ratio is not None:
        assert f"matrices at {ratio}× learning_rate" in warnings[0] and warnings[0].startswith("network: ")


def test_settings_by_block_are_named() -> None:
    """networks.lora's block_dims, block_alphas and *_lr_weight override the whole network's values."""
    lora = 'network_module = "networks.lora"\n'
    by_block = sd_scripts(lora + 'network_args = ["down_lr_weight=0,0,0,0,0,0,1,1,1,1,1,1", "block_dims=4,4,4"]\n')
    (warning,) = [w for w in by_block.warnings if "block by block" in w]
    assert warning.startswith("network: network_args block_dims, down_lr_weight set ")
    assert not any("block by block" in w for w in sd_scripts(lora + 'network_args = ["conv_dim=8"]\n').warnings)


def test_rank_stabilized_lycoris_says_which_alpha_describes_it() -> None:
    """LyCORIS's rs_lora scales by alpha / √rank: alpha 16 at rank 16 acts as alpha 64 does without it."""
    text = 'network_module = "lycoris.kohya"\nnetwork_dim = 16\nnetwork_alpha = 16\n'
    text += 'network_args = ["algo=locon", "rs_lora=True"]'
    imported = sd_scripts(text)
    assert imported.config["alpha"] == 16.0  # the file's own value stays; the note says what it means
    assert "trains as alpha 64 would" in hint(imported, "alpha")
    assert not any(w.startswith("alpha: rs_lora") for w in sd_scripts(text.replace("True", "False")).warnings)


def test_musubi_tuner_reads_only_the_common_lora_plus_ratio() -> None:
    wan = 'dit = "/m/wan2.1_t2v_14B_bf16.safetensors"\nnetwork_module = "networks.lora_wan"\n'
    assert any("LoRA+" in w for w in musubi(wan + 'network_args = ["loraplus_lr_ratio=4"]\n').warnings)
    assert not any("LoRA+" in w for w in musubi(wan + 'network_args = ["loraplus_unet_lr_ratio=4"]\n').warnings)


def test_a_schedule_free_optimizer_runs_at_a_constant_rate_in_sd_scripts() -> None:
    """get_scheduler_fix gives schedule-free optimizers a dummy scheduler: lr_scheduler and its warmup go unused."""
    imported = sd_scripts('optimizer_type = "AdamWScheduleFree"\nlr_scheduler = "cosine"\nlr_warmup_steps = 100')
    assert imported.config["scheduler"] == "constant" and imported.config["warmup_steps"] == 0
    assert "ignores lr_scheduler 'cosine'" in hint(imported, "scheduler")
    quiet = sd_scripts('optimizer_type = "AdamWScheduleFree"\nlr_scheduler = "constant"')
    assert quiet.config["scheduler"] == "constant" and not any(w.startswith("scheduler: ") for w in quiet.warnings)
    scheduled = sd_scripts('optimizer_type = "AdamW"\nlr_scheduler = "cosine"')
    assert scheduled.config["scheduler"] == "cosine"
    # The kohya_ss GUI and musubi-tuner build their schedules with the same code.
    for other in (
        gui(optimizer="AdamWScheduleFree", lr_scheduler="cosine", lr_warmup=10),
        musubi(
            'dit = "/m/wan2.1_t2v_14B_bf16.safetensors"\nnetwork_module = "networks.lora_wan"\n'
            'optimizer_type = "schedulefree.AdamWScheduleFree"\nlr_scheduler = "cosine"\n'
        ),
    ):
        assert other.config["scheduler"] == "constant" and "ignores lr_scheduler" in hint(other, "scheduler")


@pytest.mark.parametrize(
    ("text", "field_name", "says"),
    [
        ('optimizer_type = "AdaFactor"', "scheduler", "Adafactor's schedule is computed inside the optimizer"),
        ('lr_scheduler = "adafactor:1e-4"', "scheduler", "Adafactor's schedule is computed inside the optimizer"),
        ('lr_scheduler_type = "torch.optim.lr_scheduler.StepLR"', "scheduler", "custom scheduler class"),
        ('lr_scheduler = "rex"', "scheduler", "'rex' is not a schedule LRTool can integrate"),  # musubi-tuner only
        ('lr_scheduler = "cosine_with_min_lr"', "min_lr_ratio", "needs lr_scheduler_min_lr_ratio"),
        ('optimizer_type = "dadaptation.experimental.DAdaptAdamPreprint"', "optimizer", "sets its own step size"),
        ('optimizer_type = "Sophia"', "optimizer", "'Sophia' is not in LRTool's optimizer list"),
    ],
)
def test_what_lrtool_cannot_model_is_missing_with_a_reason(text: str, field_name: str, says: str) -> None:
    imported = sd_scripts(text)
    assert field_name in imported.missing_fields
    assert field_name not in imported.config
    assert says in hint(imported, field_name)


@pytest.mark.parametrize(
    ("name", "optimizer"),
    [
        ("AdamW", "adamw"),
        ("PagedAdamW32bit", "adamw"),
        ("SGDNesterov8bit", "sgd_8bit"),
        ("bitsandbytes.optim.PagedAdEMAMix8bit", "ademamix_8bit"),
        ("torch.optim.AdamW", "adamw"),
        ("Lion", "lion"),
    ],
)
def test_sd_scripts_optimizer_spellings(name: str, optimizer: str) -> None:
    assert sd_scripts(f'optimizer_type = "{name}"').config["optimizer"] == optimizer


def test_sd_scripts_defaults_and_refusals() -> None:
    imported = sd_scripts("")
    assert (imported.config["rank"], imported.config["alpha"]) == (4, 1.0)  # networks/lora.py
    assert imported.config["optimizer"] == "adamw" and imported.config["scheduler"] == "constant"
    assert any("default 2e-06" in warning for warning in imported.warnings)
    assert sd_scripts("use_8bit_adam = true").config["optimizer"] == "adamw_8bit"
    assert "steps" in sd_scripts("max_train_epochs = 3").missing_fields
    assert import_trainer_config(b"network_dim = 4\n", "c.toml").config["steps"] == 1600
    with pytest.raises(TrainerConfigError, match="would warm up for the whole run"):
        sd_scripts("lr_warmup_steps = 100.0")
    refused = sd_scripts('lr_scheduler = "constant"\nlr_warmup_steps = 50')
    assert any("refuses warmup" in warning for warning in refused.warnings)


def test_without_its_dataset_config_the_fallbacks_are_used_and_it_says_so() -> None:
    imported = import_trainer_config((OWN / "sd_scripts_pony.toml").read_bytes(), "pony.toml")
    assert (imported.config["batch_size"], imported.config["resolution"]) == (1, 1024)  # train_batch_size, "1024,1024"
    assert any("dataset_config 'sd_scripts_pony_dataset.toml' was not given" in w for w in imported.warnings)
    assert "/data/pony_character" not in hint(imported, "images")
    content = _read(SHARED / "kohya_ss_gui/locon-AdamW8bit-toml.json")
    imported = import_trainer_config(content, "locon.json")
    assert (imported.config["batch_size"], imported.config["resolution"]) == (4, 512)  # train_batch_size, "512,512"
    assert any("dataset_config './test/config/dataset.toml' was not given" in w for w in imported.warnings)


def test_a_dataset_file_other_than_the_one_the_config_names_is_flagged() -> None:
    pony = EXAMPLES[4]
    content, dataset = pony.content(), pony.dataset_content()
    right = import_trainer_config(content, dataset_content=dataset, dataset_filename="sd_scripts_pony_dataset.toml")
    assert not any("was given" in warning for warning in right.warnings)
    wrong = import_trainer_config(content, dataset_content=dataset, dataset_filename="other.toml")
    assert (
        "the config names the dataset file 'sd_scripts_pony_dataset.toml', but 'other.toml' was given" in wrong.warnings
    )


def test_sd_scripts_fine_tuning_metadata_repeats_are_read_and_folder_repeats_asked_for() -> None:
    listed = sd_scripts('in_json = "/data/meta_lat.json"\ndataset_repeats = 3\nmax_train_epochs = 2')
    assert "the images listed in '/data/meta_lat.json'" in hint(listed, "images")
    assert "distinct" in hint(listed, "images") and "× 3" not in hint(listed, "images")
    assert listed.config["repeats"] == 3
    assert listed.missing_fields == ("steps", "images", "objective")
    folders = sd_scripts('train_data_dir = "/data/train"')
    assert "the images in the folders of '/data/train'" in hint(folders, "images")
    assert folders.missing_fields == ("images", "objective", "repeats")
    assert "('10_name': 10)" in hint(folders, "repeats")
    assert hint(folders, "repeats").endswith("accepted: an integer from 1 to 10,000")
    assert hint(folders, "images").endswith("accepted: an integer from 1 to 10,000,000")


def gui(**settings: Any) -> ImportedConfig:
    base: dict[str, Any] = {
        "LoRA_type": "Standard",
        "pretrained_model_name_or_path": "runwayml/stable-diffusion-v1-5",
        "train_data_dir": "/data/img",
        "max_resolution": "512,512",
        "train_batch_size": 2,
        "learning_rate": 1e-4,
        "network_dim": 8,
        "network_alpha": 4,
    }
    overrides = settings.pop("overrides", None)
    return import_trainer_config(json.dumps(base | settings).encode(), "gui.json", overrides=overrides)


def test_kohya_ss_gui_rules() -> None:
    # the GUI counts images × folder repeats / batch / accumulation × epoch, twice with regularization images
    counted = gui(epoch=5, reg_data_dir="/data/reg", gradient_accumulation_steps=2, overrides={"images": 4})
    assert "steps" in counted.missing_fields and "repeats" in counted.missing_fields  # the folder names say them
    counted = gui(
        epoch=5, reg_data_dir="/data/reg", gradient_accumulation_steps=2, overrides={"images": 4, "repeats": 10}
    )
    assert (counted.config["images"], counted.config["repeats"]) == (4, 10)
    assert counted.config["steps"] == math.ceil(4 * 10 / 2 / 2 * 5 * 2)
    # max_train_epochs wins, counted by sd-scripts with its processes
    epochs = gui(max_train_epochs=3, num_processes=2, overrides={"images": 4, "repeats": 10})
    assert epochs.config["batch_size"] == 4  # 2 per process × 2 processes
    assert epochs.config["steps"] == 3 * math.ceil(math.ceil(4 * 10 / 2) / 2)
    assert gui(max_train_steps="750").config["steps"] == 750
    # warmup: explicit steps beat the percentage
    assert gui(lr_warmup=10, lr_warmup_steps=40, lr_scheduler="linear").config["warmup_steps"] == 40
    # blank cycles load as 1 (update_my_data)
    assert gui(lr_scheduler="cosine_with_restarts", lr_scheduler_num_cycles="").config["num_cycles"] == 1.0
    # unet_lr set and text_encoder_lr 0: the GUI trains the U-Net only
    unet_only = gui(unet_lr=3e-4, text_encoder_lr=0.0)
    assert unet_only.learning_rates == (FoundLearningRate("unet_lr", 3e-4), FoundLearningRate("learning_rate", 1e-4))
    assert not any("text encoder" in warning for warning in unet_only.warnings)
    assert any("lr_warmup: the GUI replaces 'ten'" in warning for warning in gui(lr_warmup="ten").warnings)


def test_kohya_ss_gui_with_a_dataset_config() -> None:
    dataset = (OWN / "sd_scripts_pony_dataset.toml").read_bytes()
    settings = {"LoRA_type": "Standard", "sdxl": True, "dataset_config": "d.toml", "train_batch_size": 1}
    settings |= {"pretrained_model_name_or_path": "/m/sd_xl_base_1.0.safetensors", "epoch": 4, "max_train_steps": ""}
    imported = import_trainer_config(json.dumps(settings).encode(), "g.json", dataset_content=dataset)
    assert (imported.config["batch_size"], imported.config["resolution"]) == (4, 1024)  # the dataset config's
    assert imported.config["steps"] == 1600  # the GUI does not count epochs with a dataset config
    assert "sd-scripts trains its default 1600 steps" in " ".join(imported.warnings)
    settings |= {"max_train_steps": 1200, "lr_warmup": 5, "lr_scheduler": "linear"}
    imported = import_trainer_config(json.dumps(settings).encode(), "g.json", dataset_content=dataset)
    assert (imported.config["steps"], imported.config["warmup_steps"]) == (1200, 60)  # the GUI turns 5 % into steps


@pytest.mark.parametrize(
    ("settings", "model", "says"),
    [
        ({"sdxl": True, "pretrained_model_name_or_path": "/m/sdxl_lightning_4step.safetensors"}, "sdxl_lightning", ""),
        ({"sdxl": True, "pretrained_model_name_or_path": "stabilityai/sdxl-turbo"}, "sdxl_turbo", ""),
        ({"v2": True, "pretrained_model_name_or_path": "/m/model.safetensors"}, "sd21", ""),
        ({"flux1_checkbox": True, "pretrained_model_name_or_path": "/m/flux1-dev.safetensors"}, "flux1", ""),
        ({"pretrained_model_name_or_path": "/m/sd_xl_base_1.0.safetensors"}, "sd15", "looks like SDXL, but"),
        ({"sd3_checkbox": True}, None, "Stable Diffusion 3, which LRTool has no calibration for"),
    ],
)
def test_kohya_ss_gui_model_checkboxes(settings: dict[str, Any], model: str | None, says: str) -> None:
    imported = gui(**settings)
    assert imported.config.get("model") == model
    assert says in " ".join(imported.warnings)


def onetrainer(**settings: Any) -> ImportedConfig:
    return import_trainer_config(json.dumps({"__version": 10} | settings).encode(), "preset.json")


def test_onetrainer_defaults_fill_a_partial_preset() -> None:
    imported = onetrainer()
    assert imported.config == {
        "model": "sd15",
        "resolution": 512,
        "batch_size": 1,
        "grad_accum": 1,
        "rank": 16,
        "alpha": 1.0,
        "network": "lora",
        "optimizer": "adamw",
        "scheduler": "constant",
        "warmup_steps": 200,
        "trainer": "onetrainer",
    }
    assert any("training_method 'FINE_TUNE': LRTool models LoRA training" in w for w in imported.warnings)
    assert any("text_encoder LoRA also trains" in w for w in imported.warnings)  # on by default


def test_onetrainer_rules() -> None:
    assert onetrainer(learning_rate_warmup_steps=250, gradient_accumulation_steps=2).config["warmup_steps"] == 125
    assert onetrainer(learning_rate_warmup_steps=0.2).config["warmup_fraction"] == 0.2
    with pytest.raises(TrainerConfigError, match="the warmup would last the whole run"):
        onetrainer(learning_rate_warmup_steps=1.0)
    assert onetrainer(resolution="1024x768").config["resolution"] == 887
    both = onetrainer(learning_rate_scaler="BOTH", batch_size=2, gradient_accumulation_steps=8)
    assert both.learning_rate_scale == 4.0
    restarts = onetrainer(learning_rate_scheduler="COSINE_WITH_RESTARTS", learning_rate_cycles=2.5)
    assert (restarts.config["num_cycles"], restarts.config["min_lr_ratio"]) == (2.5, 0.0)
    assert "ADAFACTOR" in hint(onetrainer(learning_rate_scheduler="ADAFACTOR"), "scheduler")
    assert "CUSTOM" in hint(onetrainer(learning_rate_scheduler="CUSTOM"), "scheduler")
    assert onetrainer(optimizer={"optimizer": "PRODIGY"}).config["optimizer"] == "prodigy"
    assert onetrainer(optimizer="LION").config["optimizer"] == "lion"  # an old preset's plain name
    assert onetrainer(optimizer={"optimizer": "ADAMW_ADV"}).config["optimizer"] == "adamw"
    assert (
        onetrainer(optimizer={"optimizer": "PRODIGY_PLUS_SCHEDULE_FREE"}).config["optimizer"] == "prodigy_schedulefree"
    )
    assert onetrainer(model_type="Z_IMAGE").config["model"] == "z_image"
    assert onetrainer(model_type="QWEN").config["model"] == "qwen_image"
    klein = onetrainer(model_type="FLUX_2", base_model_name="black-forest-labs/FLUX.2-klein-base-9B")
    assert klein.config["model"] == "flux2_klein"  # OneTrainer's one FLUX_2 type trains dev and klein
    assert "no calibration" in hint(onetrainer(model_type="STABLE_DIFFUSION_15_FANCY"), "model")
    assert onetrainer(peft_type="LOHA").config["network"] == "loha"
    assert onetrainer(lora_decompose=True).config["network"] == "dora"
    sd = onetrainer(unet={"learning_rate": 5e-5}, learning_rate=1e-4)
    assert sd.learning_rates == (
        FoundLearningRate("unet.learning_rate", 5e-5),
        FoundLearningRate("learning_rate", 1e-4),
    )


def ai_toolkit(
    train: str = "", model: str = "name_or_path: black-forest-labs/FLUX.1-dev\n        is_flux: true"
) -> Any:
    text = f"""job: extension
config:
  name: test
  process:
    - type: sd_trainer
      network: {{type: lora, linear: 8}}
      datasets:
        - folder_path: /data
      train:
        lr: 1e-4
{train}
      model:
        {model}
"""
    return import_trainer_config(text.encode(), "job.yaml")


def test_ai_toolkit_rules() -> None:
    plain = ai_toolkit()
    assert (plain.config["rank"], plain.config["alpha"]) == (8, 1.0)  # linear_alpha defaults to alpha, 1.0
    assert (plain.config["steps"], plain.config["resolution"]) == (1000, 512)  # ai-toolkit's defaults
    legacy = ai_toolkit("        steps: 2000\n        gradient_accumulation_steps: 4")
    assert (legacy.config["steps"], legacy.config["grad_accum"]) == (500, 4)
    warm = ai_toolkit("        lr_scheduler: constant_with_warmup")
    assert warm.config["warmup_steps"] == 1000
    ramp = ai_toolkit("        lr_scheduler: linear\n        lr_scheduler_params: {start_factor: 0.5, end_factor: 0.1}")
    assert (ramp.config["start_factor"], ramp.config["end_factor"]) == (0.5, 0.1)
    assert "not a schedule LRTool can integrate" in hint(ai_toolkit("        lr_scheduler: step"), "scheduler")
    assert ai_toolkit("        optimizer: automagic3").config["optimizer"] == "automagic"
    assert "sets its own step size" in hint(ai_toolkit("        optimizer: ademamix_schedulefree"), "optimizer")
    assert ai_toolkit("        optimizer: adamw8").config["optimizer"] == "adamw_8bit"
    assert ai_toolkit(model="name_or_path: Tongyi-MAI/Z-Image-Turbo\n        arch: zimage").config["model"] == "z_image"
    assert ai_toolkit(model="name_or_path: Qwen/Qwen-Image\n        arch: qwen_image").config["model"] == "qwen_image"
    klein = ai_toolkit(model="name_or_path: x/y\n        arch: flux2_klein_9b")
    assert klein.config["model"] == "flux2_klein" and not any(w.startswith("model:") for w in klein.warnings)
    assert ai_toolkit(model="name_or_path: Wan-AI/Wan2.1-T2V-14B\n        arch: 'wan21:14b'").config["model"] == "wan"
    assert "no calibration" in hint(ai_toolkit(model="name_or_path: x/y\n        arch: hunyuan_image"), "model")
    unflagged = ai_toolkit(model="name_or_path: black-forest-labs/FLUX.1-dev")
    assert unflagged.config["model"] == "sd15"  # without arch or flags ai-toolkit loads SD 1.x
    assert any("looks like FLUX.1, but no arch or model flag" in warning for warning in unflagged.warnings)


def musubi(text: str, dataset: bytes = b"") -> ImportedConfig:
    return import_trainer_config(text.encode(), "m.toml", dataset_content=dataset)


def test_musubi_tuner_rules() -> None:
    alone = musubi('dit = "/m/flux2-dev.safetensors"\nnetwork_module = "networks.lora_flux_2"\n')
    assert alone.config["model"] == "flux2_dev"
    assert {"batch_size", "resolution"} <= set(alone.missing_fields)  # they live in the dataset config
    klein = musubi(
        'dit = "/m/flux-2-klein-4b.safetensors"\nnetwork_module = "networks.lora_flux_2"\nmodel_version = "klein-4b"\n'
    )
    assert klein.config["model"] == "flux2_klein" and "model" not in klein.missing_fields
    wan = musubi('dit = "/m/wan2.1_t2v_14B_bf16.safetensors"\nnetwork_module = "networks.lora_wan"\n')
    assert wan.config["model"] == "wan"
    video = musubi(
        'dit = "/m/z_image.safetensors"\n',
        b'[[datasets]]\nvideo_directory = "/v"\nnum_repeats = 2\n',
    )
    assert video.config["resolution"] == round(math.sqrt(960 * 544))  # musubi-tuner's default 960x544
    assert any("video dataset" in warning for warning in video.warnings)
    assert "'/v'" in hint(video, "images") and video.config["repeats"] == 2
    assert "repeats" in alone.missing_fields and "num_repeats" in hint(alone, "repeats")


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("stabilityai/stable-diffusion-xl-base-1.0", "sdxl"),
        ("/models/ponyDiffusionV6XL_v6.safetensors", "pony"),
        ("z_image_turbo_bf16.safetensors", "z_image"),
        ("black-forest-labs/FLUX.2-dev", "flux2_dev"),
        ("flux1-schnell.safetensors", "flux1_schnell"),
        ("stabilityai/stable-diffusion-2-1", "sd21"),
        ("stable-diffusion-v1-5/stable-diffusion-v1-5", "sd15"),
        ("RealVisXL_V4.0.safetensors", "sdxl"),
        ("sdxl_lightning_8step_unet.safetensors", "sdxl_lightning"),
        ("black-forest-labs/FLUX.2-klein-4B", "flux2_klein"),
        ("Qwen/Qwen-Image", "qwen_image"),
        ("tencent/HunyuanImage-2.1", Unsupported("HunyuanImage")),
        ("my_model.safetensors", None),
    ],
)
def test_model_names(name: str, model: str | Unsupported | None) -> None:
    assert from_names([name]) == model


def test_resolutions_in_equal_shares_average_their_effect() -> None:
    assert combine([512, 768, 1024], 0.91) == 765
    assert combine([512, 768, 1024], 1.0) == 768
    assert combine([1024], 0.85) == 1024


@pytest.mark.parametrize(
    ("value", "original", "written"),
    [
        (3e-4, "1e-4", "3e-4"),
        (1.5e-4, "5e-05", "1.5e-04"),
        (3e-4, "1.0e-4", "3.0e-4"),
        (3e-4, "1E+00", "3E-04"),
        (3e-4, "0.0001", "0.0003"),
        (1.2345e-4, "2", "0.00012345"),
    ],
)
def test_numbers_keep_their_written_form(value: float, original: str, written: str) -> None:
    assert like(value, original) == written
    assert float(written) == value


# --- Editing layers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "exported"),
    [
        (b"{}", b'{"learning_rate": 0.0002}'),
        (
            b'{"model_type": "FLUX_DEV_1", "batch_size": 2}',
            b'{"model_type": "FLUX_DEV_1", "batch_size": 2, "learning_rate": 0.0002}',
        ),
        (
            b'{\r\n\t"model_type": "FLUX_DEV_1"\r\n}\r\n',
            b'{\r\n\t"model_type": "FLUX_DEV_1",\r\n\t"learning_rate": 0.0002\r\n}\r\n',
        ),
    ],
)
def test_json_insertion_follows_the_file_layout(content: bytes, exported: bytes) -> None:
    assert export_trainer_config(content, "o.json", format="onetrainer", learning_rate=2e-4) == exported


def test_json_edits_find_values_after_nested_lists_and_escapes() -> None:
    document = {
        "concepts": [{"path": '/data/a "quoted"', "balancing": 2.0, "tags": [1, [2, 3], {"x": None}]}],
        "samples": [],
        "model_type": "STABLE_DIFFUSION_XL_10_BASE",
        "unet": {"learning_rate": 1e-4, "train": True},
        "learning_rate": 3e-4,
    }
    content = json.dumps(document, indent=2).encode()
    imported = import_trainer_config(content, "o.json")
    assert """'/data/a "quoted"'""" in hint(imported, "images")  # inline concepts
    assert imported.config["repeats"] == 2  # their balancing
    exported = json.loads(export_trainer_config(content, "o.json", learning_rate=2e-4))
    assert exported == document | {"unet": {"learning_rate": 2e-4, "train": True}, "learning_rate": 6e-4}


def test_yaml_edits_go_through_anchors_and_merge_keys() -> None:
    content = (
        b"defaults: &defaults\n  lr: 1e-4  # shared\n  steps: 500\n"
        b"config:\n  process:\n    - train:\n        <<: *defaults\n        batch_size: 2\n"
        b"      model: {name_or_path: flux1-dev.safetensors, is_flux: true}\n"
    )
    imported = import_trainer_config(content, "job.yaml")
    assert imported.config["steps"] == 500
    assert imported.learning_rates == (FoundLearningRate("config.process[0].train.lr", 1e-4),)
    exported = export_trainer_config(content, "job.yaml", learning_rate=4e-4)
    assert exported == content.replace(b"lr: 1e-4  # shared", b"lr: 4e-4  # shared")


def test_toml_sets_every_copy_and_adds_at_the_top_without_sections() -> None:
    twice = b"[a]\nlearning_rate = 1e-4\n[b]\nlearning_rate = 2e-4 # the one sd-scripts uses\nnetwork_dim = 4\n"
    assert import_trainer_config(twice, "c.toml").learning_rates == (
        FoundLearningRate("a.learning_rate", 2e-4),
        FoundLearningRate("b.learning_rate", 2e-4),
    )
    exported = export_trainer_config(twice, "c.toml", learning_rate=5e-4)
    assert exported == twice.replace(b"1e-4", b"5e-4").replace(b"2e-4", b"5e-4")
    flat = b"network_dim = 8\n"
    assert export_trainer_config(flat, "c.toml", learning_rate=5e-4) == b"network_dim = 8\nlearning_rate = 5e-4\n"


def test_yaml_scalars_are_read_as_yaml_gives_them() -> None:
    content = (
        b"config:\n  process:\n    - train: {lr: 1.0e-4, steps: 0x10, batch_size: 1_0}\n"
        b"      model: {name_or_path: flux1-dev, is_flux: yes, created: 2024-05-01}\n"
        b"      network: {linear: 8, 3: numeric key}\n"
    )
    imported = import_trainer_config(content, "job.yaml")
    assert (imported.config["steps"], imported.config["batch_size"]) == (16, 10)
    assert imported.config["model"] == "flux1"  # `yes` is true to ai-toolkit's YAML 1.1 loader
    with pytest.raises(TrainerConfigError, match="a mapping key must be plain text or a number"):
        import_trainer_config(b"config:\n  process:\n    - {[a]: 1}\n", "job.yaml")


# --- Images and repeats ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RepeatsCase:
    """A file whose dataset settings say the repeats; `steps` is the trainer's count for `images` × `repeats`."""

    name: str
    dataset: str
    repeats: int
    images: int
    steps: int

    def imported(self, **overrides: Any) -> ImportedConfig:
        return import_trainer_config(
            (OWN / self.name).read_bytes(),
            self.name,
            dataset_content=(OWN / self.dataset).read_bytes() if self.dataset else b"",
            dataset_filename=self.dataset,
            overrides=overrides or None,
        )


REPEATS_CASES = [
    # [general] num_repeats 10 for both subsets; 10 epochs × ceil(15 × 10 / batch 2)
    RepeatsCase("sd_scripts_repeats.toml", "sd_scripts_repeats_dataset.toml", 10, 15, 10 * math.ceil(15 * 10 / 2)),
    # the GUI leaves max_train_epochs 4 to sd-scripts: 4 × 30 × 5 / batch 1
    RepeatsCase("kohya_ss_gui_repeats.json", "kohya_ss_gui_repeats_dataset.toml", 5, 30, 4 * 30 * 5),
    # 6 epochs × ceil(ceil(25 × 4 / batch 2) / accumulation 2)
    RepeatsCase("musubi_repeats.toml", "musubi_repeats_dataset.toml", 4, 25, 6 * math.ceil(math.ceil(25 * 4 / 2) / 2)),
    # train.steps: the images and repeats do not change them
    RepeatsCase("ai_toolkit_repeats.yaml", "", 5, 40, 2000),
    # two concepts balanced 3.0 REPEATS (the validation concept does not train): 10 epochs × (50 × 3) // batch 2
    RepeatsCase("onetrainer_repeats.json", "onetrainer_repeats_concepts.json", 3, 50, 10 * (50 * 3 // 2)),
]


@pytest.mark.parametrize("case", REPEATS_CASES, ids=lambda case: case.name)
def test_images_and_repeats_come_out_separately(case: RepeatsCase) -> None:
    asked = case.imported()
    assert asked.config["repeats"] == case.repeats  # read from the file
    assert "images" in asked.missing_fields and "repeats" not in asked.missing_fields
    assert "distinct" in hint(asked, "images") and hint(asked, "images").endswith("from 1 to 10,000,000")
    given = case.imported(images=case.images, objective="Character")
    assert given.missing_fields == ()
    assert (given.config["images"], given.config["repeats"], given.config["steps"]) == (
        case.images,
        case.repeats,
        case.steps,
    )
    TrainingConfig(**given.config)


@pytest.mark.parametrize("case", REPEATS_CASES, ids=lambda case: case.name)
def test_steps_are_what_images_times_repeats_gave_before(case: RepeatsCase) -> None:
    """Import used to take images × repeats as the image count: the steps counted from it are unchanged."""
    separate = case.imported(images=case.images)
    folded = case.imported(images=case.images * case.repeats, repeats=1)
    assert separate.config["steps"] == folded.config["steps"] == case.steps


def test_only_the_calibrated_images_factor_sees_repeats_apart_from_images() -> None:
    """The energy formula multiplies images by repeats, so its answer for a file is unchanged; the
    calibrated formula's images factor counts distinct images, so it now recommends (repeats)^-0.1 ×."""
    from engine_server.engine import calculate

    case = REPEATS_CASES[0]
    separate = case.imported(images=case.images, objective="Character").config
    folded = separate | {"images": case.images * case.repeats, "repeats": 1}

    def rate(config: dict[str, Any], formula: str) -> float:
        return calculate(TrainingConfig(**config | {"formula": formula})).recommended_lr

    assert rate(separate, "calibrated") == pytest.approx(rate(folded, "calibrated") * case.repeats**-0.1, rel=1e-9)
    assert rate(separate, "energy") == pytest.approx(rate(folded, "energy"), rel=1e-12)


def test_datasets_repeating_differently_give_their_mean_and_say_so() -> None:
    dataset = (
        b'[[datasets]]\nresolution = 1024\nbatch_size = 1\n[[datasets.subsets]]\nimage_dir = "/a"\nnum_repeats = 10\n'
        b'[[datasets.subsets]]\nimage_dir = "/b"\nnum_repeats = 3\n'
    )
    text = b'pretrained_model_name_or_path = "sd_xl_base_1.0.safetensors"\nmax_train_epochs = 2\n'
    imported = import_trainer_config(text, "c.toml", dataset_content=dataset, overrides={"images": 20})
    assert imported.config["repeats"] == 7  # the mean 6.5, rounded half up
    said = hint(imported, "repeats")
    assert "'/a' × 10, '/b' × 3" in said and "mean, 7" in said and "images-weighted mean" in said
    # steps with the unrounded mean: exact when the subsets hold 10 images each
    assert imported.config["steps"] == 2 * (10 * 10 + 10 * 3)
    given = import_trainer_config(text, "c.toml", dataset_content=dataset, overrides={"images": 20, "repeats": 4})
    assert given.config["steps"] == 2 * 20 * 4  # the user's repeats replace the file's in the count


def test_onetrainer_balancing_fractions_and_samples() -> None:
    def concepts(*entries: dict[str, Any], **overrides: Any) -> ImportedConfig:
        preset = {"__version": 10, "epochs": 10, "batch_size": 2, "concepts": list(entries)}
        return import_trainer_config(json.dumps(preset).encode(), "p.json", overrides=overrides or None)

    half = concepts({"path": "/c", "balancing": 1.5}, images=50)
    assert half.config["repeats"] == 2  # whole passes
    assert half.config["steps"] == 10 * (75 // 2)  # OneTrainer's 1.5 × 50 samples, not 2 × 50
    assert "repeats 1.5 times" in hint(half, "repeats")
    sampled = concepts({"path": "/c", "balancing": 200, "balancing_strategy": "SAMPLES"})
    assert "repeats" in sampled.missing_fields and "200 samples per epoch" in hint(sampled, "repeats")
    disabled = concepts({"path": "/c", "balancing": 4}, {"path": "/d", "enabled": False, "balancing": 9})
    assert disabled.config["repeats"] == 4
