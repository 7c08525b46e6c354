"""The classical apportionment methods, computed exactly, as baselines for the models.

A divisor method gives seat n+1 (counting from 0) to the area with the largest
claim w / s(n), where s is the method's signpost sequence:

===========================  ===============================  ==================
method                       s(n)                             also called
===========================  ===============================  ==================
``jefferson``                n + 1                            D'Hondt
``webster``                  n + 1/2                          Sainte-Laguë
``sainte-lague-modified``    f/2 for n = 0, else n + 1/2      Scandinavian
``huntington-hill``          sqrt(n (n + 1))                  equal proportions
``adams``                    n                                smallest divisors
``dean``                     n (n + 1) / (n + 1/2)            harmonic mean
===========================  ===============================  ==================

f is modified Sainte-Laguë's first divisor in the 1, 3, 5, … scale: 1.4 by
default (Norway), 1.2 in Sweden since 2018.

With min and max bounds an area starts at its min and stops at its max: this
sequential rule gives the bounded divisor method (every area gets
min(max(lo, round(w / D)), hi) for one divisor D), as in BAZI. Hamilton
(largest remainder, Hare quota) shares out restricted quotas: q_i = clip(lambda
w_i, lo_i, hi_i) with lambda such that the q_i add up to the total; each area
gets the integer part of its quota, and the seats left over go to the largest
remainders. Droop is largest remainder with the whole-vote Droop quota
Q = floor(W / (total + 1)) + 1: floor(w / Q) each, the rest to the largest
remainders (no bounds).

All claims are compared as exact fractions (the Huntington-Hill claim squared),
so a tie is a real tie. An area with no seat under Adams, Huntington-Hill or
Dean has an infinite claim (s(0) = 0): such areas are served largest weight
first, the order of w / s(0 + e) as e -> 0 (the limit of the claim), and equal
weights there are a tie. A tie is broken by the tie rule: area id, ascending
(``id``, the default) or table order (``first-listed``); with ``error`` a tie
that decides a seat of the total stops the run. Every tie that decides a seat
is reported, never broken silently.

Thresholds (a share of the total weight, or a weight) exclude the areas below
them before the method runs; they get no seat and are listed with the reason.

For a large total a divisor method first jumps: it finds by bisection a claim
level just above the last seat, gives every area the seats whose claims lie
above it, and hands out the last seats and the priority list one by one. Time
and memory depend on the number of areas, not on the total.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from allocator.errors import InfeasibleError, InputError

#: Accepted method names and the method each one means.
METHOD_NAMES: dict[str, str] = {
    "hamilton": "hamilton",
    "largest-remainder": "hamilton",
    "hare-niemeyer": "hamilton",
    "jefferson": "jefferson",
    "dhondt": "jefferson",
    "webster": "webster",
    "sainte-lague": "webster",
    "huntington-hill": "huntington-hill",
    "adams": "adams",
    "dean": "dean",
    "hare": "hamilton",
    "sainte-lague-modified": "sainte-lague-modified",
    "modified-sainte-lague": "sainte-lague-modified",
    "droop": "droop",
    "largest-remainder-droop": "droop",
}
DIVISOR_METHODS = ("jefferson", "webster", "huntington-hill", "adams", "dean", "sainte-lague-modified")
METHODS = ("hamilton", "droop", *DIVISOR_METHODS)
#: How many further seats the priority list names.
NEXT_SEATS = 10
#: The first divisor of modified Sainte-Laguë (1, 3, 5, … scale) when none is given.
FIRST_DIVISOR = Fraction(7, 5)
#: What happens at a tie that decides a seat of the total.
TIE_RULES = ("id", "first-listed", "error")
#: The largest total ``apportion`` accepts: far above any real use, and small enough that every
#: quota still prints as a float and the bisection for the divisor stays within float range.
MAX_TOTAL = 10**15
#: Below this many free seats (beyond a few per area) the seats are simply handed out one by one.
_STEPWISE = 1_000


def method_named(name: str) -> str:
    """The method ``name`` stands for (e.g. ``dhondt`` -> ``jefferson``).

    Raises
    ------
    InputError
        When the name is not a known method.
    """
    method = METHOD_NAMES.get(name.strip().lower().replace("_", "-").replace("'", "").replace("ë", "e"))
    if method is None:
        raise InputError(f"unknown apportionment method '{name}'",
                         fix="use one of " + ", ".join(METHOD_NAMES))
    return method


def first_divisor_of(value: Fraction | float | str | None) -> Fraction:
    """The first divisor of modified Sainte-Laguë as an exact fraction, checked to lie in (0, 2].

    Raises
    ------
    InputError
        When the value is not a number in (0, 2].
    """
    if value is None:
        return FIRST_DIVISOR
    try:
        exact = value if isinstance(value, Fraction) else Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise InputError(f"the first divisor '{value}' is not a number", fix="write e.g. 1.4 or 1.2") from None
    if not 0 < exact <= 2:
        # Above 2 the first signpost would pass the second (s(0) = f/2 > s(1) = 3/2 needs f > 3, but
        # s(0) <= 1 keeps every signpost within [n, n + 1], which the jump to the divisor relies on).
        raise InputError(f"the first divisor {value} is outside (0, 2]",
                         fix="use the first divisor in the 1, 3, 5 scale, e.g. 1.4 (Norway) or 1.2 (Sweden)")
    return exact


@functools.lru_cache(maxsize=1 << 16)  # the same few signposts are asked for again and again by tie-and-transfer
def signpost(method: str, n: int, first_divisor: Fraction = FIRST_DIVISOR) -> Fraction:
    """s(n) of a divisor method as an exact fraction; Huntington-Hill gives s(n)^2 = n (n + 1) instead."""
    if method == "jefferson":
        return Fraction(n + 1)
    if method == "webster":
        return Fraction(2 * n + 1, 2)
    if method == "sainte-lague-modified":
        return first_divisor / 2 if n == 0 else Fraction(2 * n + 1, 2)
    if method == "adams":
        return Fraction(n)
    if method == "huntington-hill":
        return Fraction(n * (n + 1))
    if method == "dean":
        return Fraction(2 * n * (n + 1), 2 * n + 1)
    raise ValueError(f"{method} is not a divisor method")


def signposts(method: str, upto: int, first_divisor: Fraction = FIRST_DIVISOR) -> list[float]:
    """s(0), …, s(upto - 1) of a divisor method, as floats (small ``upto`` only; see :func:`signpost_sums`)."""
    if method == "huntington-hill":
        return [math.sqrt(n * (n + 1)) for n in range(upto)]
    return [float(signpost(method, n, first_divisor)) for n in range(upto)]


#: Up to this many units the sums of the signposts of Huntington-Hill and Dean come from a table.
_TABLE = 1 << 12


@functools.lru_cache(maxsize=4)
def _deficit_table(method: str) -> np.ndarray:
    """E(n) = sum over k < n of (k + 1/2 - s(k)) for n = 0 … _TABLE, each summed with math.fsum."""
    if method == "huntington-hill":
        terms = [k + 0.5 - math.sqrt(k * (k + 1)) for k in range(_TABLE)]
    else:
        terms = [1.0 / (4 * k + 2) for k in range(_TABLE)]
    return np.array([math.fsum(terms[:n]) for n in range(_TABLE + 1)])


def _deficit_tail(method: str, u: np.ndarray) -> np.ndarray:
    """An antiderivative of g(u) = u - s(u - 1/2), the deficit of the signpost at k = u - 1/2.

    Dean: g(u) = 1 / (4u); Huntington-Hill: g(u) = u - sqrt(u^2 - 1/4) = 1/(8u) + 1/(128u^3) + 1/(1024u^5) + …
    """
    if method == "dean":
        return np.log(u) / 4
    return np.log(u) / 8 - 1 / (256 * u * u) - 1 / (4096 * u**4)


def _deficit_slope(method: str, u: np.ndarray) -> np.ndarray:
    """g'(u), for the midpoint rule's correction term."""
    if method == "dean":
        return -1 / (4 * u * u)
    return -1 / (8 * u * u) - 3 / (128 * u**4)


def signpost_sums(method: str, n: np.ndarray, first_divisor: Fraction = FIRST_DIVISOR) -> np.ndarray:
    """S(n) = s(0) + … + s(n - 1) for every n of an array, in float, whatever the size of n.

    The convex cost of ``objective: apportionment`` is S(n) / w. Jefferson, Webster,
    modified Sainte-Laguë and Adams have exact closed forms. For Huntington-Hill and
    Dean S(n) = n^2 / 2 - E(n), where the deficit E(n) = sum (k + 1/2 - s(k)) grows
    like log(n) / 8 (resp. / 4): it is summed term by term up to 4096 and beyond by
    the midpoint rule with its first Euler-Maclaurin correction (error below 1e-13).
    Memory is that of ``n``; nothing is as long as the total.
    """
    n = np.asarray(n, dtype=np.int64)
    x = n.astype(float)
    if method == "jefferson":
        out = x * (x + 1) / 2
    elif method == "webster":
        out = x * x / 2
    elif method == "sainte-lague-modified":
        out = x * x / 2 - (0.5 - float(first_divisor) / 2)
    elif method == "adams":
        out = x * (x - 1) / 2
    elif method in ("huntington-hill", "dean"):
        table = _deficit_table(method)
        small = np.minimum(n, _TABLE)
        big = np.maximum(x, float(_TABLE))
        tail = (_deficit_tail(method, big) - _deficit_tail(method, np.float64(_TABLE))) \
            - (_deficit_slope(method, big) - _deficit_slope(method, np.float64(_TABLE))) / 24
        out = x * x / 2 - (table[small] + np.where(n > _TABLE, tail, 0.0))
    else:
        raise ValueError(f"{method} is not a divisor method")
    return np.where(n > 0, out, 0.0)


def claim(method: str, weight: Fraction, seats: int,
          first_divisor: Fraction = FIRST_DIVISOR) -> tuple[int, Fraction]:
    """The exact claim of an area of ``weight`` holding ``seats`` on its next seat, as a sortable pair.

    (1, w) is an infinite claim (s(0) = 0: Adams, Huntington-Hill, Dean); among
    infinite claims the larger weight comes first, the limit of w / s(0 + e). The
    Huntington-Hill claim is squared, which keeps the order.
    """
    if weight == 0:
        return (0, Fraction(0))
    if method == "huntington-hill":
        return (1, weight) if seats == 0 else (0, weight * weight / (seats * (seats + 1)))
    post = signpost(method, seats, first_divisor)
    return (1, weight) if post == 0 else (0, weight / post)


def _seats_above(method: str, weight: Fraction, level: Fraction, first_divisor: Fraction) -> int:
    """How many seats of an area have a claim strictly above ``level`` (> 0): #{k : s(k) < w / level}.

    Every signpost lies in [k, k + 1], so the count is floor(w / level) - 1 plus at most
    two more checks; Huntington-Hill compares squares.
    """
    if weight == 0:
        return 0
    # The Huntington-Hill level is a squared claim w^2 / (k (k + 1)), so compare k (k + 1) with w^2 / level.
    x = weight * weight / level if method == "huntington-hill" else weight / level
    estimate = math.isqrt(x.numerator // x.denominator) if method == "huntington-hill" else \
        x.numerator // x.denominator
    k = max(0, estimate - 1)
    while signpost(method, k, first_divisor) < x:
        k += 1
    return k


@dataclass(frozen=True)
class Tie:
    """Areas with exactly equal claims on seats that the tie rule shared out.

    Attributes
    ----------
    seats
        The seat numbers (counted over the whole total) the tied areas compete for.
    areas
        Every area with that claim, in the order the tie rule served them.
    awarded
        The areas that received those seats within the total (empty for a tie
        that only orders the priority list).
    decides_total
        True when the tie decides who holds a seat of the total itself.
    rule
        The tie rule that ordered them: ``id`` or ``first-listed``.
    """

    seats: list[int]
    areas: list[str]
    awarded: list[str]
    decides_total: bool
    rule: str = "id"

    def describe(self) -> str:
        """One sentence for people."""
        seats = f"seat {self.seats[0]}" if len(self.seats) == 1 else f"seats {self.seats[0]}-{self.seats[-1]}"
        rule = _RULE_WORDS.get(self.rule, self.rule)
        if self.decides_total:
            return (f"{', '.join(self.areas)} have exactly equal claims on {seats}; the total ends among them, "
                    f"and the tie rule ({rule}) gave the seat(s) within it to {', '.join(self.awarded)}")
        return (f"{', '.join(self.areas)} have exactly equal claims on {seats} of the priority list; "
                f"the tie rule ({rule}) orders them there")


_RULE_WORDS = {"id": "area id, ascending", "first-listed": "table order", "error": "area id, ascending"}


@dataclass(frozen=True)
class Apportionment:
    """The result of one method on one table.

    Attributes
    ----------
    method, total
        The method (canonical name) and the seats shared out.
    areas, weights, lo, hi
        The input, in table order (``hi`` None: no max).
    posts
        Seats per area, in table order.
    quotas
        total * w / W: each area's exact share before rounding and bounds (W summed over the
        areas that pass the threshold; 0 for an excluded area).
    next
        The areas that would receive seats total+1, total+2, … (None where
        Hamilton's result at that size is not the previous one plus a seat).
    ties
        Every tie that decided a seat or the order of the priority list.
    paradoxes
        Hamilton only: sizes at which one more seat makes an area lose (the
        Alabama paradox), with the gains and losses.
    excluded
        Areas left out before the method ran, with the reason (threshold).
    tie_rule
        ``id``, ``first-listed`` or ``error``.
    first_divisor
        Modified Sainte-Laguë only: its first divisor (1, 3, 5 scale).
    threshold, threshold_count
        The thresholds asked for (None: none).
    """

    method: str
    total: int
    areas: list[str]
    weights: list[Fraction]
    lo: list[int]
    hi: list[int | None]
    posts: list[int]
    quotas: list[Fraction]
    next: list[str | None]
    ties: list[Tie] = field(default_factory=list)
    paradoxes: list[dict[str, Any]] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    tie_rule: str = "id"
    first_divisor: Fraction | None = None
    threshold: Fraction | None = None
    threshold_count: Fraction | None = None

    def as_dict(self) -> dict[str, int]:
        """Seats keyed by area."""
        return dict(zip(self.areas, self.posts))

    def as_json(self) -> dict[str, Any]:
        """The JSON document written to apportionment.json (see docs/formats.md)."""
        document: dict[str, Any] = {
            "method": self.method,
            "total": self.total,
            "tie_rule": {"id": "equal claims are served in ascending order of area id",
                         "first-listed": "equal claims are served in table order",
                         "error": "a tie that decides a seat of the total stops the run; "
                                  "ties of the priority list are served in ascending order of area id",
                         }[self.tie_rule],
            "ties_option": self.tie_rule,
            "infinite_claims": "areas with no seat under adams, huntington-hill and dean are served largest "
                               "weight first (the limit of w / s(0 + e)); equal weights are a tie",
        }
        if self.first_divisor is not None:
            document["first_divisor"] = _number(self.first_divisor)
        document["threshold"] = None if self.threshold is None else _number(self.threshold)
        document["threshold_count"] = None if self.threshold_count is None else _number(self.threshold_count)
        document.update({
            "areas": [{"area": area, "weight": _number(weight), "min": lo, "max": hi, "posts": posts,
                       "quota": float(quota), "excluded": self.excluded.get(area)}
                      for area, weight, lo, hi, posts, quota
                      in zip(self.areas, self.weights, self.lo, self.hi, self.posts, self.quotas)],
            "excluded": [{"area": area, "reason": reason} for area, reason in self.excluded.items()],
            "next": self.next,
            "ties": [{"seats": tie.seats, "areas": tie.areas, "awarded": tie.awarded,
                      "decides_total": tie.decides_total, "explanation": tie.describe()} for tie in self.ties],
            "paradoxes": self.paradoxes,
        })
        return document


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def _exact(value: Fraction | int | float) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value)) if isinstance(value, float) \
        else Fraction(value)


def excluded_by_threshold(areas: Sequence[str], weights: Sequence[Fraction], threshold: Fraction | None,
                          threshold_count: Fraction | None) -> dict[str, str]:
    """The areas below a threshold, each with its reason, in table order.

    An area is excluded when its weight is below ``threshold`` times the total
    weight of all areas, or below ``threshold_count``; an area exactly at a
    threshold stays in.
    """
    total = sum(weights, Fraction(0))
    out: dict[str, str] = {}
    for area, weight in zip(areas, weights):
        reasons = []
        if threshold is not None and weight < threshold * total:
            reasons.append(f"weight {_plain(weight)} is {_plain(100 * weight / total, 3)}% of the total "
                           f"{_plain(total)}, below the threshold of {_plain(100 * threshold, 6)}%")
        if threshold_count is not None and weight < threshold_count:
            reasons.append(f"weight {_plain(weight)} is below the threshold count {_plain(threshold_count)}")
        if reasons:
            out[area] = "; ".join(reasons)
    return out


def _plain(value: Fraction, digits: int = 12) -> str:
    return str(int(value)) if value.denominator == 1 else f"{float(value):.{digits}g}"


def apportion(areas: Sequence[str], weights: Sequence[Fraction | int | float], total: int, method: str,
              lo: Sequence[int] | None = None, hi: Sequence[int | None] | None = None,
              next_seats: int = NEXT_SEATS, *, ties: str = "id", first_divisor: Fraction | float | None = None,
              threshold: Fraction | float | None = None,
              threshold_count: Fraction | float | None = None) -> Apportionment:
    """Share ``total`` seats among ``areas`` in proportion to ``weights`` by ``method``.

    Parameters
    ----------
    areas
        Distinct area ids.
    weights
        Non-negative weights (population, votes, need), one per area.
    total
        Seats to share out (at most :data:`MAX_TOTAL`).
    method
        A name from :data:`METHOD_NAMES`.
    lo, hi
        Optional min and max seats per area (None in ``hi``: no max).
    next_seats
        Length of the priority list.
    ties
        ``id`` (default), ``first-listed`` or ``error`` (see the module docstring).
    first_divisor
        Modified Sainte-Laguë's first divisor, 1, 3, 5 scale (default 1.4).
    threshold, threshold_count
        Exclude areas below this share of the total weight, or below this weight.

    Raises
    ------
    InputError
        For an unknown method or tie rule, negative weights, all weights zero, a
        total above :data:`MAX_TOTAL`, bounds with ``droop``, or a min on an excluded area.
    InfeasibleError
        When the bounds cannot add up to ``total``, or when ``ties="error"`` and a tie
        decides a seat.
    """
    method = method_named(method)
    if ties not in TIE_RULES:
        raise InputError(f"unknown tie rule '{ties}'", fix="use one of " + ", ".join(TIE_RULES))
    if total > MAX_TOTAL:
        raise InputError(f"the total {total} is above the limit of {MAX_TOTAL:.0e} seats",
                         fix=f"share out at most {MAX_TOTAL:,} seats (or scale the total down)")
    if first_divisor is not None and method != "sainte-lague-modified":
        raise InputError(f"a first divisor belongs to sainte-lague-modified, not to {method}",
                         fix="drop --first-divisor, or use --method sainte-lague-modified")
    fd = first_divisor_of(first_divisor) if method == "sainte-lague-modified" else None
    n = len(areas)
    exact = [_exact(w) for w in weights]
    lows = list(lo) if lo is not None else [0] * n
    highs = list(hi) if hi is not None else [None] * n
    if len(set(areas)) != n or not (len(exact) == len(lows) == len(highs) == n):
        raise ValueError("areas must be distinct and every column as long as the areas")
    if any(w < 0 for w in exact):
        raise InputError("a weight is negative", fix="give every area a population of 0 or more")
    share = None if threshold is None else _exact(threshold)
    count = None if threshold_count is None else _exact(threshold_count)
    if share is not None and not 0 <= share < 1:
        raise InputError(f"the threshold {threshold} is not a share in [0, 1)", fix="write e.g. 0.05 for 5%")
    if count is not None and count < 0:
        raise InputError(f"the threshold count {threshold_count} is negative", fix="write a weight of 0 or more")
    excluded = excluded_by_threshold(areas, exact, share, count) if sum(exact) > 0 else {}
    for area, low in zip(areas, lows):
        if area in excluded and low > 0:
            raise InputError(f"area '{area}' has min {low} but the threshold excludes it ({excluded[area]})",
                             fix="drop its min, or lower the threshold")
    keep = [i for i in range(n) if areas[i] not in excluded]
    weight_sum = sum((exact[i] for i in keep), Fraction(0))
    if weight_sum == 0:
        raise InputError("every weight is 0" + (" after the threshold" if excluded else "") +
                         ", so there is nothing to be proportional to", fix="give the areas their populations")
    for area, low, high in zip(areas, lows, highs):
        if high is not None and low > high:
            raise InputError(f"area '{area}' has min {low} above its max {high}", fix="swap or correct the two")
    if method == "droop" and (any(lows) or any(h is not None for h in highs)):
        raise InputError("the droop method takes no min or max", fix="drop the min and max columns, or use hamilton")
    k_lo = [lows[i] for i in keep]
    k_hi: list[int | None] = [highs[i] for i in keep]
    if total < sum(k_lo) or all(h is not None for h in k_hi) and total > sum(h for h in k_hi if h is not None):
        most = "no limit" if any(h is None for h in k_hi) else sum(h for h in k_hi if h is not None)
        raise InfeasibleError(f"the mins add up to {sum(k_lo)} and the maxes to {most}, so {total} seats "
                              "cannot be shared out within them",
                              conflicts=[f"total {total}", "min and max bounds"])
    names = [areas[i] for i in keep]
    weights_kept = [exact[i] for i in keep]
    if ties == "first-listed":
        order = list(range(len(keep)))
    else:
        rank = sorted(range(len(keep)), key=lambda j: names[j])
        order = [0] * len(keep)
        for position, j in enumerate(rank):
            order[j] = position
    rule = "first-listed" if ties == "first-listed" else "id"
    if method in ("hamilton", "droop"):
        posts_k, found, nxt, paradoxes = _remainders_with_next(method, names, weights_kept, total, k_lo, k_hi,
                                                               order, next_seats, rule)
    else:
        posts_k, found, nxt = _divisor(method, names, weights_kept, total, k_lo, k_hi, order, next_seats,
                                       fd or FIRST_DIVISOR, rule)
        paradoxes = []
    if ties == "error":
        deciding = [tie for tie in found if tie.decides_total]
        if deciding:
            raise InfeasibleError(f"a tie decides the total and --ties error was given: {deciding[0].describe()}",
                                  conflicts=[f"tie {', '.join(deciding[0].areas)}"])
    posts = [0] * n
    quotas = [Fraction(0)] * n
    for j, i in enumerate(keep):
        posts[i] = posts_k[j]
        quotas[i] = total * exact[i] / weight_sum
    return Apportionment(method, total, list(areas), exact, lows, highs, posts, quotas, nxt, found, paradoxes,
                         excluded, ties, fd, share, count)


def _divisor(method: str, areas: list[str], weights: list[Fraction], total: int, lo: list[int],
             hi: list[int | None], order: list[int], next_seats: int, first_divisor: Fraction,
             rule: str) -> tuple[list[int], list[Tie], list[str | None]]:
    """The sequential (highest claims) form of the bounded divisor method, plus the next seats.

    For a large total it first jumps: every area gets the seats whose claims lie
    above a level found by bisection (see :func:`_jump`); the heap hands out the rest.
    """
    import heapq

    seats = list(lo)
    free = total - sum(lo)
    if free > _STEPWISE + 4 * len(areas):
        seats = _jump(method, weights, free + sum(lo), lo, hi, first_divisor)
    start_seats = list(seats)
    free = total - sum(seats)

    def entry(i: int) -> tuple[int, Fraction, int, int]:
        infinite, value = claim(method, weights[i], seats[i], first_divisor)
        return (-infinite, -value, order[i], i)

    heap = [entry(i) for i in range(len(areas)) if hi[i] is None or seats[i] < hi[i]]
    heapq.heapify(heap)
    sequence: list[tuple[int, tuple[int, Fraction]]] = []  # (area, claim) of each seat handed out, in order
    while heap and len(sequence) < free + next_seats:
        infinite, value, _, i = heapq.heappop(heap)
        sequence.append((i, (-infinite, -value)))
        seats[i] += 1
        if hi[i] is None or seats[i] < hi[i]:
            heapq.heappush(heap, entry(i))
    if len(sequence) < free:
        raise AssertionError("bounds were checked to admit the total")
    posts = list(start_seats)
    for i, _ in sequence[:free]:
        posts[i] += 1
    nxt: list[str | None] = [areas[i] for i, _ in sequence[free:]]
    # Consecutive seats with one claim are exactly the tied ones (the heap serves equal claims by the tie rule).
    found: list[Tie] = []
    start = 0
    base = sum(start_seats)
    for k in range(1, len(sequence) + 1):
        if k < len(sequence) and sequence[k][1] == sequence[start][1]:
            continue
        group = sequence[start:k]
        if len(group) > 1 and start < free + next_seats:
            crosses = start < free < k
            if crosses or start >= free:
                found.append(Tie([base + s + 1 for s in range(start, k)], [areas[i] for i, _ in group],
                                 [areas[i] for i, _ in sequence[start:free]] if crosses else [], crosses, rule))
        start = k
    return posts, found, nxt


def _jump(method: str, weights: list[Fraction], total: int, lo: list[int], hi: list[int | None],
          first_divisor: Fraction) -> list[int]:
    """Seats per area at a claim level just above the last seat of ``total``: no more than ``total`` in all.

    The number of seats with claims above a level L, each clipped to its bounds,
    falls as L grows. Bisection on L with a float estimate of that count
    (off by at most a seat per area, and only at a signpost) brings L close; the exact
    count (:func:`_seats_above`) is then taken there, and L is raised until the
    exact count is at most the total. Every seat above that level comes before
    seat ``total`` in the sequential order, and only a few (at most about two
    per area) are left for the heap. A tie that decides the total lies at or
    below the level, so the heap still sees it.
    """
    floors = [max(low, 1 if w > 0 and signpost(method, 0, first_divisor) == 0 else 0) for w, low in zip(weights, lo)]
    if sum(f if h is None else min(f, h) for f, h in zip(floors, hi)) > total:
        return list(lo)  # more infinite claims (s(0) = 0) than seats: nothing to jump over
    w = np.array([float(x) for x in weights])
    low_bound = np.array(lo, dtype=float)
    high_bound = np.array([np.inf if h is None else h for h in hi], dtype=float)

    # #{k : s(k) < x} in floats: exact but for rounding at the signposts (Huntington-Hill and Dean
    # lie within 1/(8k) of Webster's k + 1/2).
    offset = {"jefferson": 1.0, "adams": 0.0}.get(method, 0.5)

    def estimate(level: float) -> float:
        x = w / (math.sqrt(level) if method == "huntington-hill" else level)
        count = np.maximum(np.ceil(x - offset), 0.0)
        if method == "sainte-lague-modified":
            count = np.where(x > float(first_divisor) / 2, np.maximum(count, 1.0), 0.0)
        return float(np.minimum(np.maximum(count, low_bound), high_bound).sum())

    def seats_at(level: float) -> list[int]:
        exact_level = Fraction(level)
        out = []
        for weight, low, high in zip(weights, lo, hi):
            k = max(low, _seats_above(method, weight, exact_level, first_divisor))
            out.append(k if high is None else min(k, high))
        return out

    guess = float(sum(weights)) / max(total, 1)
    if method == "huntington-hill":
        guess *= guess
    low_level, high_level = guess, guess
    while estimate(high_level) > total:
        high_level *= 4
    while estimate(low_level) <= total and low_level > 1e-300:
        low_level /= 4
    for _ in range(200):
        if high_level - low_level <= 1e-12 * high_level:
            break
        middle = (low_level + high_level) / 2
        if estimate(middle) > total:
            low_level = middle
        else:
            high_level = middle
    seats = seats_at(high_level)
    bump = 1e-12
    while sum(seats) > total:  # the estimate was off by a seat in some areas: raise the level a little
        high_level *= 1 + bump
        bump *= 2
        seats = seats_at(high_level)
    return seats


def restricted_quotas(weights: list[Fraction], total: int, lo: list[int], hi: list[int | None]) -> list[Fraction]:
    """q_i = clip(lambda w_i, lo_i, hi_i), with lambda such that the q_i add up to ``total`` (exact)."""
    n = len(weights)

    def share(lam: Fraction) -> list[Fraction]:
        out = []
        for w, low, high in zip(weights, lo, hi):
            value = max(Fraction(low), lam * w)
            out.append(min(value, Fraction(high)) if high is not None else value)
        return out

    # sum(share(lam)) is continuous, piecewise linear and non-decreasing in lam; its kinks are
    # lo/w and hi/w. Find the piece where it reaches the total and solve that linear piece exactly.
    kinks = sorted({Fraction(b) / w for w, low, high in zip(weights, lo, hi) if w > 0
                    for b in (low, high) if b is not None} | {Fraction(0)})
    previous = Fraction(0)
    for kink in kinks + [None]:
        if kink is None or sum(share(kink)) >= total:
            # On [previous, kink] the free areas (strictly inside their bounds) grow linearly.
            probe = previous + 1 if kink is None else (previous + kink) / 2
            free = [i for i in range(n) if weights[i] > 0 and lo[i] < probe * weights[i]
                    and (hi[i] is None or probe * weights[i] < hi[i])]
            fixed = sum(v for i, v in enumerate(share(probe)) if i not in set(free))
            slope = sum(weights[i] for i in free)
            lam = (total - fixed) / slope if slope else previous
            return share(lam)
        previous = kink
    raise AssertionError("unreachable")


def droop_quota(weights: Sequence[Fraction], total: int) -> Fraction:
    """The Droop quota floor(W / (total + 1)) + 1 (whole-vote form, W the sum of the weights)."""
    weight_sum = sum(weights, Fraction(0))
    return Fraction(math.floor(weight_sum / (total + 1)) + 1)


def _remainders(method: str, areas: list[str], weights: list[Fraction], total: int, lo: list[int],
                hi: list[int | None], order: list[int], rule: str) -> tuple[list[int], Tie | None]:
    """Largest remainders: Hamilton's (Hare) restricted quotas, or whole Droop quotas."""
    if method == "droop":
        quota = droop_quota(weights, total)
        quotas = [w / quota for w in weights]
    else:
        quotas = restricted_quotas(weights, total, lo, hi)
    posts = [math.floor(q) for q in quotas]
    left = total - sum(posts)
    remainders = [q - p for q, p in zip(quotas, posts)]
    ranked = sorted(range(len(areas)), key=lambda i: (-remainders[i], order[i]))
    rounds, left = divmod(left, len(ranked))
    # Droop with very few votes per seat can leave more seats than areas: each area takes one per round.
    if rounds:
        posts = [p + rounds for p in posts]
    for i in ranked[:left]:
        posts[i] += 1
    tie = None
    if 0 < left < len(ranked) and remainders[ranked[left - 1]] == remainders[ranked[left]]:
        value = remainders[ranked[left]]
        positions = [k for k, i in enumerate(ranked) if remainders[i] == value]
        awarded = [ranked[k] for k in positions if k < left]
        tie = Tie([total - left + k + 1 for k in positions if k < left], [areas[ranked[k]] for k in positions],
                  [areas[i] for i in awarded], True, rule)
    return posts, tie


def _remainders_with_next(method: str, areas: list[str], weights: list[Fraction], total: int, lo: list[int],
                          hi: list[int | None], order: list[int], next_seats: int, rule: str
                          ) -> tuple[list[int], list[Tie], list[str | None], list[dict[str, Any]]]:
    posts, tie = _remainders(method, areas, weights, total, lo, hi, order, rule)
    found = [tie] if tie else []
    nxt: list[str | None] = []
    paradoxes: list[dict[str, Any]] = []
    most = None if any(h is None for h in hi) else sum(h for h in hi if h is not None)
    before = posts
    for size in range(total + 1, total + next_seats + 1):
        if most is not None and size > most:
            break
        after, later_tie = _remainders(method, areas, weights, size, lo, hi, order, rule)
        if later_tie is not None:
            found.append(Tie([size], later_tie.areas, [], False, rule))
        gained = {areas[i]: after[i] - before[i] for i in range(len(areas)) if after[i] > before[i]}
        lost = {areas[i]: before[i] - after[i] for i in range(len(areas)) if after[i] < before[i]}
        if not lost and len(gained) == 1:
            nxt.append(next(iter(gained)))
        else:
            nxt.append(None)
            paradoxes.append({"total": size, "gained": gained, "lost": lost})
        before = after
    return posts, found, nxt, paradoxes
