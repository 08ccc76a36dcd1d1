"""Closed-form sums used to integrate schedules without stepping through them.

Every function here returns the exact value of a finite sum (up to rounding),
or None where the closed form would lose precision, so the caller falls back
to summing the steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import cache

import numpy as np
from numpy.typing import NDArray

#: Arrays of the engine's columns (every module that computes on arrays names them so).
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Below this distance from a multiple of π, the Dirichlet kernel loses digits.
_ILL_CONDITIONED_SINE = 1e-8
#: Largest exponent whose power sum uses Faulhaber's formula.
MAX_POWER_SUM_EXPONENT = 24


def _reduce_half_turns(x: float) -> float:
    """x − 2·round(x / 2): the same angle in half turns, in [−1, 1], computed exactly."""
    return x - 2.0 * round(x / 2.0)


def sin_pi(x: float) -> float:
    """sin(π x), accurate for large x."""
    return math.sin(math.pi * _reduce_half_turns(x))


def cos_pi(x: float) -> float:
    """cos(π x), accurate for large x."""
    return math.cos(math.pi * _reduce_half_turns(x))


def cosine_sum(cycles: float, count: int) -> float | None:
    """Σ_{k=0}^{count−1} cos(2π · cycles · k / count)."""
    ratio = cycles / count
    nearest = round(ratio)
    if ratio == nearest:
        return float(count)
    denominator = sin_pi(ratio)
    if abs(denominator) < _ILL_CONDITIONED_SINE:
        return None
    return cos_pi(cycles - ratio) * sin_pi(cycles) / denominator


def raised_cosine_sums(cycles: float, count: int) -> tuple[float, float] | None:
    """(Σh, Σh²) for h(k) = ½(1 + cos(2π · cycles · k / count)), k = 0 … count−1."""
    single = cosine_sum(cycles, count)
    double = cosine_sum(2.0 * cycles, count)
    if single is None or double is None:
        return None
    sum_h = 0.5 * (count + single)
    sum_h_squared = 0.25 * (1.5 * count + 2.0 * single + 0.5 * double)
    return sum_h, sum_h_squared


def ramp_square_sum(length: int) -> float:
    """Σ_{t=0}^{length−1} (t / length)²: a linear warmup from 0 over `length` steps."""
    if length <= 0:
        return 0.0
    return (length - 1) * (2 * length - 1) / (6.0 * length)


def ramp_sum(length: int) -> float:
    """Σ_{t=0}^{length−1} t / length."""
    if length <= 0:
        return 0.0
    return (length - 1) / 2.0


@cache
def _faulhaber_numerators(exponent: int) -> tuple[tuple[int, ...], int]:
    """Integer coefficients c_k and denominator d with Σ_{j=1}^{n} j^p = (Σ c_k n^k) / d."""
    bernoulli = _bernoulli_plus(exponent)
    coefficients = [Fraction(0)] * (exponent + 2)
    for k in range(exponent + 1):
        # Σ_{j=1}^{n} j^p = 1/(p+1) Σ_k C(p+1, k) B_k^+ n^(p+1−k)
        coefficients[exponent + 1 - k] += Fraction(math.comb(exponent + 1, k)) * bernoulli[k] / (exponent + 1)
    denominator = math.lcm(*(c.denominator for c in coefficients))
    return tuple(int(c * denominator) for c in coefficients), denominator


def _bernoulli_plus(count: int) -> list[Fraction]:
    """Bernoulli numbers B_0 … B_count with B_1 = +½ (Akiyama–Tanigawa)."""
    result = []
    table = [Fraction(0)] * (count + 1)
    for m in range(count + 1):
        table[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            table[j - 1] = j * (table[j - 1] - table[j])
        result.append(table[0])
    return result


def power_sum_ratio(exponent: int, count: int) -> float:
    """Σ_{j=1}^{count} (j / count)^exponent, exactly rounded (integer exponent ≤ 24)."""
    if not 0 <= exponent <= MAX_POWER_SUM_EXPONENT:
        raise ValueError(f"exponent {exponent} outside 0 … {MAX_POWER_SUM_EXPONENT}")
    numerators, denominator = _faulhaber_numerators(exponent)
    total = 0
    for coefficient in reversed(numerators):  # Horner in exact integers
        total = total * count + coefficient
    return float(total / (denominator * count**exponent))


# Asymptotic series of ψ and ψ′ hold to ~1e-17 from this argument on.
_ASYMPTOTIC_FROM = 16.0
# Direct summation is as fast as the series below this many terms.
_DIRECT_TERMS = 64
# Bernoulli-number coefficients: ψ(x) ~ ln x − 1/(2x) − Σ B_2k / (2k x^2k),
# ψ′(x) ~ 1/x + 1/(2x²) + Σ B_2k / x^(2k+1).
_DIGAMMA_TERMS = (1.0 / 12.0, -1.0 / 120.0, 1.0 / 252.0, -1.0 / 240.0, 1.0 / 132.0, -691.0 / 32760.0)
_TRIGAMMA_TERMS = (1.0 / 6.0, -1.0 / 30.0, 1.0 / 42.0, -1.0 / 30.0, 5.0 / 66.0, -691.0 / 2730.0)


def _digamma_rest(x: float) -> float:
    """ψ(x) − ln x + 1/(2x) (x ≥ 16)."""
    inverse_squared = 1.0 / (x * x)
    total = 0.0
    power = inverse_squared
    for coefficient in _DIGAMMA_TERMS:
        total -= coefficient * power
        power *= inverse_squared
    return total


def _trigamma_rest(x: float) -> float:
    """ψ′(x) − 1/x − 1/(2x²) (x ≥ 16)."""
    inverse_squared = 1.0 / (x * x)
    total = 0.0
    power = inverse_squared / x
    for coefficient in _TRIGAMMA_TERMS:
        total += coefficient * power
        power *= inverse_squared
    return total


def shifted_reciprocal_sums(count: int, shift: float) -> tuple[float, float]:
    """(Σ 1/(j + shift), Σ 1/(j + shift)²) for j = 1 … count, shift > −1.

    Through ψ(x₁) − ψ(x₀) and ψ′(x₀) − ψ′(x₁) with x₀ = shift + 1, x₁ = shift + count + 1;
    the first terms are added directly until the asymptotic series is exact.
    """
    sum_1: list[float] = []
    sum_2: list[float] = []
    j = 1
    while j <= count and (shift + j < _ASYMPTOTIC_FROM or count - j < _DIRECT_TERMS):
        term = 1.0 / (shift + j)
        sum_1.append(term)
        sum_2.append(term * term)
        j += 1
    if j > count:
        return math.fsum(sum_1), math.fsum(sum_2)
    first = shift + j
    stop = shift + count + 1.0
    # Differences of the series, the logarithms combined to avoid cancellation.
    sum_1.append(math.log1p((stop - first) / first))
    sum_1.append(0.5 / first - 0.5 / stop)
    sum_1.append(_digamma_rest(stop) - _digamma_rest(first))
    sum_2.append(1.0 / first - 1.0 / stop)
    sum_2.append(0.5 / (first * first) - 0.5 / (stop * stop))
    sum_2.append(_trigamma_rest(first) - _trigamma_rest(stop))
    return math.fsum(sum_1), math.fsum(sum_2)


def reciprocal_sum(first: int, last: int) -> float:
    """Σ_{u=first}^{last} 1/u for 1 ≤ first ≤ last."""
    if last < first:
        return 0.0
    return shifted_reciprocal_sums(last - first + 1, first - 1.0)[0]


def rex_sums(count: int, length: int, alpha: float, beta: float) -> tuple[float, float]:
    """(Σh, Σh²) for the REX curve h_j = z / (alpha + beta·z), z = j / length, j = 1 … count.

    h_j = (1/beta) · j / (j + a) with a = alpha·length / beta, so
    Σh = (count − a·S₁) / beta and Σh² = (count − 2a·S₁ + a²·S₂) / beta², S_k = Σ 1/(j + a)^k.
    """
    if count <= 0:
        return 0.0, 0.0
    shift = alpha * length / beta
    inverse_sum, inverse_square_sum = shifted_reciprocal_sums(count, shift)
    sum_h = (count - shift * inverse_sum) / beta
    sum_h_squared = math.fsum((count, -2.0 * shift * inverse_sum, shift * shift * inverse_square_sum)) / (beta * beta)
    return sum_h, sum_h_squared


# --- The same sums for many runs at once (batches) ---------------------------------------
#
# Each mirrors the function above of the same name, operation for operation: numpy's
# arithmetic rounds as Python's does, and the sines and cosines are Python's own (numpy's
# may differ in the last bit), so every element equals what the scalar function returns.
# Where the scalar function would return None, `closed` is False and the value is unused.


def each(function: Callable[[float], float], values: FloatArray) -> FloatArray:
    """`function` (one of Python's math functions) of every element."""
    return np.fromiter(map(function, values.tolist()), np.float64, len(values))


def sin_pis(x: FloatArray) -> FloatArray:
    return each(math.sin, math.pi * (x - 2.0 * np.round(x / 2.0)))


def cos_pis(x: FloatArray) -> FloatArray:
    return each(math.cos, math.pi * (x - 2.0 * np.round(x / 2.0)))


def cosine_sums(cycles: float, counts: IntArray) -> tuple[FloatArray, BoolArray]:
    """cosine_sum(cycles, count) for each count, and where it has a closed form."""
    ratio = cycles / counts
    whole = ratio == np.round(ratio)
    denominator = sin_pis(ratio)
    closed = whole | (np.abs(denominator) >= _ILL_CONDITIONED_SINE)
    safe = np.where(closed & ~whole, denominator, 1.0)
    values = cos_pis(cycles - ratio) * sin_pi(cycles) / safe
    return np.where(whole, counts.astype(np.float64), values), closed


def raised_cosines_sums(cycles: float, counts: IntArray) -> tuple[FloatArray, FloatArray, BoolArray]:
    """raised_cosine_sums(cycles, count) for each count: (Σh, Σh², closed)."""
    single, single_closed = cosine_sums(cycles, counts)
    double, double_closed = cosine_sums(2.0 * cycles, counts)
    sum_h = 0.5 * (counts + single)
    sum_h_squared = 0.25 * (1.5 * counts + 2.0 * single + 0.5 * double)
    return sum_h, sum_h_squared, single_closed & double_closed


def ramp_square_sums(lengths: IntArray) -> FloatArray:
    """ramp_square_sum(length) for each length."""
    safe = np.maximum(lengths, 1)
    return np.where(lengths > 0, (safe - 1) * (2 * safe - 1) / (6.0 * safe), 0.0)


def ramp_sums(lengths: IntArray) -> FloatArray:
    """ramp_sum(length) for each length."""
    return np.where(lengths > 0, (lengths - 1) / 2.0, 0.0)


#: Below this many steps Σ (j/n)² = (n + 1)(2n + 1) / 6n is exact in doubles before its one
#: division, so it rounds as power_sum_ratio's exact integers do.
_EXACT_SQUARE_RATIO_STEPS = 10_000_000


def linear_ratio_sums(counts: IntArray) -> tuple[FloatArray, FloatArray, BoolArray]:
    """(power_sum_ratio(1, n), power_sum_ratio(2, n)) for each count n, and where exact."""
    sum_h = (counts + 1) / 2.0
    sum_h_squared = ((counts + 1) * (2 * counts + 1)) / (6.0 * counts)
    return sum_h, sum_h_squared, counts < _EXACT_SQUARE_RATIO_STEPS
