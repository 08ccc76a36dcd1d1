"""Which base model a trainer file trains: from the trainer's own flags, refined by model names.

A trainer's flag (kohya's `sdxl`, ai-toolkit's `is_flux`/`arch`, OneTrainer's `model_type`, the network
module) decides the architecture, because that is what the trainer runs. File and repository names
refine it within that architecture (Pony, Turbo and Lightning are SDXL checkpoints) or, without a
flag, decide it. Models LRTool has no calibration for are reported, never mapped to a look-alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from engine_server.engine import catalog

from ._common import Draft, show

#: The architecture family of LRTool 1.0's models and their fine-tunes: names may refine a flag
#: only within its family. Every other catalog model is a family of its own (its id).
_LRTOOL_1_0_FAMILY = {
    "sd15": "sd1",
    "sd21": "sd2",
    "sdxl": "sdxl",
    "pony": "sdxl",
    "illustrious": "sdxl",
    "noobai": "sdxl",
    "sdxl_turbo": "sdxl",
    "sdxl_lightning": "sdxl",
    "flux1": "flux1",
    "flux1_schnell": "flux1",
    "flux2_dev": "flux2",
    "z_image": "zimage",
}
FAMILY = {model.id: _LRTOOL_1_0_FAMILY.get(model.id, model.id) for model in catalog.MODELS}
#: The model a family flag means when no name says more.
BASE_OF_FAMILY = {
    "sd1": "sd15",
    "sd2": "sd21",
    "sdxl": "sdxl",
    "flux1": "flux1",
    "flux2": "flux2_dev",
    "zimage": "z_image",
    **{model.id: model.id for model in catalog.MODELS if model.id not in _LRTOOL_1_0_FAMILY},
}


@dataclass(frozen=True)
class Unsupported:
    """A model LRTool has no calibration for."""

    label: str


# Checked in order: the first pattern found in a name wins, so the specific come before the general
# ("z_image_turbo" is Z-Image, not SDXL Turbo; "flux.2-klein" is FLUX.2 klein, not FLUX.2 Dev).
_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str | Unsupported], ...] = tuple(
    (re.compile(pattern), target)
    for pattern, target in (
        (r"klein", "flux2_klein"),
        (r"chroma", "chroma"),
        (r"z[-_ ]?image", "z_image"),
        (r"flux[-_. ]?2", "flux2_dev"),
        (r"flux[-_. ]?1[-_. ]?schnell|schnell", "flux1_schnell"),
        (r"flux", "flux1"),
        (r"(?<![a-z])sd[-_ ]?3|stable[-_ ]diffusion[-_ ]3", "sd35"),
        (r"qwen", "qwen_image"),
        (r"(?<![a-z])wan[-_ ]?\d", "wan"),
        (r"hunyuan[-_ ]?video|(?<![a-z])hv[-_]", "hunyuan_video"),
        (r"hunyuan", Unsupported("HunyuanImage")),
        (r"framepack|frame_pack", "framepack"),
        (r"hidream[-_ ]?o1", "hidream_o1"),
        (r"hidream", "hidream"),
        (r"lumina", "lumina2"),
        (r"pixart", "pixart_sigma"),
        (r"(?<![a-z])sana[-_ ]?video", "sana_video"),
        (r"(?<![a-z])sana", "sana"),
        (r"kandinsky", Unsupported("Kandinsky")),
        (r"cascade|wuerstchen|würstchen", "stable_cascade"),
        (r"auraflow", "auraflow"),
        (r"ltx[-_ ]?2", "ltx2"),
        (r"ltx", "ltx_video"),
        (r"cogvideo", "cogvideox"),
        (r"pony", "pony"),
        (r"lightning", "sdxl_lightning"),
        (r"turbo(?=.*xl)|xl.*turbo", "sdxl_turbo"),
        (r"sd[-_ ]?xl|stable[-_ ]diffusion[-_ ]xl|xl(?![a-z])|illustrious|noobai|animagine", "sdxl"),
        (r"v?2[-_.]1|sd[-_ ]?21|stable[-_ ]diffusion[-_ ]2", "sd21"),
        (r"v?1[-_.][45]|sd[-_ ]?1[45]|stable[-_ ]diffusion[-_ ]v?1", "sd15"),
    )
)

#: Name hits that only refine a family flag (a bare "turbo" means SDXL Turbo inside the SDXL family).
_FAMILY_REFINEMENTS = {
    "sdxl": ((re.compile(r"turbo"), "sdxl_turbo"),),
    "flux2": ((re.compile(r"klein"), "flux2_klein"),),  # one FLUX.2 flag or module trains dev and klein
}


def from_names(names: Iterable[str]) -> str | Unsupported | None:
    """The first model any name points to."""
    for name in names:
        lowered = name.lower()
        for pattern, target in _NAME_PATTERNS:
            if pattern.search(lowered):
                return target
    return None


def settle(
    draft: Draft,
    family: str | Unsupported | None,
    names: Iterable[str],
    source: str,
) -> None:
    """Set `model` from a trainer flag's family (or None) and the model names in the file.

    `source` names what decided the family, for messages (e.g. "model_type 'FLUX_DEV_1'").
    """
    names = [name for name in names if name]
    shown = ", ".join(show(name) for name in names) or "no model name"
    if isinstance(family, Unsupported):
        draft.miss("model", f"{source} trains {family.label}, which LRTool has no calibration for")
        return
    hit = from_names(names)
    if family is None:
        if hit is None:
            draft.miss("model", f"the base model cannot be told from {shown}; choose it")
        elif isinstance(hit, Unsupported):
            draft.miss("model", f"{shown} looks like {hit.label}, which LRTool has no calibration for")
        else:
            draft.set("model", hit)
            draft.warn(f"model: {_display(hit)}, inferred from the name {shown}")
        return
    if isinstance(hit, str) and FAMILY[hit] == family:
        draft.set("model", hit)
        return
    for pattern, refined in _FAMILY_REFINEMENTS.get(family, ()):
        if any(pattern.search(name.lower()) for name in names):
            draft.set("model", refined)
            return
    base = BASE_OF_FAMILY[family]
    draft.set("model", base)
    if hit is not None:
        label = hit.label if isinstance(hit, Unsupported) else _display(hit)
        draft.warn(f"model: {shown} looks like {label}, but {source} trains {_display(base)}; using {_display(base)}")


def _display(model_id: str) -> str:
    return catalog.MODELS.by_id(model_id).display_name
