"""Learning-rate schedules: the multiplier s(t) at every step, and the RMS over a run.

Each curve is written once, vectorised and float-faithful to the code it copies
(LRTool 1.0, transformers / diffusers, musubi-tuner, OneTrainer, ai-toolkit), so
the direct sum over all steps reproduces what those programs apply. Where a
closed form exists the sum of squares comes from it instead (O(1)); tests hold
the two to 1e-12.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar, overload

import numpy as np

from . import _sums
from ._cancel import raise_if_stopped
from ._catalog import COSINE_FLOOR, REX_ALPHA, REX_BETA, REX_DECAY_K
from ._config import ScheduleArgs, StepRules
from ._sums import BoolArray, FloatArray, IntArray

#: Steps summed per numpy chunk: bounds memory for runs of 10⁷ steps.
_CHUNK_STEPS = 1 << 20

LRTOOL_1_0 = "lrtool-1.0"

MultiplierFunction = Callable[[IntArray, int, int, ScheduleArgs], FloatArray]
ClosedSum = Callable[[int, int, ScheduleArgs], float | None]


@dataclass(frozen=True, slots=True)
class Curve:
    """How one schedule computes its multipliers, and its closed-form sum if it has one."""

    multipliers: MultiplierFunction
    closed_square_sum: ClosedSum | None = None
    first_step: int = 0  # LRTool 1.0 counts steps from 1, torch's LambdaLR from 0
    sequential_sum: bool = False  # add left to right, as LRTool 1.0 did (else pairwise)


@dataclass(frozen=True, slots=True)
class Integral:
    """The RMS of a schedule over a run, and the share of steps it spends at zero."""

    scheduler_factor: float
    zero_fraction: float
    closed_form: bool


# --- LRTool 1.0 (docs/model.md §4): steps t = 1 … N --------------------------------
#
# Bit-for-bit parity with LRTool 1.0 needs its exact arithmetic: Python's math
# functions step by step (numpy's exp differs from libm in the last bit) and a
# left-to-right sum. So these curves are evaluated element by element; results
# are cached per run length, and the energy formula set is the fast path.


def _lrtool_curve(base: Callable[[int, int], float]) -> Curve:
    def multipliers(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
        def multiplier(step: int) -> float:
            warmup_factor = step / warmup if warmup > 0 and step <= warmup else 1.0
            return warmup_factor * base(step, steps)

        return np.fromiter(map(multiplier, t.tolist()), dtype=np.float64, count=len(t))

    return Curve(multipliers, first_step=1, sequential_sum=True)


def _lrtool_linear(t: int, steps: int) -> float:
    return 1.0 if steps <= 1 else max(0.0, 1.0 - t / steps)


def _lrtool_cosine(t: int, steps: int) -> float:
    return COSINE_FLOOR + (1.0 - COSINE_FLOOR) * math.cos(math.pi * (t / steps))


def _lrtool_restart_angle(t: int, steps: int) -> float:
    cycle = max(1, steps // 2)
    return math.pi * (t % cycle) / cycle


def _lrtool_cosine_restarts(t: int, steps: int) -> float:
    return COSINE_FLOOR + (1.0 - COSINE_FLOOR) * math.cos(_lrtool_restart_angle(t, steps))


def _lrtool_cosine_hard_restarts(t: int, steps: int) -> float:
    return max(0.0, math.cos(_lrtool_restart_angle(t, steps)))


def _lrtool_rex(t: int, steps: int) -> float:
    return math.exp(-REX_DECAY_K * (t / steps))


def _lrtool_adafactor(t: int, steps: int) -> float:
    return 1.0 / math.sqrt(t)


_LRTOOL_CURVES: dict[str, Curve] = {
    "constant": _lrtool_curve(lambda t, n: 1.0),
    "linear": _lrtool_curve(_lrtool_linear),
    "cosine": _lrtool_curve(_lrtool_cosine),
    "cosine_restarts": _lrtool_curve(_lrtool_cosine_restarts),
    "cosine_hard_restarts": _lrtool_curve(_lrtool_cosine_hard_restarts),
    "rex": _lrtool_curve(_lrtool_rex),
    "adafactor": _lrtool_curve(_lrtool_adafactor),
}


# --- transformers / diffusers get_scheduler (docs/model.md §5): steps t = 0 … N−1 ----


def _hf_warmup(t: IntArray, warmup: int) -> FloatArray:
    """float(t) / float(max(1, W)) during warmup (the caller selects t < W)."""
    return t / max(1, warmup)


def _hf_with_warmup(after: Callable[[IntArray, int, int, ScheduleArgs], FloatArray]) -> MultiplierFunction:
    def multipliers(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
        decayed = after(np.maximum(t, warmup), steps, warmup, args)
        return np.where(t < warmup, _hf_warmup(t, warmup), decayed)

    return multipliers


def _hf_progress(t: IntArray, steps: int, warmup: int) -> FloatArray:
    return (t - warmup) / max(1, steps - warmup)


def _hf_constant(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    return np.ones(t.shape)


def _hf_linear(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    return np.maximum(0.0, (steps - t) / max(1, steps - warmup))


def _hf_cosine(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    progress = _hf_progress(t, steps, warmup)
    return np.maximum(0.0, 0.5 * (1.0 + np.cos(np.pi * args.num_cycles * 2.0 * progress)))


def _hf_cosine_with_min_lr(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    floor = _required(args.min_lr_ratio)
    progress = _hf_progress(t, steps, warmup)
    factor = 0.5 * (1.0 + np.cos(np.pi * args.num_cycles * 2.0 * progress))
    return np.maximum(0.0, factor * (1.0 - floor) + floor)


def _hf_cosine_with_restarts(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    progress = _hf_progress(t, steps, warmup)
    wave = np.maximum(0.0, 0.5 * (1.0 + np.cos(np.pi * ((args.num_cycles * progress) % 1.0))))
    return np.where(progress >= 1.0, 0.0, wave)


def _polynomial_floor(args: ScheduleArgs) -> float:
    return _required(args.min_lr_ratio)


def _hf_polynomial(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    floor = _polynomial_floor(args)
    remaining = 1.0 - (t - warmup) / (steps - warmup)
    decayed = (1.0 - floor) * remaining**args.power + floor
    return np.where(t > steps, floor, decayed)


def inverse_sqrt_timescale(warmup: int, args: ScheduleArgs) -> int:
    """transformers' default: the warmup steps, or 10,000 without warmup."""
    if args.timescale is not None:
        return args.timescale
    return warmup or 10_000


