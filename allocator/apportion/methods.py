"""The classical apportionment methods, computed exactly, as baselines for the models.

A divisor method gives seat n+1 (counting from 0) to the area with the largest
claim w / s(n), where s is the method's signpost sequence:

========================  ==========================  ==================
method                    s(n)                        also called
========================  ==========================  ==================
``jefferson``             n + 1                       D'Hondt
``webster``               n + 1/2                     Sainte-Laguë
``huntington-hill``       sqrt(n (n + 1))             equal proportions
``adams``                 n                           smallest divisors
``dean``                  n (n + 1) / (n + 1/2)       harmonic mean
========================  ==========================  ==================

With min and max bounds an area starts at its min and stops at its max: this
sequential rule gives the bounded divisor method (every area gets
min(max(lo, round(w / D)), hi) for one divisor D), as in BAZI. Hamilton
(largest remainder) shares out restricted quotas: q_i = clip(lambda w_i, lo_i,
hi_i) with lambda such that the q_i add up to the total; each area gets the
integer part of its quota, and the seats left over go to the largest
remainders.

All claims are compared as exact fractions (the Huntington-Hill claim squared),
so a tie is a real tie. Ties are broken by area id, ascending, and every tie
that decides a seat is reported, never broken silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

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
}
DIVISOR_METHODS = ("jefferson", "webster", "huntington-hill", "adams", "dean")
METHODS = ("hamilton", *DIVISOR_METHODS)
#: How many further seats the priority list names.
NEXT_SEATS = 10

_INFINITE = (1, Fraction(0))


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


def signposts(method: str, upto: int) -> list[float]:
    """s(0), …, s(upto - 1) of a divisor method, as floats (for the convex cost of the model objective)."""
    if method == "jefferson":
        return [n + 1.0 for n in range(upto)]
    if method == "webster":
        return [n + 0.5 for n in range(upto)]
    if method == "adams":
        return [float(n) for n in range(upto)]
    if method == "huntington-hill":
        return [math.sqrt(n * (n + 1)) for n in range(upto)]
    if method == "dean":
        return [n * (n + 1) / (n + 0.5) for n in range(upto)]
    raise ValueError(f"{method} is not a divisor method")


def claim(method: str, weight: Fraction, seats: int) -> tuple[int, Fraction]:
    """The exact claim of an area of ``weight`` holding ``seats`` on its next seat, as a sortable pair.

    (1, 0) is an infinite claim (s(0) = 0: Adams, Huntington-Hill, Dean); the
    Huntington-Hill claim is squared, which keeps the order.
    """
    if weight == 0:
        return (0, Fraction(0))
    if method == "jefferson":
        return (0, weight / (seats + 1))
    if method == "webster":
        return (0, 2 * weight / (2 * seats + 1))
    if seats == 0:
        return _INFINITE
    if method == "adams":
        return (0, weight / seats)
    if method == "huntington-hill":
        return (0, weight * weight / (seats * (seats + 1)))
    if method == "dean":
        return (0, weight * (2 * seats + 1) / (2 * seats * (seats + 1)))
    raise ValueError(f"{method} is not a divisor method")


@dataclass(frozen=True)
class Tie:
    """Areas with exactly equal claims on seats that the tie rule (area id, ascending) shared out.

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
    """

    seats: list[int]
    areas: list[str]
    awarded: list[str]
    decides_total: bool

    def describe(self) -> str:
        """One sentence for people."""
        seats = f"seat {self.seats[0]}" if len(self.seats) == 1 else f"seats {self.seats[0]}-{self.seats[-1]}"
        if self.decides_total:
            return (f"{', '.join(self.areas)} have exactly equal claims on {seats}; the total ends among them, "
                    f"and the tie rule (area id, ascending) gave the seat(s) within it to {', '.join(self.awarded)}")
        return (f"{', '.join(self.areas)} have exactly equal claims on {seats} of the priority list; "
                "the tie rule (area id, ascending) orders them there")


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
        total * w / W: each area's exact share before rounding and bounds.
    next
        The areas that would receive seats total+1, total+2, … (None where
        Hamilton's result at that size is not the previous one plus a seat).
    ties
        Every tie that decided a seat or the order of the priority list.
    paradoxes
        Hamilton only: sizes at which one more seat makes an area lose (the
        Alabama paradox), with the gains and losses.
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

    def as_dict(self) -> dict[str, int]:
        """Seats keyed by area."""
        return dict(zip(self.areas, self.posts))

    def as_json(self) -> dict[str, Any]:
        """The JSON document written to apportionment.json (see docs/formats.md)."""
        return {
            "method": self.method,
            "total": self.total,
            "tie_rule": "equal claims are served in ascending order of area id",
            "areas": [{"area": area, "weight": _number(weight), "min": lo, "max": hi, "posts": posts,
                       "quota": float(quota)}
                      for area, weight, lo, hi, posts, quota
                      in zip(self.areas, self.weights, self.lo, self.hi, self.posts, self.quotas)],
            "next": self.next,
            "ties": [{"seats": tie.seats, "areas": tie.areas, "awarded": tie.awarded,
                      "decides_total": tie.decides_total, "explanation": tie.describe()} for tie in self.ties],
            "paradoxes": self.paradoxes,
        }


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def apportion(areas: Sequence[str], weights: Sequence[Fraction | int | float], total: int, method: str,
              lo: Sequence[int] | None = None, hi: Sequence[int | None] | None = None,
              next_seats: int = NEXT_SEATS) -> Apportionment:
    """Share ``total`` seats among ``areas`` in proportion to ``weights`` by ``method``.

    Parameters
    ----------
    areas
        Distinct area ids.
    weights
        Non-negative weights (population, votes, need), one per area.
    total
        Seats to share out.
    method
        A name from :data:`METHOD_NAMES`.
    lo, hi
        Optional min and max seats per area (None in ``hi``: no max).
    next_seats
        Length of the priority list.

    Raises
    ------
    InputError
        For an unknown method, negative weights, or all weights zero.
    InfeasibleError
        When the bounds cannot add up to ``total``.
    """
    method = method_named(method)
    n = len(areas)
    exact = [w if isinstance(w, Fraction) else Fraction(str(w)) if isinstance(w, float) else Fraction(w)
             for w in weights]
    lows = list(lo) if lo is not None else [0] * n
    highs = list(hi) if hi is not None else [None] * n
    if len(set(areas)) != n or not (len(exact) == len(lows) == len(highs) == n):
        raise ValueError("areas must be distinct and every column as long as the areas")
    if any(w < 0 for w in exact):
        raise InputError("a weight is negative", fix="give every area a population of 0 or more")
    weight_sum = sum(exact)
    if weight_sum == 0:
        raise InputError("every weight is 0, so there is nothing to be proportional to",
                         fix="give the areas their populations")
    for area, low, high in zip(areas, lows, highs):
        if high is not None and low > high:
            raise InputError(f"area '{area}' has min {low} above its max {high}", fix="swap or correct the two")
    if total < sum(lows) or all(h is not None for h in highs) and total > sum(h for h in highs if h is not None):
        most = "no limit" if any(h is None for h in highs) else sum(h for h in highs if h is not None)
        raise InfeasibleError(f"the mins add up to {sum(lows)} and the maxes to {most}, so {total} seats "
                              "cannot be shared out within them",
                              conflicts=[f"total {total}", "min and max bounds"])
    quotas = [total * w / weight_sum for w in exact]
    rank = sorted(range(n), key=lambda i: areas[i])
    order = [0] * n
    for position, i in enumerate(rank):
        order[i] = position
    if method == "hamilton":
        posts, ties, nxt, paradoxes = _hamilton_with_next(list(areas), exact, total, lows, highs, order, next_seats)
        return Apportionment(method, total, list(areas), exact, lows, highs, posts, quotas, nxt, ties, paradoxes)
    posts, ties, nxt = _divisor(method, list(areas), exact, total, lows, highs, order, next_seats)
    return Apportionment(method, total, list(areas), exact, lows, highs, posts, quotas, nxt, ties)


def _divisor(method: str, areas: list[str], weights: list[Fraction], total: int, lo: list[int],
             hi: list[int | None], order: list[int], next_seats: int) -> tuple[list[int], list[Tie], list[str | None]]:
    """The sequential (highest claims) form of the bounded divisor method, plus the next seats."""
    import heapq

    seats = list(lo)
    free = total - sum(lo)

    def entry(i: int) -> tuple[int, Fraction, int, int]:
        infinite, value = claim(method, weights[i], seats[i])
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
    posts = list(lo)
    for i, _ in sequence[:free]:
        posts[i] += 1
    nxt: list[str | None] = [areas[i] for i, _ in sequence[free:]]
    # Consecutive seats with one claim are exactly the tied ones (the heap serves equal claims by area id).
    ties: list[Tie] = []
    start = 0
    base = sum(lo)
    for k in range(1, len(sequence) + 1):
        if k < len(sequence) and sequence[k][1] == sequence[start][1]:
            continue
        group = sequence[start:k]
        if len(group) > 1 and start < free + next_seats:
            crosses = start < free < k
            if crosses or start >= free:
                ties.append(Tie([base + s + 1 for s in range(start, k)], [areas[i] for i, _ in group],
                                [areas[i] for i, _ in sequence[start:free]] if crosses else [], crosses))
        start = k
    return posts, ties, nxt


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


def _hamilton(areas: list[str], weights: list[Fraction], total: int, lo: list[int], hi: list[int | None],
              order: list[int]) -> tuple[list[int], Tie | None]:
    quotas = restricted_quotas(weights, total, lo, hi)
    posts = [math.floor(q) for q in quotas]
    left = total - sum(posts)
    remainders = [q - p for q, p in zip(quotas, posts)]
    ranked = sorted(range(len(areas)), key=lambda i: (-remainders[i], order[i]))
    for i in ranked[:left]:
        posts[i] += 1
    tie = None
    if 0 < left < len(ranked) and remainders[ranked[left - 1]] == remainders[ranked[left]]:
        value = remainders[ranked[left]]
        positions = [k for k, i in enumerate(ranked) if remainders[i] == value]
        awarded = [ranked[k] for k in positions if k < left]
        tie = Tie([total - left + k + 1 for k in positions if k < left], [areas[ranked[k]] for k in positions],
                  [areas[i] for i in awarded], True)
    return posts, tie


def _hamilton_with_next(areas: list[str], weights: list[Fraction], total: int, lo: list[int],
                        hi: list[int | None], order: list[int], next_seats: int
                        ) -> tuple[list[int], list[Tie], list[str | None], list[dict[str, Any]]]:
    posts, tie = _hamilton(areas, weights, total, lo, hi, order)
    ties = [tie] if tie else []
    nxt: list[str | None] = []
    paradoxes: list[dict[str, Any]] = []
    most = None if any(h is None for h in hi) else sum(h for h in hi if h is not None)
    before = posts
    for size in range(total + 1, total + next_seats + 1):
        if most is not None and size > most:
            break
        after, later_tie = _hamilton(areas, weights, size, lo, hi, order)
        if later_tie is not None:
            ties.append(Tie([size], later_tie.areas, [], False))
        gained = {areas[i]: after[i] - before[i] for i in range(len(areas)) if after[i] > before[i]}
        lost = {areas[i]: before[i] - after[i] for i in range(len(areas)) if after[i] < before[i]}
        if not lost and len(gained) == 1:
            nxt.append(next(iter(gained)))
        else:
            nxt.append(None)
            paradoxes.append({"total": size, "gained": gained, "lost": lost})
        before = after
    return posts, ties, nxt, paradoxes
