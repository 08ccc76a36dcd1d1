"""Every constant of the LRTool model, defined once.

Models, architectures, optimizers, objectives, trainers with their schedules,
formula sets, the calibration constants and the accepted input ranges. The
values are LRTool 1.0's calibration (docs/model.md §2); the aliases are the
spellings trainers write in their config files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

from ..name_matching import name_key, shortenings
from . import _calibration_data

# --- Calibration constants (docs/model.md §2) -----------------------------------

#: Each extra accumulation step counts as 0.7 of a real batch sample.
ACCUM_EFFICIENCY = 0.7
#: Curvature of the stability score below the target energy (undershoot).
UNDERSHOOT_K = 0.65
#: Curvature of the efficiency score around energy ratio 1.
EFFICIENCY_SENSITIVITY = 2.0
#: LRTool 1.0's cosine schedules bottom out at this multiplier.
COSINE_FLOOR = 0.10
#: LRTool 1.0's Rex schedule decays as exp(-REX_DECAY_K * t / N).
REX_DECAY_K = 4.0
#: The REX schedule of OneTrainer and musubi-tuner: z / (REX_ALPHA + REX_BETA · z),
#: z the remaining fraction of the run (arXiv 2107.04197).
REX_ALPHA = 0.1
REX_BETA = 0.9
#: Gradient noise never damps overshoot curvature below this factor.
NOISE_FACTOR_FLOOR = 0.35

# --- Score bands (LRTool 1.0) ------------------------------------------------

STABILITY_SAFE = 85.0
STABILITY_CAUTION = 65.0
EFFICIENCY_OPTIMAL = 90.0
EFFICIENCY_SUBOPTIMAL = 60.0

# --- Warning thresholds ------------------------------------------------------

#: Recommended learning rates outside this range are legal but suspicious.
PLAUSIBLE_LR_MIN = 1e-7
PLAUSIBLE_LR_MAX = 1e-2
#: Warmup longer than this fraction of the run leaves little time at full LR.
WARMUP_WARN_FRACTION = 0.5
#: Alpha above this multiple of rank scales updates up unusually far.
ALPHA_WARN_RATIO = 4.0
#: A schedule whose multiplier is zero on at least this share of the steps.
ZERO_SCHEDULE_WARN_FRACTION = 0.25

# --- Recommendation band -------------------------------------------------------

#: z of the 10th and 90th percentiles: recommended_low / _high bound an 80 % band.
BAND_Z_80 = 1.2815515655446004
#: Presets write round rates (1e-4, 2e-4): a recommendation within this factor of the evidence
#: band's 10th–90th percentiles is not said to leave it.
EVIDENCE_ROUNDING = 1.25
#: Presets an evidence band needs before a narrower slice (one network) is preferred to a
#: broader one: one or two presets show a choice, not a spread.
EVIDENCE_MIN_PRESETS = 3
#: Spread (1 sd of the natural log) of the best rate around formula set energy's
#: recommendation, as measured on public presets (scripts/calibrate.py); the calibrated
#: formula set carries its own.
POPULATION_LOG_SD = _calibration_data.ENERGY_RESIDUAL_LOG_SD

# --- Slider ------------------------------------------------------------------

OFFSET_MIN = -1.0
OFFSET_MAX = 1.0


# --- Catalog entries ---------------------------------------------------------


class _Named(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def aliases(self) -> tuple[str, ...]: ...


EntryT = TypeVar("EntryT", bound=_Named)


@dataclass(frozen=True, slots=True)
class Architecture:
    id: str
    display_name: str
    fragility: float
    resolution_exponent: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Model:
    """A base model (or a fine-tune of one). `family` is the calibrated formula set's model
    family (fine-tunes share their base's); `base_energy` and `arch` are LRTool 1.0's
    calibration, which only its nine models have (formula sets energy and lrtool-1.0)."""

    id: str
    display_name: str
    native_resolution: int
    base_energy: float | None
    arch: Architecture | None
    aliases: tuple[str, ...] = ()
    family: str = ""
    note: str = ""  # said with every calibrated result for this model (e.g. what it resolves to)

    @property
    def family_id(self) -> str:
        return self.family or self.id


@dataclass(frozen=True, slots=True)
class Family:
    """A model family of the calibrated formula set; `group` shares evidence between
    families of one architecture when a family has few presets of its own."""

    id: str
    display_name: str
    group: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Network:
    """A network type (LoRA and the LyCORIS family)."""

    id: str
    display_name: str
    description: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Optimizer:
    """`modifier` is LRTool 1.0's; `family` groups optimizers whose rates scale alike for the
    calibrated formula set (OPTIMIZER_FAMILIES)."""

    id: str
    display_name: str
    modifier: float | None
    aliases: tuple[str, ...] = ()
    family: str = "adamw"
    #: LRTool 1.0's own spelling where it differs (written into its profile files).
    lrtool_1_0_name: str = ""
    #: The rate's scale against its family's, with `note` saying where it comes from.
    scale: float = 1.0
    #: What sets this optimizer apart from its family, in words (added to the family's reason).
    note: str = ""
    #: The optimizer replaces the learning-rate schedule (Defazio et al. 2024): sd-scripts and
    #: musubi-tuner then run it at a constant rate, whatever lr_scheduler says.
    schedule_free: bool = False


@dataclass(frozen=True, slots=True)
class OptimizerFamily:
    """How an optimizer family's rate relates to AdamW's, and why."""

    id: str
    display_name: str
    #: The rate's scale against AdamW; None: fitted to the preset corpus (calibration data).
    scale: float | None
    reason: str
    #: The optimizer sets its own step size: the rate is recommended as `start_rate`, with `settings`.
    adaptive: bool = False
    aliases: tuple[str, ...] = ()
    #: An adaptive family's recommended rate: a multiplier on the learned step (1.0), or where a
    #: rate the optimizer adapts starts.
    start_rate: float = 1.0
    #: An adaptive family's settings that matter, in words (shown with the recommendation).
    settings: str = ""


@dataclass(frozen=True, slots=True)
class Objective:
    id: str
    display_name: str
    energy_modifier: float
    overshoot_sensitivity: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NumberRange:
    """An accepted numeric range, able to describe itself to a person."""

    kind: Literal["int", "float"]
    minimum: float
    maximum: float
    minimum_exclusive: bool = False
    maximum_exclusive: bool = False

    @overload
    def contains(self, value: float) -> bool: ...

    @overload
    def contains(self, value: NDArray[Any]) -> NDArray[np.bool_]: ...

    def contains(self, value: Any) -> Any:
        """Whether `value` is accepted; for an array, element by element (NaN and infinities never are)."""
        above = value > self.minimum if self.minimum_exclusive else value >= self.minimum
        below = value < self.maximum if self.maximum_exclusive else value <= self.maximum
        return above & below

    def describe(self) -> str:
        low = _format_number(self.minimum)
        high = _format_number(self.maximum)
        if self.kind == "int" and not (self.minimum_exclusive or self.maximum_exclusive):
            return f"an integer from {low} to {high}"
        noun = "an integer" if self.kind == "int" else "a finite number"
        lower = f"above {low}" if self.minimum_exclusive else f"at least {low}"
        upper = f"below {high}" if self.maximum_exclusive else f"at most {high}"
        return f"{noun} {lower} and {upper}"


def _format_number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class ScheduleParameter:
    """A schedule parameter field of the training configuration."""

    name: str
    description: str
    accepted: NumberRange | None  # None: a text parameter (step rules)


@dataclass(frozen=True, slots=True)
class ScheduleParameterUse:
    """How one schedule uses a parameter: its default, or that it is required."""

    name: str
    default: float | None = None
    required: bool = False
    default_text: str = ""

    def describe_default(self) -> str:
        if self.required:
            return "required"
        if self.default_text:
            return self.default_text
        return f"default {self.default:g}" if self.default is not None else "optional"


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    display_name: str
    description: str
    parameters: tuple[ScheduleParameterUse, ...] = ()
    takes_warmup: bool = True
    aliases: tuple[str, ...] = ()

    def parameter(self, name: str) -> ScheduleParameterUse | None:
        for use in self.parameters:
            if use.name == name:
                return use
        return None


@dataclass(frozen=True, slots=True)
class RefusedSchedule:
    """A schedule a trainer computes internally: it has no curve to integrate."""

    id: str
    display_name: str
    reason: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Trainer:
    id: str
    display_name: str
    description: str
    schedules: NamedTable[Schedule]
    refused_schedules: NamedTable[RefusedSchedule]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FormulaSet:
    id: str
    display_name: str
    description: str
    uses_trainer: bool
    aliases: tuple[str, ...] = ()


#: A typed name this long or longer that begins a known name suggests that one.
_SHORTEST_PREFIX = 4
#: Accepted-name lists name ids beside display names for tables up to this size.
_SHOW_IDS_UP_TO = 40


@dataclass(frozen=True)
class NamedTable(Generic[EntryT]):
    """Entries looked up by id, display name or alias, case- and punctuation-insensitively.

    With `qualifiers`, a name that matches nothing is tried again without the qualifiers it ends
    with, one at a time ("wan2.2-t2v-a14b" → "wan2.2-t2v" → "wan2.2"): the words that name a
    variant, size, precision or release of an entry rather than another entry."""

    kind: str
    entries: tuple[EntryT, ...]
    qualifiers: re.Pattern[str] | None = None
    _index: dict[str, EntryT] = field(init=False, repr=False, compare=False)
    _by_id: dict[str, EntryT] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {entry.id: entry for entry in self.entries})
        index: dict[str, EntryT] = {}
        for entry in self.entries:
            for spelling in (entry.id, entry.display_name, *entry.aliases):
                key = name_key(spelling)
                other = index.get(key)
                if other is not None and other is not entry:
                    raise ValueError(f"{self.kind} name {spelling!r} names both {other.id} and {entry.id}")
                index[key] = entry
        object.__setattr__(self, "_index", index)

    def __iter__(self) -> Iterator[EntryT]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, name: str) -> EntryT | None:
        found = self._by_id.get(name) or self._index.get(name_key(name))
        if found is None and self.qualifiers is not None:  # a variant's name names its entry
            shorter = map(name_key, shortenings(name, self.qualifiers))
            found = next(filter(None, map(self._index.get, shorter)), None)
        return found

    def by_id(self, entry_id: str) -> EntryT:
        """The entry with exactly this id (for names already resolved)."""
        return self._by_id[entry_id]

    def __getitem__(self, name: str) -> EntryT:
        entry = self.get(name)
        if entry is None:
            raise KeyError(name)
        return entry

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(entry.id for entry in self.entries)

    def accepted_text(self) -> str:
        """The accepted names for an error message: display names (with ids where they differ)."""
        parts = []
        # A long table (the models) lists display names alone, to keep the message readable.
        show_ids = len(self.entries) <= _SHOW_IDS_UP_TO
        for entry in self.entries:
            if not show_ids or name_key(entry.display_name) == name_key(entry.id):
                parts.append(entry.display_name)
            else:
                parts.append(f"{entry.display_name} ({entry.id})")
        return ", ".join(parts)

    def suggestion(self, name: str) -> str | None:
        """The display name closest to a misspelt name, if one is close: first a name the typed
        one begins ("adamw8" → AdamW (8-Bit), "qwen" → Qwen-Image), else the most similar."""
        typed = name_key(name)
        keys = list(self._index)
        if len(typed) >= _SHORTEST_PREFIX:
            extended = [key for key in keys if key.startswith(typed)]
            if extended:
                return self._index[min(extended, key=len)].display_name
        close = difflib.get_close_matches(typed, keys, n=1, cutoff=0.75)
        return self._index[close[0]].display_name if close else None


# --- Architectures and models (docs/model.md §2) ----------------------------------

CLASSIC_LDM = Architecture("classic_ldm", "Classic LDM (SD 1.x / 2.x)", 1.0, 0.95)
SDXL_BACKBONE = Architecture("sdxl_backbone", "SDXL backbone", 1.2, 0.925)
FLUX = Architecture("flux", "FLUX (rectified-flow DiT)", 1.25, 0.91)
DISTILLED_SDXL = Architecture("distilled_sdxl", "Distilled SDXL (Turbo)", 1.45, 0.90)
LIGHTNING_SDXL = Architecture("lightning_sdxl", "Lightning SDXL", 1.55, 0.875)
HIGHLY_COMPRESSED = Architecture("highly_compressed", "Highly compressed latent (Z-Image)", 2.2, 0.85)

ARCHITECTURES: NamedTable[Architecture] = NamedTable(
    "architecture",
    (CLASSIC_LDM, SDXL_BACKBONE, FLUX, DISTILLED_SDXL, LIGHTNING_SDXL, HIGHLY_COMPRESSED),
)

#: Groups of model families (architectures), for sharing evidence between families.
FAMILY_GROUPS: Mapping[str, str] = {
    "unet": "SD 1.x / 2.x UNets",
    "sdxl": "SDXL-class UNets",
    "flux": "FLUX-class rectified-flow transformers",
    "dit": "Other image diffusion transformers",
    "video": "Video diffusion transformers",
}

FAMILIES: NamedTable[Family] = NamedTable(
    "model family",
    tuple(
        Family(family_id, display_name, group)
        for family_id, display_name, group in (
            ("sd15", "SD1.5", "unet"),
            ("sd21", "SD2.1", "unet"),
            ("sdxl", "SDXL", "sdxl"),
            ("kolors", "Kolors", "sdxl"),
            ("playground_v25", "Playground v2.5", "sdxl"),
            ("stable_cascade", "Stable Cascade", "sdxl"),
            ("flux1", "FLUX.1", "flux"),
            ("flux2_dev", "FLUX.2", "flux"),
            ("flex", "Flex", "flux"),
            ("chroma", "Chroma", "flux"),
            ("z_image", "Z-Image", "dit"),
            ("qwen_image", "Qwen-Image", "dit"),
            ("sd35", "SD3.5", "dit"),
            ("hidream", "HiDream", "dit"),
            ("hidream_o1", "HiDream-O1", "dit"),
            ("lumina2", "Lumina 2", "dit"),
            ("krea2", "Krea 2", "dit"),
            ("cosmos3", "Cosmos 3", "dit"),
            ("ideogram4", "Ideogram 4", "dit"),
            ("ernie_image", "ERNIE-Image", "dit"),
            ("mage_flow", "Mage-Flow", "dit"),
            ("anima", "Anima", "dit"),
            ("pixart_sigma", "PixArt-Sigma", "dit"),
            ("omnigen2", "OmniGen2", "dit"),
            ("boogu_image", "Boogu-Image", "dit"),
            ("longcat_image", "LongCat-Image", "dit"),
            ("prx_pixel", "PRXPixel", "dit"),
            ("auraflow", "AuraFlow", "dit"),
            ("bria", "Bria", "dit"),
            ("kandinsky5_image", "Kandinsky5-Image", "dit"),
            ("sana", "Sana", "dit"),
            ("zlab_i1", "ZLab-I1", "dit"),
            ("wan", "Wan", "video"),
            ("hunyuan_video", "HunyuanVideo", "video"),
            ("ltx2", "LTX-2", "video"),
            ("ltx_video", "LTX-Video", "video"),
            ("cogvideox", "CogVideoX", "video"),
            ("framepack", "FramePack", "video"),
            ("kandinsky5", "Kandinsky5", "video"),
            ("kandinsky5_video", "Kandinsky5-Video", "video"),
            ("longcat_video", "LongCat-Video", "video"),
            ("sana_video", "SANA-Video", "video"),
            ("minimax_h3", "MiniMax-H3", "video"),
        )
    ),
)


def _family_model(family: Family, native_resolution: int, *aliases: str) -> Model:
    """A model that is its family's base, known to the calibrated formula set only."""
    return Model(family.id, family.display_name, native_resolution, None, None, aliases, family=family.id)


_NATIVE_RESOLUTION_1024 = 1024
#: Video families train at video sizes; 480p is their common native bucket.
_NATIVE_RESOLUTION_VIDEO = 480

#: What a model's name may end with and still name the same base: a task (Wan's T2V, I2V), a size
#: (14B, A14B), a precision or file format (fp8, GGUF Q4_K_M, .safetensors), a checkpoint's pruning,
#: a version with a dot or a v ("1.5", "v2.0"; a bare "2" may name another model: Krea 2, FLUX.2), a
#: release tag ("2509") or a video size ("720p"). Only ever tried on a name that matches nothing. The
#: clients read it from the catalog (Catalog.model_name_qualifiers), so they show such a name as its model.
_MODEL_QUALIFIER = re.compile(
    r"(?i)(?<![\s_.\-])[\s_.\-]+(?:t2v|i2v|ti2v|s2v|t2i|flf2v|a?\d+(?:\.\d+)?b|fp8|fp16|bf16|fp32|e4m3fn|e5m2|scaled|nf4|gguf"
    r"|q[2-8](?:_[0-9a-z]+)*|int8|safetensors|ckpt|pruned|emaonly|ema|v\d+(?:\.\d+)*|\d+(?:\.\d+)+|\d{4}|\d{3,4}p)$"
)

MODELS: NamedTable[Model] = NamedTable(
    "model",
    (
        Model(
            "sd15",
            "SD1.5",
            512,
            0.000630,
            CLASSIC_LDM,
            ("SD 1.5", "Stable Diffusion 1.5", "sd_v1", "v1", "v1-5", "STABLE_DIFFUSION_15", "SD1", "AnyLoRA"),
        ),
        Model(
            "sd21",
            "SD2.1",
            768,
            0.000665,
            CLASSIC_LDM,
            ("SD 2.1", "Stable Diffusion 2.1", "sd_v2", "v2", "v2-1", "STABLE_DIFFUSION_21", "SD2.x", "SD2"),
        ),
        Model(
            "sdxl",
            "SDXL",
            1024,
            0.000712,
            SDXL_BACKBONE,
            ("SDXL 1.0", "sdxl_base", "Stable Diffusion XL", "STABLE_DIFFUSION_XL_10_BASE"),
        ),
        Model(
            "pony",
            "Pony (SDXL)",
            1024,
            0.000690,
            SDXL_BACKBONE,
            ("Pony XL", "Pony Diffusion", "Pony Diffusion V6 XL", "ponyxl", "Pony", "PDXL"),
            family="sdxl",
            note="Pony is an SDXL fine-tune: calibrated from SDXL-family presets",
        ),
        Model(
            "illustrious",
            "Illustrious (SDXL)",
            1024,
            None,
            None,
            ("Illustrious", "Illustrious XL", "illustriousxl"),
            family="sdxl",
            note="Illustrious is an SDXL fine-tune: calibrated from SDXL-family presets",
        ),
        Model(
            "noobai",
            "NoobAI (SDXL)",
            1024,
            None,
            None,
            ("NoobAI", "NoobAI XL", "noobaixl"),
            family="sdxl",
            note="NoobAI is an SDXL fine-tune: calibrated from SDXL-family presets",
        ),
        Model(
            "sdxl_turbo",
            "SDXL Turbo",
            1024,
            0.000660,
            DISTILLED_SDXL,
            ("sdxlturbo",),
            family="sdxl",
            note="SDXL Turbo is a distilled SDXL: calibrated from SDXL-family presets",
        ),
        Model(
            "sdxl_lightning",
            "SDXL Lightning",
            1024,
            0.000650,
            LIGHTNING_SDXL,
            ("sdxllightning",),
            family="sdxl",
            note="SDXL Lightning is a distilled SDXL: calibrated from SDXL-family presets",
        ),
        Model(
            "flux1",
            "FLUX.1",
            1024,
            0.000657,
            FLUX,
            (
                "flux",
                "FLUX.1 Dev",
                "Flux Dev",
                "flux1-dev",
                "FLUX_DEV_1",
                "FLUX.1 Krea",
                "Flux Krea",
                "flux1-krea-dev",
                # The image-editing variant of FLUX.1 dev; its LoRAs train as FLUX.1 ones do, and the
                # trainer-config importers read it as FLUX.1 too.
                "FLUX.1 Kontext",
                "Flux Kontext",
                "flux1-kontext-dev",
                "Kontext",
            ),
        ),
        Model(
            "flux1_schnell",
            "FLUX.1 schnell",
            1024,
            None,
            None,
            ("flux1-schnell", "Flux Schnell", "FLUX_SCHNELL_1", "schnell"),
            family="flux1",
            note=(
                "FLUX.1 schnell is step-distilled; LoRAs for it are trained like FLUX.1 dev ones (with a"
                " de-distillation adapter), so it is calibrated from FLUX.1 presets"
            ),
        ),
        Model("flux2_dev", "FLUX.2 Dev", 1024, 0.000657, FLUX, ("flux2", "FLUX.2", "FLUX_2", "flux2-dev")),
        Model(
            "flux2_klein",
            "FLUX.2 klein",
            1024,
            None,
            None,
            ("flux2-klein", "FLUX.2 [klein]", "klein", "FLUX.2 klein 4B", "FLUX.2 klein 9B"),
            family="flux2_dev",
            note=(
                "FLUX.2 klein (4B and 9B) is calibrated with the FLUX.2 family, as the public presets file it:"
                " they include a klein-base one"
            ),
        ),
        Model(
            "z_image",
            "Z-Image",
            1024,
            0.000602,
            HIGHLY_COMPRESSED,
            ("zimage", "Z-Image Turbo", "Z_IMAGE", "Z-Image Base"),
        ),
        *(
            _family_model(FAMILIES.by_id(family_id), native, *aliases)
            for family_id, native, aliases in (
                ("kolors", _NATIVE_RESOLUTION_1024, ()),
                ("playground_v25", _NATIVE_RESOLUTION_1024, ("Playground-v2.5", "playground")),
                ("stable_cascade", _NATIVE_RESOLUTION_1024, ("StableCascade", "Wuerstchen")),
                ("flex", _NATIVE_RESOLUTION_1024, ("Flex.1", "Flex.2", "flex1", "flex2")),
                ("chroma", _NATIVE_RESOLUTION_1024, ("Chroma1", "Chroma1-HD", "Chroma HD")),
                (
                    "qwen_image",
                    _NATIVE_RESOLUTION_1024,
                    ("QwenImage", "Qwen-Image-Edit", "qwen_image_edit", "Qwen-Image-Edit-Plus"),
                ),
                (
                    "sd35",
                    _NATIVE_RESOLUTION_1024,
                    (
                        "SD3",
                        "SD3 Medium",
                        "Stable Diffusion 3",
                        "SD 3.5",
                        "SD3.5 Large",
                        "SD3.5 Medium",
                        "Stable Diffusion 3.5",
                    ),
                ),
                # HiDream-E1 edits images with HiDream-I1's transformer; ai-toolkit trains both as one arch.
                (
                    "hidream",
                    _NATIVE_RESOLUTION_1024,
                    ("HiDream-I1", "HiDream I1", "HiDream-I1-Full", "HiDream-I1-Dev", "HiDream-I1-Fast", "HiDream-E1"),
                ),
                ("hidream_o1", _NATIVE_RESOLUTION_1024, ()),
                ("lumina2", _NATIVE_RESOLUTION_1024, ("Lumina2", "Lumina 2.0", "Lumina-Image-2.0")),
                ("krea2", _NATIVE_RESOLUTION_1024, ()),
                ("cosmos3", _NATIVE_RESOLUTION_1024, ()),
                ("ideogram4", _NATIVE_RESOLUTION_1024, ()),
                ("ernie_image", _NATIVE_RESOLUTION_1024, ()),
                ("mage_flow", _NATIVE_RESOLUTION_1024, ()),
                ("anima", _NATIVE_RESOLUTION_1024, ()),
                ("pixart_sigma", _NATIVE_RESOLUTION_1024, ("PixArt", "PixArt-Σ")),
                ("omnigen2", _NATIVE_RESOLUTION_1024, ()),
                ("boogu_image", _NATIVE_RESOLUTION_1024, ()),
                ("longcat_image", _NATIVE_RESOLUTION_1024, ("LongCat-Image-Edit",)),
                ("prx_pixel", _NATIVE_RESOLUTION_1024, ()),
                ("auraflow", _NATIVE_RESOLUTION_1024, ()),
                ("bria", _NATIVE_RESOLUTION_1024, ()),
                ("kandinsky5_image", _NATIVE_RESOLUTION_1024, ()),
                ("sana", _NATIVE_RESOLUTION_1024, ()),
                ("zlab_i1", _NATIVE_RESOLUTION_1024, ()),
                ("wan", _NATIVE_RESOLUTION_VIDEO, ("Wan2.1", "Wan 2.1", "Wan2.2", "Wan 2.2")),
                ("hunyuan_video", _NATIVE_RESOLUTION_VIDEO, ("Hunyuan Video", "hunyuan-video")),
                ("ltx2", _NATIVE_RESOLUTION_VIDEO, ("LTX-2.3",)),
                ("ltx_video", _NATIVE_RESOLUTION_VIDEO, ("LTXV",)),
                ("cogvideox", _NATIVE_RESOLUTION_VIDEO, ()),
                ("framepack", _NATIVE_RESOLUTION_VIDEO, ("FramePack-F1",)),
                ("kandinsky5", _NATIVE_RESOLUTION_VIDEO, ()),
                ("kandinsky5_video", _NATIVE_RESOLUTION_VIDEO, ()),
                ("longcat_video", _NATIVE_RESOLUTION_VIDEO, ()),
                ("sana_video", _NATIVE_RESOLUTION_VIDEO, ()),
                ("minimax_h3", _NATIVE_RESOLUTION_VIDEO, ()),
            )
        ),
    ),
    qualifiers=_MODEL_QUALIFIER,
)

#: Mean base energy of the nine built-in models: the curvature reference.
#: Fixed here so that models users add later cannot move it.
REFERENCE_ENERGY = (
    0.000630 + 0.000665 + 0.000712 + 0.000690 + 0.000660 + 0.000650 + 0.000657 + 0.000657 + 0.000602
) / 9

# --- Optimizers (docs/model.md §2; aliases as trainers spell them) ---------------

OPTIMIZER_FAMILIES: NamedTable[OptimizerFamily] = NamedTable(
    "optimizer family",
    (
        OptimizerFamily(
            "adamw",
            "AdamW family",
            1.0,
            "Adam-type updates (normalised by the gradient's running RMS): the reference the presets train with",
        ),
        OptimizerFamily(
            "lion",
            "Lion family",
            1.0 / 3.0,
            "sign updates are larger than Adam's: Lion's authors (Chen et al. 2023) advise a rate 3–10× below"
            " AdamW's; the few public Lion presets (one trainer) keep AdamW's rate, so the gentle end, 3×",
        ),
        OptimizerFamily(
            "adafactor",
            "Adafactor (fixed rate)",
            None,
            "Adafactor with relative_step=False takes a fixed rate like Adam; its scale is fitted to the presets",
        ),
        OptimizerFamily(
            "sgd",
            "SGD family",
            10.0,
            "plain gradient steps are not normalised, so they need a far larger rate; no public preset to fit,"
            " so ×10 is a starting point to refine with your own runs",
        ),
        OptimizerFamily(
            "muon",
            "Muon family",
            1.0,
            "trainers match Muon's update RMS to AdamW's (Moonlight, Liu et al. 2025), so AdamW's rate carries"
            " over; no public preset to fit",
        ),
        OptimizerFamily(
            "adaptive",
            "Adaptive step size (Prodigy, D-Adaptation)",
            None,
            "the optimizer estimates its own step size; the learning rate is a multiplier on it, 1.0 by default",
            adaptive=True,
            settings=(
                "keep lr = 1.0 and steer with the optimizer's own settings: d_coef scales the estimated step"
                " (0.5–2; lower it if the LoRA burns), safeguard_warmup=True and use_bias_correction=True for"
                " diffusion, decouple=True for AdamW-style weight decay; pair it with a constant or cosine"
                " schedule, never with restarts"
            ),
        ),
        OptimizerFamily(
            "self_tuning",
            "Self-tuning rate (automagic)",
            None,
            "the optimizer moves its rate as it trains (ai-toolkit's automagic: up while successive updates keep"
            " their sign, down when they flip); the learning rate is only where it starts, ai-toolkit's default"
            " 1e-6",
            adaptive=True,
            start_rate=1e-6,
            settings=(
                "start at lr = 1e-6 (automagic replaces a start above 1e-3 with 1e-6; it is not a multiplier"
                " as with Prodigy); the rate then moves by lr_bump (1e-6) a step between min_lr (1e-7) and"
                " max_lr (1e-3): lower max_lr if the LoRA burns, raise it to let the rate climb; automagic3"
                " keeps one rate per parameter group and has no bounds"
            ),
        ),
    ),
)

OPTIMIZERS: NamedTable[Optimizer] = NamedTable(
    "optimizer",
    (
        Optimizer(
            "adamw",
            "AdamW",
            1.00,
            (
                "torch.optim.AdamW",
                "adamw_torch",
                "adamw_torch_fused",
                "adamw_bf16",
                "torch-adamw",
                "adamw_optimi",
                "optimi-adamw",
                "StableAdamW",
            ),
        ),
        Optimizer(
            "adamw_8bit",
            "AdamW (8-Bit)",
            1.02,
            ("PagedAdamW8bit", "paged_adamw_8bit", "bitsandbytes.optim.AdamW8bit", "adamw_bnb_8bit", "AdamW8bitKahan"),
        ),
        Optimizer("adam", "Adam", 1.02, ("torch.optim.Adam",)),
        Optimizer("adam_8bit", "Adam (8-Bit)", 1.04, ("PagedAdam8bit", "paged_adam_8bit")),
        # Adam variants that normalise their steps as Adam does (torch.optim, adabelief-pytorch):
        # AdamW's rate carries over; only the calibrated formula set takes them.
        Optimizer("radam", "RAdam", None, ("torch.optim.RAdam",)),
        Optimizer("nadam", "NAdam", None, ("torch.optim.NAdam",)),
        Optimizer("adabelief", "AdaBelief", None, ("adabelief_pytorch",)),
        Optimizer("adagrad", "Adagrad", 1.08),
        Optimizer("adagrad_8bit", "Adagrad (8-Bit)", 1.10),
        Optimizer("rmsprop", "RMSprop", 1.05),
        Optimizer("rmsprop_8bit", "RMSprop (8-Bit)", 1.07),
        Optimizer("adafactor", "Adafactor", 0.90, ("transformers.optimization.Adafactor",), family="adafactor"),
        Optimizer("ademamix", "AdEMAMix", 0.97),
        Optimizer("ademamix_8bit", "AdEMAMix (8-Bit)", 1.00, ("PagedAdEMAMix8bit", "paged_ademamix_8bit")),
        Optimizer("simplified_ademamix", "Simplified AdEMAMix", 0.98),
        Optimizer("sgd", "SGD", 0.85, ("SGDNesterov", "sgd_nesterov"), family="sgd"),
        Optimizer("sgd_8bit", "SGD (8-Bit)", 0.88, ("SGDNesterov8bit", "sgd_nesterov_8bit"), family="sgd"),
        Optimizer("lars", "Lars", 0.88, family="sgd"),
        Optimizer("lars_8bit", "Lars (8-Bit)", 0.90, family="sgd"),
        Optimizer("lamb", "LAMB", 0.90, ("Lam",), lrtool_1_0_name="Lam"),
        Optimizer(
            "lamb_8bit", "LAMB (8-Bit)", 0.92, ("Lamb8bit", "LAMB_8BIT", "Lam (8-Bit)"), lrtool_1_0_name="Lam (8-Bit)"
        ),
        Optimizer("lion", "Lion", 0.90, ("lion_pytorch", "optimi-lion", "lion_optimi"), family="lion"),
        Optimizer("lion_8bit", "Lion (8-Bit)", 0.93, ("PagedLion8bit", "paged_lion_8bit"), family="lion"),
        Optimizer("muon", "Muon", 0.80, family="muon"),
        Optimizer("adamuon", "AdaMuon", 0.85, family="muon"),
        Optimizer("came", "CAME", 0.95),
        Optimizer("came_8bit", "CAME (8-Bit)", 0.98),
        Optimizer("adopt", "Adopt", 0.92),
        Optimizer("tiger", "Tiger", 0.88, family="lion"),
        # Schedule-free optimizers run their own schedule: only the calibrated formula set takes them.
        # Their rates, from their authors' advice (github.com/facebookresearch/schedule_free, README):
        # no public preset uses them, so the low end of the range advised, a start to refine.
        Optimizer(
            "adamw_schedulefree",
            "AdamW (schedule-free)",
            None,
            ("AdamWScheduleFree", "ScheduleFreeAdamW", "RAdamScheduleFree", "ScheduleFreeRAdam"),
            note="schedule-free (Defazio et al. 2024): its authors find 1–10× a scheduled AdamW's rate works and no"
            " schedule is needed; no public preset shows where in that range LoRAs train, so the low end, ×1",
            schedule_free=True,
        ),
        Optimizer(
            "sgd_schedulefree",
            "SGD (schedule-free)",
            None,
            ("SGDScheduleFree", "ScheduleFreeSGD"),
            family="sgd",
            scale=10.0,
            note="schedule-free (Defazio et al. 2024): its authors start it at 10–50× the rates of scheduled SGD,"
            " so ×10 more, the low end",
            schedule_free=True,
        ),
        # Adaptive step sizes: the rate is a multiplier (1.0).
        Optimizer("prodigy", "Prodigy", None, ("prodigyopt",), family="adaptive"),
        Optimizer(
            "prodigy_schedulefree",
            "Prodigy (schedule-free)",
            None,
            ("ProdigyScheduleFree", "ScheduleFreeProdigy", "ProdigyPlusScheduleFree"),
            family="adaptive",
            schedule_free=True,
        ),
        Optimizer(
            "dadapt_adam", "D-Adaptation Adam", None, ("DAdaptAdam", "DAdaptAdamW", "DAdaptation"), family="adaptive"
        ),
        Optimizer("dadapt_lion", "D-Adaptation Lion", None, ("DAdaptLion",), family="adaptive"),
        Optimizer("dadapt_adagrad", "D-Adaptation AdaGrad", None, ("DAdaptAdaGrad",), family="adaptive"),
        Optimizer("dadapt_sgd", "D-Adaptation SGD", None, ("DAdaptSGD",), family="adaptive"),
        Optimizer("dadapt_adan", "D-Adaptation Adan", None, ("DAdaptAdan", "DAdaptAdanIP"), family="adaptive"),
        # ai-toolkit's own optimizers (toolkit/optimizers/automagic*.py): a start rate they adapt.
        Optimizer("automagic", "Automagic", None, ("Automagic2", "Automagic3"), family="self_tuning"),
    ),
)


# --- Network types -------------------------------------------------------------

NETWORKS: NamedTable[Network] = NamedTable(
    "network",
    (
        Network(
            "lora", "LoRA", "Low-rank adapter: ΔW = (alpha / rank) · B·A.", ("Standard", "networks.lora", "peft-lora")
        ),
        Network(
            "locon",
            "LoCon",
            "LoRA that also adapts convolution layers (LyCORIS).",
            ("LyCORIS/LoCon", "lycoris_locon", "LoRA-C3Lier", "C3Lier", "Kohya LoCon"),
        ),
        Network("loha", "LoHa", "Hadamard product of two low-rank pairs (LyCORIS).", ("LyCORIS/LoHa", "lycoris_loha")),
        Network(
            "lokr",
            "LoKr",
            "Kronecker product of small factors (LyCORIS); a rank of 10,000 or more means the full matrix.",
            ("LyCORIS/LoKr", "lycoris_lokr", "lycoris-lokr"),
        ),
        Network(
            "dora", "DoRA", "Weight-decomposed LoRA: a learned magnitude plus a LoRA direction.", ("LyCORIS/DoRA",)
        ),
    ),
)

#: LyCORIS presets write a rank (dim) of 10,000 or more to mean "the full matrix", where alpha is
#: ignored; the calibrated formula set then leaves out the alpha / rank factor.
FULL_MATRIX_RANK = 10_000
DEFAULT_NETWORK = "lora"

# --- Objectives (docs/model.md §2) -----------------------------------------------

OBJECTIVES: NamedTable[Objective] = NamedTable(
    "objective",
    (
        Objective("style", "Style", 0.93, 0.6, ("art style", "aesthetic")),
        Objective("concept", "Concept", 0.97, 1.0, ("object", "pose")),
        Objective("character", "Character", 1.00, 1.4, ("person", "subject", "likeness")),
        Objective("fidelity", "Fidelity", 1.05, 2.5, ("realism", "photoreal")),
    ),
)

# --- Schedule parameters -----------------------------------------------------

SCHEDULE_PARAMETERS: Mapping[str, ScheduleParameter] = {
    parameter.name: parameter
    for parameter in (
        ScheduleParameter(
            "num_cycles",
            "Number of cosine cycles (waves or restarts) over the steps after warmup.",
            NumberRange("float", 0.0, 10_000.0, minimum_exclusive=True),
        ),
        ScheduleParameter(
            "power",
            "Exponent of the polynomial decay (1 is linear).",
            NumberRange("float", 0.0, 100.0, minimum_exclusive=True),
        ),
        ScheduleParameter(
            "min_lr_ratio",
            "Floor of the schedule as a fraction of the peak learning rate.",
            NumberRange("float", 0.0, 1.0),
        ),
        ScheduleParameter(
            "decay_steps",
            "Steps of the final decay phase (warmup-stable-decay).",
            NumberRange("int", 1, 10_000_000),
        ),
        ScheduleParameter(
            "timescale",
            "Steps over which the inverse-square-root decay halves the rate relative to its start.",
            NumberRange("int", 1, 1_000_000_000),
        ),
        ScheduleParameter(
            "step_rules",
            "Piecewise-constant rules 'multiplier:step,…,last_multiplier', e.g. '1:500,0.5:1000,0.1'"
            " (each multiplier holds until the step named after it).",
            None,
        ),
        ScheduleParameter(
            "start_factor",
            "Multiplier at the first step of a linear ramp (torch LinearLR).",
            NumberRange("float", 0.0, 1.0, minimum_exclusive=True),
        ),
        ScheduleParameter(
            "end_factor",
            "Multiplier at the last step of a linear ramp (torch LinearLR).",
            NumberRange("float", 0.0, 1.0),
        ),
    )
}

# --- Schedules per formula set and trainer -------------------------------------

#: LRTool 1.0's own schedules (formula set lrtool-1.0), steps t = 1 … N.
LRTOOL_1_0_SCHEDULES: NamedTable[Schedule] = NamedTable(
    "schedule",
    (
        Schedule("constant", "Constant", "Multiplier 1 after warmup."),
        Schedule("linear", "Linear", "Falls linearly from 1 to 0 over the run (warmup multiplies it)."),
        Schedule(
            "cosine",
            "Cosine",
            "LRTool 1.0's cosine: 0.1 + 0.9·cos(π t/N); it goes negative in the second half (kept for parity).",
        ),
        Schedule(
            "cosine_restarts",
            "Cosine (Restarts)",
            "Two cosine cycles from 1 to 0.1, restarting half-way.",
            aliases=("Cosine Restarts",),
        ),
        Schedule(
            "cosine_hard_restarts",
            "Cosine (Hard Restarts)",
            "Two cycles of max(0, cos), restarting half-way: zero for half of each cycle.",
            aliases=("Cosine Hard Restarts",),
        ),
        Schedule("rex", "Rex", "exp(−4 t/N)."),
        Schedule("adafactor", "Adafactor", "1/√t (Adafactor's relative step, as LRTool 1.0 modelled it)."),
    ),
)

_NUM_CYCLES_HALF = ScheduleParameterUse("num_cycles", 0.5)
_NUM_CYCLES_ONE = ScheduleParameterUse("num_cycles", 1.0)

HUGGINGFACE_SCHEDULES: NamedTable[Schedule] = NamedTable(
    "schedule",
    (
        Schedule("constant", "Constant", "Multiplier 1 at every step; takes no warmup.", takes_warmup=False),
        Schedule(
            "constant_with_warmup",
            "Constant with warmup",
            "Linear warmup from 0, then 1.",
            aliases=("constantwarmup",),
        ),
        Schedule("linear", "Linear", "Linear warmup, then linear decay to 0 at the last step."),
        Schedule(
            "cosine",
            "Cosine",
            "Linear warmup, then ½(1 + cos(2π·num_cycles·progress)); num_cycles 0.5 is a single half wave to 0.",
            (_NUM_CYCLES_HALF,),
        ),
        Schedule(
            "cosine_with_restarts",
            "Cosine with restarts",
            "Linear warmup, then num_cycles half waves from 1 to 0, each restarting at 1 (hard restarts).",
            (_NUM_CYCLES_ONE,),
            aliases=("Cosine (Restarts)", "Cosine (Hard Restarts)", "cosine_with_hard_restarts"),
        ),
        Schedule(
            "polynomial",
            "Polynomial",
            "Linear warmup, then (1 − r)(1 − progress)^power + r, r = lr_end / lr.",
            (
                ScheduleParameterUse("power", 1.0),
                ScheduleParameterUse("min_lr_ratio", default_text="default lr_end 1e-7 (as transformers)"),
            ),
        ),
        Schedule(
            "inverse_sqrt",
            "Inverse square root",
            "Linear warmup, then 1/√((t + timescale − warmup) / timescale).",
            (ScheduleParameterUse("timescale", default_text="default: the warmup steps, or 10,000 without warmup"),),
        ),
        Schedule(
            "cosine_with_min_lr",
            "Cosine with min LR",
            "Linear warmup, then cosine from 1 down to min_lr_ratio.",
            (_NUM_CYCLES_HALF, ScheduleParameterUse("min_lr_ratio", required=True)),
        ),
        Schedule(
            "warmup_stable_decay",
            "Warmup-stable-decay",
            "Warmup from min_lr_ratio to 1, hold 1, then cosine decay over decay_steps to min_lr_ratio.",
            (
                ScheduleParameterUse("decay_steps", required=True),
                ScheduleParameterUse("min_lr_ratio", 0.0),
                _NUM_CYCLES_HALF,
            ),
            aliases=("wsd",),
        ),
        Schedule(
            "piecewise_constant",
            "Piecewise constant",
            "Constant multipliers between absolute step bounds (diffusers step_rules); takes no warmup.",
            (ScheduleParameterUse("step_rules", required=True),),
            takes_warmup=False,
        ),
        Schedule(
            "rex",
            "REX",
            "musubi-tuner's RexLR: linear warmup, then a reflected-exponential decay to min_lr_ratio.",
            (ScheduleParameterUse("min_lr_ratio", 0.01),),
        ),
    ),
)

_ADAFACTOR_SCHEDULE_REASON = (
    "Adafactor's schedule is computed inside the optimizer (relative step sizes), so it has no"
    " curve to integrate; set relative_step=False and pick constant or another schedule"
)

HUGGINGFACE_REFUSED: NamedTable[RefusedSchedule] = NamedTable(
    "schedule",
    (RefusedSchedule("adafactor", "Adafactor", _ADAFACTOR_SCHEDULE_REASON),),
)

ONETRAINER_SCHEDULES: NamedTable[Schedule] = NamedTable(
    "schedule",
    (
        Schedule("constant", "CONSTANT", "Linear warmup, then 1."),
        Schedule(
            "linear",
            "LINEAR",
            "Linear warmup, then linear decay from 1 to the min factor.",
            (ScheduleParameterUse("min_lr_ratio", 0.0),),
        ),
        Schedule(
            "cosine",
            "COSINE",
            "Linear warmup, then a cosine half wave from 1 to the min factor.",
            (ScheduleParameterUse("min_lr_ratio", 0.0),),
        ),
        Schedule(
            "cosine_with_restarts",
            "COSINE_WITH_RESTARTS",
            "Linear warmup, then num_cycles full cosine periods (down to the min factor and back up).",
            (_NUM_CYCLES_ONE, ScheduleParameterUse("min_lr_ratio", 0.0)),
        ),
        Schedule(
            "cosine_with_hard_restarts",
            "COSINE_WITH_HARD_RESTARTS",
            "Linear warmup, then num_cycles cosine half waves that jump back to 1.",
            (_NUM_CYCLES_ONE, ScheduleParameterUse("min_lr_ratio", 0.0)),
        ),
        Schedule(
            "rex",
            "REX",
            "Linear warmup, then a reflected-exponential decay to the min factor.",
            (ScheduleParameterUse("min_lr_ratio", 0.0),),
        ),
    ),
)

ONETRAINER_REFUSED: NamedTable[RefusedSchedule] = NamedTable(
    "schedule",
    (
        RefusedSchedule("adafactor", "ADAFACTOR", _ADAFACTOR_SCHEDULE_REASON),
        RefusedSchedule(
            "custom",
            "CUSTOM",
            "a CUSTOM schedule is user code that OneTrainer loads at run time, so its curve is unknown here",
        ),
    ),
)

AI_TOOLKIT_SCHEDULES: NamedTable[Schedule] = NamedTable(
    "schedule",
    (
        Schedule("constant", "constant", "Multiplier 1 at every step; ai-toolkit has no warmup.", takes_warmup=False),
        Schedule(
            "linear",
            "linear",
            "torch LinearLR over the whole run: from start_factor (default 1/3) to end_factor (default 1).",
            (
                ScheduleParameterUse("start_factor", 1.0 / 3.0, default_text="default 1/3"),
                ScheduleParameterUse("end_factor", 1.0),
            ),
            takes_warmup=False,
        ),
        Schedule(
            "cosine",
            "cosine",
            "torch CosineAnnealingLR over the whole run, from 1 to 0; no warmup.",
            takes_warmup=False,
        ),
        Schedule(
            "cosine_with_restarts",
            "cosine_with_restarts",
            "torch CosineAnnealingWarmRestarts with T_0 = the run: one cosine from 1 to 0; no warmup.",
            takes_warmup=False,
        ),
        Schedule(
            "constant_with_warmup",
            "constant_with_warmup",
            "diffusers' constant schedule with linear warmup (give the warmup ai-toolkit's num_warmup_steps).",
        ),
    ),
)

AI_TOOLKIT_REFUSED: NamedTable[RefusedSchedule] = NamedTable("schedule", ())

TRAINERS: NamedTable[Trainer] = NamedTable(
    "trainer",
    (
        Trainer(
            "huggingface",
            "Hugging Face (transformers / diffusers)",
            "get_scheduler of transformers and diffusers, as used by kohya sd-scripts, the kohya_ss GUI,"
            " musubi-tuner and the diffusers examples.",
            HUGGINGFACE_SCHEDULES,
            HUGGINGFACE_REFUSED,
            ("hf", "transformers", "diffusers", "kohya", "sd-scripts", "kohya_ss", "musubi-tuner"),
        ),
        Trainer(
            "onetrainer",
            "OneTrainer",
            "OneTrainer's own schedules (warmup shifts the schedule).",
            ONETRAINER_SCHEDULES,
            ONETRAINER_REFUSED,
        ),
        Trainer(
            "ai-toolkit",
            "ai-toolkit",
            "ostris ai-toolkit: torch schedulers over the whole run, no warmup.",
            AI_TOOLKIT_SCHEDULES,
            AI_TOOLKIT_REFUSED,
            ("ostris",),
        ),
    ),
)

DEFAULT_TRAINER = "huggingface"

FORMULA_SETS: NamedTable[FormulaSet] = NamedTable(
    "formula",
    (
        FormulaSet(
            "calibrated",
            "Calibrated (fitted to public presets)",
            "The energy model's named factors with trainer-exact schedules, but exponents and per-family rates"
            " fitted to public presets; every result carries the evidence band and its reasons.",
            uses_trainer=True,
        ),
        FormulaSet(
            "energy",
            "Energy (trainer-exact schedules)",
            "The LRTool energy model with each schedule integrated exactly as the chosen trainer applies it.",
            uses_trainer=True,
        ),
        FormulaSet(
            "lrtool-1.0",
            "LRTool 1.0 (parity)",
            "LRTool 1.0's schedules bit for bit, so its results and saved profiles reproduce exactly.",
            uses_trainer=False,
            aliases=("lrtool 1.0", "legacy", "1.0"),
        ),
    ),
)

DEFAULT_FORMULA = "calibrated"
#: The formula set that fits and explains (evidence band, factors).
CALIBRATED = "calibrated"


def schedules_for(formula: FormulaSet, trainer: Trainer) -> NamedTable[Schedule]:
    """The schedules a configuration may name, given its formula set and trainer."""
    return trainer.schedules if formula.uses_trainer else LRTOOL_1_0_SCHEDULES


# --- Input ranges (docs/model.md §1) ---------------------------------------------

MAX_STEPS = 10_000_000

INPUT_RANGES: Mapping[str, NumberRange] = {
    "resolution": NumberRange("int", 64, 8192),
    "steps": NumberRange("int", 1, MAX_STEPS),
    "images": NumberRange("int", 1, 10_000_000),
    "repeats": NumberRange("int", 1, 10_000),
    "batch_size": NumberRange("int", 1, 4096),
    "grad_accum": NumberRange("int", 1, 4096),
    "rank": NumberRange("int", 1, 100_000),  # LyCORIS writes 10,000+ for a full-matrix LoKr
    "alpha": NumberRange("float", 0.0, 4096.0, minimum_exclusive=True),
    "warmup_fraction": NumberRange("float", 0.0, 0.99),
    "warmup_steps": NumberRange("int", 0, MAX_STEPS - 1),
    "offset": NumberRange("float", OFFSET_MIN, OFFSET_MAX),
    "learning_rate": NumberRange("float", 0.0, 1e6, minimum_exclusive=True),
    **{name: spec.accepted for name, spec in SCHEDULE_PARAMETERS.items() if spec.accepted is not None},
}

#: One-line help for every configuration field, shown by every client.
FIELD_HELP: Mapping[str, str] = {
    "model": "Base model the LoRA is trained on; fine-tunes (Pony, Illustrious, NoobAI) count as their base.",
    "resolution": "Training edge length in pixels (e.g. 1024 for 1024×1024 buckets); default: the model's native size.",
    "steps": "Total optimizer steps of the run (after gradient accumulation).",
    "images": "Number of distinct images in the dataset (repeats are a separate input).",
    "repeats": "Passes over each image per epoch (kohya's folder prefix, ai-toolkit's num_repeats); default 1.",
    "network": "Network type: LoRA (default), LoCon, LoHa, LoKr or DoRA.",
    "batch_size": "Images per forward pass.",
    "grad_accum": "Gradient accumulation steps per optimizer step.",
    "rank": "LoRA rank (network_dim).",
    "alpha": "LoRA alpha (network_alpha); updates scale by alpha / rank.",
    "optimizer": (
        "Optimizer; its family sets the rate's scale (Lion ×1/3 of AdamW; Prodigy and D-Adaptation take 1.0;"
        " automagic starts at 1e-6)."
    ),
    "scheduler": "Learning-rate schedule, as the chosen trainer names it.",
    "warmup_fraction": "Warmup as a fraction of the steps (0 … 0.99).",
    "warmup_steps": "Warmup as a number of steps (0 … steps − 1).",
    "objective": "What the LoRA should learn; nudges the rate and how sharply a rate above it is scored.",
    "formula": "calibrated: fitted to public presets (default); energy: LRTool 1.0's constants with"
    " trainer-exact schedules; lrtool-1.0: LRTool 1.0 parity.",
    "trainer": "Whose schedule implementation is integrated (the scheduler names and curves of that trainer).",
    "offset": "Slider: learning rate = recommended × (1 + offset), −1 … +1.",
    "learning_rate": "A learning rate you already have in mind, to score it.",
    **{name: spec.description for name, spec in SCHEDULE_PARAMETERS.items()},
}