def _hf_inverse_sqrt(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    timescale = inverse_sqrt_timescale(warmup, args)
    shift = timescale - warmup
    return 1.0 / np.sqrt((t + shift) / timescale)


def _hf_warmup_stable_decay(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    floor = args.min_lr_ratio or 0.0
    decay = args.decay_steps
    stable = steps - warmup - decay
    warming = np.maximum(0.0, (t / max(1, warmup)) * (1.0 - floor) + floor)
    progress = (t - warmup - stable) / max(1, decay)
    decaying = 0.5 * (1.0 + np.cos(np.pi * args.num_cycles * 2.0 * progress))
    decaying = np.maximum(0.0, decaying * (1.0 - floor) + floor)
    return np.select(
        [t < warmup, t < warmup + stable, t < warmup + stable + decay],
        [warming, np.ones(t.shape), decaying],
        default=floor,
    )


def _hf_piecewise_constant(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    rules = _required(args.step_rules)
    bounds = np.asarray(rules.bounds, dtype=np.int64)
    values = np.asarray((*rules.multipliers, rules.last_multiplier))
    # diffusers returns the multiplier of the first bound above t, else the last one.
    return values[np.searchsorted(bounds, t, side="right")]


# Closed forms of Σ s(t)² for transformers' schedules.


def _square_sum_constant(steps: int, warmup: int, args: ScheduleArgs) -> float:
    return float(steps)


def _square_sum_constant_with_warmup(steps: int, warmup: int, args: ScheduleArgs) -> float:
    return _sums.ramp_square_sum(warmup) + (steps - warmup)


def _square_sum_linear(steps: int, warmup: int, args: ScheduleArgs) -> float:
    length = steps - warmup  # multipliers length/length … 1/length
    return _sums.ramp_square_sum(warmup) + (length + 1) * (2 * length + 1) / (6.0 * length)


def _square_sum_cosine(steps: int, warmup: int, args: ScheduleArgs) -> float | None:
    sums = _sums.raised_cosine_sums(args.num_cycles, steps - warmup)
    return None if sums is None else _sums.ramp_square_sum(warmup) + sums[1]


def _square_sum_cosine_with_min_lr(steps: int, warmup: int, args: ScheduleArgs) -> float | None:
    length = steps - warmup
    sums = _sums.raised_cosine_sums(args.num_cycles, length)
    if sums is None:
        return None
    return _sums.ramp_square_sum(warmup) + affine_square_sum(*sums, length, _required(args.min_lr_ratio))


@overload
def affine_square_sum(sum_h: float, sum_h_squared: float, count: int, floor: float) -> float: ...
@overload
def affine_square_sum(sum_h: FloatArray, sum_h_squared: FloatArray, count: IntArray, floor: Any) -> FloatArray: ...
def affine_square_sum(sum_h: Any, sum_h_squared: Any, count: Any, floor: Any) -> Any:
    """Σ (floor + (1 − floor)·h)² from Σh and Σh² over `count` steps (numbers, or arrays element by
    element)."""
    scale = 1.0 - floor
    return scale * scale * sum_h_squared + 2.0 * scale * floor * sum_h + floor * floor * count


def _restart_wave_sums(cycles: float, length: int) -> tuple[float, float] | None:
    """(Σh, Σh²) for h = ½(1 + cos(π · ((cycles · k / length) mod 1))), k = 0 … length−1.

    For whole `cycles`, (c·k/length) mod 1 visits each multiple of g/length g times,
    g = gcd(c, length). Where c·k/length is a whole number floating point may land
    just below it and wrap to a multiplier near 0; those g steps are computed exactly
    as the trainers compute them.
    """
    if not float(cycles).is_integer():
        return None
    shared = math.gcd(int(cycles), length)
    if shared > 64:
        return None
    period = length // shared
    sums = _sums.raised_cosine_sums(0.5, period)
    if sums is None:
        return None
    sum_h, sum_h_squared = shared * sums[0], shared * sums[1]
    for j in range(shared):
        phase = ((j * period / length) * cycles) % 1.0
        wave = max(0.0, 0.5 * (1.0 + math.cos(phase * math.pi)))
        sum_h += wave - 1.0
        sum_h_squared += wave * wave - 1.0
    return sum_h, sum_h_squared


def _square_sum_cosine_with_restarts(steps: int, warmup: int, args: ScheduleArgs) -> float | None:
    sums = _restart_wave_sums(args.num_cycles, steps - warmup)
    return None if sums is None else _sums.ramp_square_sum(warmup) + sums[1]


def polynomial_sums(steps: int, warmup: int, power: float) -> tuple[float, float, float] | None:
    """transformers' polynomial before its floor: (Σ of the warmup's squares, Σh, Σh²) for the
    decay h = remaining^power over steps − warmup steps; None without a closed form."""
    if not float(power).is_integer() or 2 * power > _sums.MAX_POWER_SUM_EXPONENT:
        return None
    exponent = int(power)
    length = steps - warmup  # remaining fractions length/length … 1/length
    return (
        _sums.ramp_square_sum(warmup),
        _sums.power_sum_ratio(exponent, length),
        _sums.power_sum_ratio(2 * exponent, length),
    )


def _square_sum_polynomial(steps: int, warmup: int, args: ScheduleArgs) -> float | None:
    sums = polynomial_sums(steps, warmup, args.power)
    if sums is None:
        return None
    ramp, sum_h, sum_h_squared = sums
    return ramp + affine_square_sum(sum_h, sum_h_squared, steps - warmup, _polynomial_floor(args))


def _square_sum_inverse_sqrt(steps: int, warmup: int, args: ScheduleArgs) -> float:
    timescale = inverse_sqrt_timescale(warmup, args)
    # s(t)² = timescale / (t + timescale − W) for t = W … N−1
    return _sums.ramp_square_sum(warmup) + timescale * _sums.reciprocal_sum(timescale, timescale + steps - warmup - 1)


def _square_sum_warmup_stable_decay(steps: int, warmup: int, args: ScheduleArgs) -> float | None:
    floor = args.min_lr_ratio or 0.0
    decay = args.decay_steps
    stable = steps - warmup - decay
    sums = _sums.raised_cosine_sums(args.num_cycles, decay)
    if sums is None:
        return None
    warming = affine_square_sum(_sums.ramp_sum(warmup), _sums.ramp_square_sum(warmup), warmup, floor)
    return warming + stable + affine_square_sum(*sums, decay, floor)


def _piecewise_segments(rules: StepRules, steps: int) -> list[tuple[int, float]]:
    """(steps, multiplier) of each stretch of a piecewise-constant run, in order."""
    segments = []
    start = 0
    for bound, multiplier in zip(rules.bounds, rules.multipliers, strict=True):
        end = min(bound, steps)
        if end > start:
            segments.append((end - start, multiplier))
            start = end
    if steps > start:
        segments.append((steps - start, rules.last_multiplier))
    return segments


def _square_sum_piecewise_constant(steps: int, warmup: int, args: ScheduleArgs) -> float:
    return sum(
        count * multiplier * multiplier for count, multiplier in _piecewise_segments(_required(args.step_rules), steps)
    )


_HUGGINGFACE_CURVES: dict[str, Curve] = {
    "constant": Curve(_hf_constant, _square_sum_constant),
    "constant_with_warmup": Curve(_hf_with_warmup(_hf_constant), _square_sum_constant_with_warmup),
    "linear": Curve(_hf_with_warmup(_hf_linear), _square_sum_linear),
    "cosine": Curve(_hf_with_warmup(_hf_cosine), _square_sum_cosine),
    "cosine_with_restarts": Curve(_hf_with_warmup(_hf_cosine_with_restarts), _square_sum_cosine_with_restarts),
    "polynomial": Curve(_hf_with_warmup(_hf_polynomial), _square_sum_polynomial),
    "inverse_sqrt": Curve(_hf_with_warmup(_hf_inverse_sqrt), _square_sum_inverse_sqrt),
    "cosine_with_min_lr": Curve(_hf_with_warmup(_hf_cosine_with_min_lr), _square_sum_cosine_with_min_lr),
    "warmup_stable_decay": Curve(_hf_warmup_stable_decay, _square_sum_warmup_stable_decay),
    "piecewise_constant": Curve(_hf_piecewise_constant, _square_sum_piecewise_constant),
}


def _musubi_rex(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    """musubi-tuner's RexLR, including its quirks at the warmup boundaries."""
    floor = args.min_lr_ratio if args.min_lr_ratio is not None else 0.01
    remaining = steps - warmup
    after = t - warmup
    z = (remaining - (after % remaining)) / remaining  # Python's modulo: step 0 wraps with warmup > 1
    decayed = floor + (1.0 - floor) * (z / (REX_ALPHA + REX_BETA * z))
    at_floor = (after >= remaining) | (after == -1)
    if warmup == 1:
        at_floor |= t == 1
        warming = np.zeros(t.shape, dtype=bool)
    elif warmup > 1:
        warming = (t >= 1) & (t <= warmup - 1)
    else:
        warming = np.zeros(t.shape, dtype=bool)
    ramp = floor + (1.0 - floor) * (t - 1) / max(1, warmup - 1)
    return np.where(warming, ramp, np.where(at_floor, floor, decayed))


def _square_sum_musubi_rex(steps: int, warmup: int, args: ScheduleArgs) -> float:
    """RexLR in closed form; its boundary quirks (steps 0 and 1) are evaluated as it computes them."""
    floor = args.min_lr_ratio if args.min_lr_ratio is not None else 0.01
    remaining = steps - warmup
    # The decay runs z = j / remaining for j = remaining … 1, except that with a single
    # warmup step its first value (j = remaining) is replaced by the floor.
    decay_count = remaining - 1 if warmup == 1 else remaining
    total = affine_square_sum(*_sums.rex_sums(decay_count, remaining, REX_ALPHA, REX_BETA), decay_count, floor)
    special = [0, 1] if warmup == 1 else [0] if warmup > 1 else []
    if special:
        values = _musubi_rex(np.asarray(special, dtype=np.int64), steps, warmup, args)
        total += float(np.dot(values, values))
    if warmup > 1:  # steps 1 … W−1 ramp from the floor: (t − 1)/(W − 1)
        ramp = warmup - 1
        total += affine_square_sum(_sums.ramp_sum(ramp), _sums.ramp_square_sum(ramp), ramp, floor)
    return total


_HUGGINGFACE_CURVES["rex"] = Curve(_musubi_rex, _square_sum_musubi_rex)


# --- OneTrainer: warmup shifts the schedule, a min factor lifts it -------------------


def _onetrainer(after: Callable[[IntArray, int, ScheduleArgs], FloatArray]) -> MultiplierFunction:
    """OneTrainer's lr_lambda_warmup around a schedule of s = t − W over S = N − W steps."""

    def multipliers(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
        shifted = np.maximum(t - warmup, 0)
        floor = args.min_lr_ratio or 0.0
        decayed = floor + (1.0 - floor) * after(shifted, steps - warmup, args)
        return np.where(t < warmup, t / max(1, warmup), decayed)

    return multipliers


def _ot_linear(s: IntArray, length: int, args: ScheduleArgs) -> FloatArray:
    return np.maximum(0.0, (length - s) / length)


def _ot_cosine(s: IntArray, length: int, args: ScheduleArgs) -> FloatArray:
    return np.maximum(0.0, 0.5 * (1.0 + np.cos((s / length) * np.pi)))


def _ot_cosine_with_restarts(s: IntArray, length: int, args: ScheduleArgs) -> FloatArray:
    progress = np.minimum(s, length - 1) / length
    return np.maximum(0.0, 0.5 * (1.0 + np.cos(progress * 2.0 * np.pi * args.num_cycles)))


def _ot_cosine_with_hard_restarts(s: IntArray, length: int, args: ScheduleArgs) -> FloatArray:
    progress = np.minimum(s, length - 1) / length
    return np.maximum(0.0, 0.5 * (1.0 + np.cos(((progress * args.num_cycles) % 1.0) * np.pi)))


def _ot_rex(s: IntArray, length: int, args: ScheduleArgs) -> FloatArray:
    remaining = 1.0 - s / length
    return np.where(s < length, remaining / (REX_ALPHA + REX_BETA * remaining), 0.0)


def _onetrainer_square_sum(after: Callable[[int, ScheduleArgs], tuple[float, float] | None]) -> ClosedSum:
    """Closed form for OneTrainer: ramp, then the min-factor-lifted schedule over S = N − W steps."""

    def square_sum(steps: int, warmup: int, args: ScheduleArgs) -> float | None:
        length = steps - warmup
        sums = after(length, args)
        if sums is None:
            return None
        return _sums.ramp_square_sum(warmup) + affine_square_sum(*sums, length, args.min_lr_ratio or 0.0)

    return square_sum


def _ot_linear_sums(length: int, args: ScheduleArgs) -> tuple[float, float]:
    return _sums.power_sum_ratio(1, length), _sums.power_sum_ratio(2, length)


def _ot_rex_sums(length: int, args: ScheduleArgs) -> tuple[float, float]:
    return _sums.rex_sums(length, length, REX_ALPHA, REX_BETA)


_ONETRAINER_CURVES: dict[str, Curve] = {
    "constant": Curve(_onetrainer(lambda s, n, a: np.ones(s.shape)), _onetrainer_square_sum(lambda n, a: (n, n))),
    "linear": Curve(_onetrainer(_ot_linear), _onetrainer_square_sum(_ot_linear_sums)),
    "cosine": Curve(_onetrainer(_ot_cosine), _onetrainer_square_sum(lambda n, a: _sums.raised_cosine_sums(0.5, n))),
    "cosine_with_restarts": Curve(
        _onetrainer(_ot_cosine_with_restarts),
        _onetrainer_square_sum(lambda n, a: _sums.raised_cosine_sums(a.num_cycles, n)),
    ),
    "cosine_with_hard_restarts": Curve(
        _onetrainer(_ot_cosine_with_hard_restarts),
        _onetrainer_square_sum(lambda n, a: _restart_wave_sums(a.num_cycles, n)),
    ),
    "rex": Curve(_onetrainer(_ot_rex), _onetrainer_square_sum(_ot_rex_sums)),
}


# --- ai-toolkit: torch schedulers over the whole run, no warmup ------------------------


def _aitk_linear(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    """torch LinearLR with total_iters = N (its recursion equals this to ~1e-15)."""
    return args.start_factor + (args.end_factor - args.start_factor) * np.minimum(steps, t) / steps


def _aitk_cosine(t: IntArray, steps: int, warmup: int, args: ScheduleArgs) -> FloatArray:
    """torch CosineAnnealingLR (T_max = N) and CosineAnnealingWarmRestarts (T_0 = N) within one run."""
    return (1.0 + np.cos(np.pi * t / steps)) / 2.0


def _square_sum_aitk_linear(steps: int, warmup: int, args: ScheduleArgs) -> float:
    start, rise = args.start_factor, args.end_factor - args.start_factor
    return (
        start * start * steps + 2.0 * start * rise * _sums.ramp_sum(steps) + rise * rise * _sums.ramp_square_sum(steps)
    )


def _square_sum_aitk_cosine(steps: int, warmup: int, args: ScheduleArgs) -> float | None:
    sums = _sums.raised_cosine_sums(0.5, steps)
    return None if sums is None else sums[1]


_AI_TOOLKIT_CURVES: dict[str, Curve] = {
    "constant": Curve(_hf_constant, _square_sum_constant),
    "linear": Curve(_aitk_linear, _square_sum_aitk_linear),
    "cosine": Curve(_aitk_cosine, _square_sum_aitk_cosine),
    "cosine_with_restarts": Curve(_aitk_cosine, _square_sum_aitk_cosine),
    "constant_with_warmup": _HUGGINGFACE_CURVES["constant_with_warmup"],
}


#: Curves by owner: the formula set lrtool-1.0, or a trainer id for the energy formula.
CURVES: dict[str, dict[str, Curve]] = {
    LRTOOL_1_0: _LRTOOL_CURVES,
    "huggingface": _HUGGINGFACE_CURVES,
    "onetrainer": _ONETRAINER_CURVES,
    "ai-toolkit": _AI_TOOLKIT_CURVES,
}


_T = TypeVar("_T")


def _required(value: _T | None) -> _T:
    if value is None:  # pragma: no cover - validation fills every required parameter
        raise AssertionError("schedule parameter missing after validation")
    return value


# --- Integration ---------------------------------------------------------------


def curve_for(owner: str, schedule: str) -> Curve:
    return CURVES[owner][schedule]


def step_multipliers(
    owner: str, schedule: str, steps: int, warmup: int, args: ScheduleArgs, at: IntArray
) -> FloatArray:
    """The multiplier the trainer applies at each optimizer step in `at`."""
    curve = curve_for(owner, schedule)
    return curve.multipliers(at.astype(np.int64, copy=False), steps, warmup, args)


def direct_square_sum(owner: str, schedule: str, steps: int, warmup: int, args: ScheduleArgs) -> tuple[float, int]:
    """Σ s(t)² stepping through every step, and how many steps are at zero."""
    curve = curve_for(owner, schedule)
    total = 0.0
    zero_steps = 0
    first = curve.first_step
    for start in range(first, first + steps, _CHUNK_STEPS):
        raise_if_stopped()  # a chunk of the slowest curve (LRTool 1.0's) takes about 0.25 s
        t = np.arange(start, min(start + _CHUNK_STEPS, first + steps), dtype=np.int64)
        values = curve.multipliers(t, steps, warmup, args)
        squares = values * values
        if curve.sequential_sum:
            total = float(np.cumsum(np.concatenate(([total], squares)))[-1])
        else:
            total += float(np.sum(squares))
        zero_steps += int(np.count_nonzero(values == 0.0))
    return total, zero_steps


def integrate_once(owner: str, schedule: str, steps: int, warmup: int, args: ScheduleArgs) -> Integral:
    """scheduler_factor = √(mean s(t)²) over the run; closed form where one exists. (Batches call
    this directly: their runs are seldom met again, and would push out the ones that are.)"""
    curve = curve_for(owner, schedule)
    if curve.closed_square_sum is not None:
        closed = curve.closed_square_sum(steps, warmup, args)
        if closed is not None:
            zero_fraction = _closed_zero_fraction(owner, schedule, steps, warmup, args)
            return Integral(math.sqrt(max(0.0, closed) / steps), zero_fraction, closed_form=True)
    total, zero_steps = direct_square_sum(owner, schedule, steps, warmup, args)
    return Integral(math.sqrt(total / steps), zero_steps / steps, closed_form=False)


#: integrate_once, kept for the runs met again: a slider, a sweep, a repeated request.
integrate = lru_cache(maxsize=4096)(integrate_once)


def _closed_zero_fraction(owner: str, schedule: str, steps: int, warmup: int, args: ScheduleArgs) -> float:
    """Share of steps at exactly zero for closed-form curves: a warmup's first step, or piecewise rules."""
    if schedule == "piecewise_constant" and args.step_rules is not None:
        zero = sum(count for count, multiplier in _piecewise_segments(args.step_rules, steps) if multiplier == 0.0)
        return zero / steps
    return (1 if warmup > 0 else 0) / steps


# --- Many runs of one schedule at once (batches) ----------------------------------------
#
# The closed forms above for arrays of run lengths and warmups, operation for operation (see
# _sums: every element equals the scalar result). A schedule without an array form here, or a
# run where the scalar closed form would return None, is integrated one run at a time.

#: Σ s(t)² for runs of `steps` with `warmup` steps, and where the closed form holds.
ClosedSquareSums = Callable[[IntArray, IntArray, ScheduleArgs], tuple[FloatArray, BoolArray]]


def _everywhere(values: FloatArray) -> tuple[FloatArray, BoolArray]:
    return values, np.ones(len(values), bool)


def _restart_waves_sums(cycles: float, lengths: IntArray) -> tuple[FloatArray, FloatArray, BoolArray]:
    """_restart_wave_sums(cycles, length) for each length: (Σh, Σh², closed)."""
    count = len(lengths)
    if not float(cycles).is_integer():
        return np.zeros(count), np.zeros(count), np.zeros(count, bool)
    shared = np.gcd(int(cycles), lengths)
    closed = shared <= 64
    shared = np.where(closed, shared, 1)
    period = lengths // shared
    wave_h, wave_h_squared, wave_closed = _sums.raised_cosines_sums(0.5, period)
    sum_h, sum_h_squared = shared * wave_h, shared * wave_h_squared
    for j in range(int(shared.max(initial=0))):
        active = j < shared
        phase = ((j * period / lengths) * cycles) % 1.0
        wave = np.maximum(0.0, 0.5 * (1.0 + _sums.each(math.cos, phase * math.pi)))
        sum_h = np.where(active, sum_h + (wave - 1.0), sum_h)
        sum_h_squared = np.where(active, sum_h_squared + (wave * wave - 1.0), sum_h_squared)
    return sum_h, sum_h_squared, closed & wave_closed


def _square_sums_constant(steps: IntArray, warmup: IntArray, args: ScheduleArgs) -> tuple[FloatArray, BoolArray]:
    return _everywhere(steps.astype(np.float64))


def _square_sums_constant_with_warmup(
    steps: IntArray, warmup: IntArray, args: ScheduleArgs
) -> tuple[FloatArray, BoolArray]:
    return _everywhere(_sums.ramp_square_sums(warmup) + (steps - warmup))


def _square_sums_linear(steps: IntArray, warmup: IntArray, args: ScheduleArgs) -> tuple[FloatArray, BoolArray]:
    length = steps - warmup
    return _everywhere(_sums.ramp_square_sums(warmup) + (length + 1) * (2 * length + 1) / (6.0 * length))


def _square_sums_cosine(steps: IntArray, warmup: IntArray, args: ScheduleArgs) -> tuple[FloatArray, BoolArray]:
    _, sum_h_squared, closed = _sums.raised_cosines_sums(args.num_cycles, steps - warmup)
    return _sums.ramp_square_sums(warmup) + sum_h_squared, closed


def _square_sums_cosine_with_min_lr(
    steps: IntArray, warmup: IntArray, args: ScheduleArgs
) -> tuple[FloatArray, BoolArray]:
    length = steps - warmup
    sum_h, sum_h_squared, closed = _sums.raised_cosines_sums(args.num_cycles, length)
    lifted = affine_square_sum(sum_h, sum_h_squared, length, _required(args.min_lr_ratio))
    return _sums.ramp_square_sums(warmup) + lifted, closed


def _square_sums_cosine_with_restarts(
    steps: IntArray, warmup: IntArray, args: ScheduleArgs
) -> tuple[FloatArray, BoolArray]:
    _, sum_h_squared, closed = _restart_waves_sums(args.num_cycles, steps - warmup)
    return _sums.ramp_square_sums(warmup) + sum_h_squared, closed


def _onetrainer_square_sums(
    after: Callable[[IntArray, ScheduleArgs], tuple[FloatArray, FloatArray, BoolArray]],
) -> ClosedSquareSums:
    def square_sums(steps: IntArray, warmup: IntArray, args: ScheduleArgs) -> tuple[FloatArray, BoolArray]:
        length = steps - warmup
        sum_h, sum_h_squared, closed = after(length, args)
        lifted = affine_square_sum(sum_h, sum_h_squared, length, args.min_lr_ratio or 0.0)
        return _sums.ramp_square_sums(warmup) + lifted, closed

    return square_sums


def _ot_constant_sums(lengths: IntArray, args: ScheduleArgs) -> tuple[FloatArray, FloatArray, BoolArray]:
    return lengths, lengths, np.ones(len(lengths), bool)  # type: ignore[return-value]  # as (n, n): integers


def _square_sums_aitk_linear(steps: IntArray, warmup: IntArray, args: ScheduleArgs) -> tuple[FloatArray, BoolArray]:
    start, rise = args.start_factor, args.end_factor - args.start_factor
    return _everywhere(
        start * start * steps
        + 2.0 * start * rise * _sums.ramp_sums(steps)
        + rise * rise * _sums.ramp_square_sums(steps)
    )


def _square_sums_aitk_cosine(steps: IntArray, warmup: IntArray, args: ScheduleArgs) -> tuple[FloatArray, BoolArray]:
    _, sum_h_squared, closed = _sums.raised_cosines_sums(0.5, steps)
    return sum_h_squared, closed


#: The array forms by owner and schedule (see CURVES); the rest go one run at a time.
SQUARE_SUMS: dict[str, dict[str, ClosedSquareSums]] = {
    "huggingface": {
        "constant": _square_sums_constant,
        "constant_with_warmup": _square_sums_constant_with_warmup,
        "linear": _square_sums_linear,
        "cosine": _square_sums_cosine,
        "cosine_with_min_lr": _square_sums_cosine_with_min_lr,
        "cosine_with_restarts": _square_sums_cosine_with_restarts,
    },
    "onetrainer": {
        "constant": _onetrainer_square_sums(_ot_constant_sums),
        "linear": _onetrainer_square_sums(lambda n, a: _sums.linear_ratio_sums(n)),
        "cosine": _onetrainer_square_sums(lambda n, a: _sums.raised_cosines_sums(0.5, n)),
        "cosine_with_restarts": _onetrainer_square_sums(lambda n, a: _sums.raised_cosines_sums(a.num_cycles, n)),
        "cosine_with_hard_restarts": _onetrainer_square_sums(lambda n, a: _restart_waves_sums(a.num_cycles, n)),
    },
    "ai-toolkit": {
        "constant": _square_sums_constant,
        "linear": _square_sums_aitk_linear,
        "cosine": _square_sums_aitk_cosine,
        "cosine_with_restarts": _square_sums_aitk_cosine,
        "constant_with_warmup": _square_sums_constant_with_warmup,
    },
}


def has_array_form(owner: str, schedule: str) -> bool:
    return schedule in SQUARE_SUMS.get(owner, {})


def integrate_many(
    owner: str, schedule: str, steps: IntArray, warmup: IntArray, args: ScheduleArgs
) -> tuple[FloatArray, FloatArray]:
    """integrate(owner, schedule, steps[i], warmup[i], args) for every run: (scheduler_factor,
    zero_fraction) arrays, each element equal to the scalar integral's."""
    factor = np.zeros(len(steps))
    zero_fraction = np.zeros(len(steps))
    square_sums = SQUARE_SUMS.get(owner, {}).get(schedule)
    closed = np.zeros(len(steps), bool)
    if square_sums is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            total, closed = square_sums(steps, warmup, args)
            factor = np.sqrt(np.maximum(0.0, total) / steps)
        zero_fraction = (warmup > 0) / steps
    for row in np.flatnonzero(~closed).tolist():
        integral = integrate_once(owner, schedule, int(steps[row]), int(warmup[row]), args)
        factor[row], zero_fraction[row] = integral.scheduler_factor, integral.zero_fraction
    return factor, zero_fraction
