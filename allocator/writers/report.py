"""report.html and report.pdf: the report people read, in Danish or English.

The HTML is one self-contained file: styles, SVG charts and map inline, no
script, no font or image fetched from anywhere, so it opens the same offline.
The PDF is made from the same HTML by WeasyPrint (no browser), with the
DejaVu Sans font that matplotlib ships, so it needs no system font either.
Every sentence comes from the message catalogue (:mod:`allocator.writers.language`)
through Jinja2's i18n extension; every figure has a text for screen readers
and the table behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

from allocator.io.geometry import Polygon
from allocator.reports.document import (AreaFigures, ComparisonPart, CoverageFigures, Document,
                                        HorizonComparisonPart, HorizonPart, HorizonSensitivityPart, PlanPart,
                                        SensitivityPart, SweepAxisFigures, SweepPart)
from allocator.writers import charts
from allocator.writers.language import MemoNumbers, Numbers, _decimal, breach_text, status_text, translations
from allocator.writers.output import Target, write_files

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: At most this many areas in a sweep's chart (those whose posts move most): more lines cannot be told apart.
SWEEP_AREAS = 8
#: The fonts the PDF embeds: matplotlib's own copy of DejaVu Sans, so no system font is needed.
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@dataclass
class Figure:
    """One chart or map: its SVG, a caption, a text for screen readers and the id of its table."""

    svg: str
    caption: str
    description: str
    table: str


def _sorted(areas: Sequence[Any]) -> list[Any]:
    # Tables and charts go by training region, then by name; ties cannot occur (ids are unique).
    return sorted(areas, key=lambda a: (a.group, a.name, a.id))


class _Writer:
    """Builds the template's context in one language."""

    def __init__(self, document: Document, language: str, shapes: dict[str, list[Polygon]] | None) -> None:
        self.document = document
        self.language = language
        self.shapes = shapes
        catalogue = translations(language)
        self._ = catalogue.gettext
        self.ngettext = catalogue.ngettext
        self.n = Numbers(language)

    def svg_with_description(self, svg: str, description: str) -> str:
        from html import escape

        return svg.replace("<svg", f'<svg role="img" aria-label="{escape(description)}"', 1)

    # --- a plan -----------------------------------------------------------------------------------
    def headline(self, part: PlanPart) -> list[str]:
        _, n = self._, self.n
        specialties = ", ".join(name for name, _posts in part.specialties)
        lines = [self.ngettext(
            "%(posts)s posts of %(specialties)s go to %(areas)s area under the policy %(model)s.",
            "%(posts)s posts of %(specialties)s go to %(areas)s areas under the policy %(model)s.",
            len(part.leaves)) % {"posts": n.posts(part.total), "specialties": specialties,
                                 "areas": n.whole(len(part.leaves)), "model": part.model}]
        if part.underserved_areas:
            lines.append(_("The %(count)s under-served areas, home to %(population)s of the population, "
                           "get %(posts)s posts (%(share)s).") % {
                "count": n.whole(part.underserved_areas), "population": n.percent(part.underserved_population_share),
                "posts": n.posts(part.underserved_posts), "share": n.percent(part.underserved_share)})
        gains, losses = part.gains(1), part.losses(1)
        if gains:
            lines.append(_("Against last year, %(area)s gains most (%(change)s).") % {
                "area": gains[0].name, "change": n.signed(gains[0].change)})
        if losses:
            lines.append(_("%(area)s loses most (%(change)s).") % {
                "area": losses[0].name, "change": n.signed(losses[0].change)})
        elif part.has_previous:
            lines.append(_("No area has fewer posts than last year."))
        return lines

    def plan_figures(self, part: PlanPart, key: str) -> list[Figure]:
        _, n = self._, self.n
        figures = []
        table = f"table-{key}"
        if self.shapes is not None:
            leaves = _sorted(part.leaves)
            shapes = [self.shapes[a.id] for a in leaves]
            per_100k = [a.per_100k for a in leaves]
            known = [(v, a.name) for v, a in zip(per_100k, leaves) if v is not None]
            low, high = min(known), max(known)
            description = _("Map of %(count)s areas coloured by posts per 100,000 inhabitants, from %(low)s "
                            "(%(low_area)s) to %(high)s (%(high_area)s); under-served areas are outlined.") % {
                "count": n.whole(len(leaves)), "low": n.decimal(low[0]), "low_area": low[1],
                "high": n.decimal(high[0]), "high_area": high[1]}
            svg = charts.choropleth(
                shapes, per_100k,
                [f"{a.name}: {n.decimal(a.per_100k)} " + _("per 100,000") for a in leaves],
                [a.underserved for a in leaves], n.decimal, _("Posts per 100,000 inhabitants"),
                _("Under-served area"))
            figures.append(Figure(self.svg_with_description(svg, description),
                                  _("Posts per 100,000 inhabitants"), description, table))
            if part.has_previous:
                change = [a.change for a in leaves]
                description = _("Map of %(count)s areas coloured by the change in posts against last year; "
                                "under-served areas are outlined.") % {"count": n.whole(len(leaves))}
                svg = charts.choropleth(shapes, change, [f"{a.name}: {n.signed(a.change)}" for a in leaves],
                                        [a.underserved for a in leaves], n.signed, _("Change against last year"),
                                        _("Under-served area"), diverging=True)
                figures.append(Figure(self.svg_with_description(svg, description),
                                      _("Change in posts against last year"), description, table))
        areas = _sorted(part.areas)
        labels = [a.name for a in areas]
        short = sum(1 for a in areas if a.posts < a.target - 0.5 * part.unit)
        description = _("Bar chart of posts and target for %(count)s areas; %(short)s areas get more than half "
                        "a post less than their target.") % {"count": n.whole(len(areas)), "short": n.whole(short)}
        svg = charts.bars(labels, [a.posts for a in areas], [a.target for a in areas],
                          [a.underserved for a in areas], n.posts, _("Posts"), _("Target"), _("Posts"))
        figures.append(Figure(self.svg_with_description(svg, description), _("Posts against target per area"),
                              description, table))
        if part.has_previous:
            description = _("Bar chart of the change against last year for %(count)s areas: %(gains)s gain, "
                            "%(losses)s lose.") % {
                "count": n.whole(len(areas)),
                "gains": n.whole(sum(1 for a in areas if (a.change or 0) > 0)),
                "losses": n.whole(sum(1 for a in areas if (a.change or 0) < 0))}
            svg = charts.changes(labels, [a.change or 0.0 for a in areas], [a.underserved for a in areas], n.signed,
                                 _("Change against last year"))
            figures.append(Figure(self.svg_with_description(svg, description), _("Change against last year"),
                                  description, table))
        return figures

    # --- sensitivity ------------------------------------------------------------------------------
    def sensitivity_figure(self, part: SensitivityPart, key: str) -> Figure | None:
        _, n = self._, self.n
        if not part.intervals:
            return None
        cells = part.intervals
        labels = [c.area if len({c.specialty for c in cells}) == 1 else f"{c.area} · {c.specialty}" for c in cells]
        widest = max(cells, key=lambda c: (c.high - c.low, c.area))
        description = _("Interval chart of the Monte Carlo range of posts for %(count)s areas; the widest range is "
                        "%(area)s, from %(low)s to %(high)s.") % {
            "count": n.whole(len(cells)), "area": widest.area, "low": n.posts(widest.low),
            "high": n.posts(widest.high)}
        svg = charts.intervals(labels, [c.low for c in cells], [c.high for c in cells], [c.posts for c in cells],
                               n.posts, _("Range over the draws"), _("Posts in the plan"), _("Posts"))
        return Figure(self.svg_with_description(svg, description), _("Monte Carlo range of posts per area"),
                      description, f"table-{key}")

    # --- comparison -------------------------------------------------------------------------------
    def comparison_maps(self, part: ComparisonPart, key: str) -> Figure | None:
        _, n = self._, self.n
        if self.shapes is None:
            return None
        leaves = _sorted(part.leaves)
        series = {p.name: [p.leaf_posts.get(a.id, 0.0) / a.population * 100_000 if a.population > 0 else None
                           for a in leaves] for p in part.policies}
        titles = {name: [f"{name}: {a.name}: {n.decimal(v)} " + _("per 100,000") for a, v in zip(leaves, values)]
                  for name, values in series.items()}
        description = _("Maps of posts per 100,000 inhabitants in %(count)s areas under each of %(policies)s "
                        "policies, on one colour scale; under-served areas are outlined.") % {
            "count": n.whole(len(leaves)), "policies": n.whole(len(part.policies))}
        svg = charts.choropleth_grid([self.shapes[a.id] for a in leaves], series, titles,
                                     [a.underserved for a in leaves], n.decimal, _("Posts per 100,000 inhabitants"))
        return Figure(self.svg_with_description(svg, description), _("Each policy's plan on the map"), description,
                      f"table-{key}")

    def comparison_figure(self, part: ComparisonPart, key: str) -> Figure:
        _, n = self._, self.n
        areas = _sorted(part.areas)
        series = {p.name: [p.posts.get(a.id, 0.0) for a in areas] for p in part.policies}
        differ = sum(1 for a in areas if len({p.posts.get(a.id, 0.0) for p in part.policies}) > 1)
        description = _("Dot chart of the posts of %(policies)s policies in %(count)s areas; the policies differ "
                        "in %(differ)s areas.") % {"policies": n.whole(len(part.policies)),
                                                   "count": n.whole(len(areas)), "differ": n.whole(differ)}
        svg = charts.policies([a.name for a in areas], series, [a.underserved for a in areas], n.posts, _("Posts"))
        return Figure(self.svg_with_description(svg, description), _("Posts per area under each policy"),
                      description, f"table-{key}")

    # --- a multi-year plan --------------------------------------------------------------------------
    def horizon_headline(self, part: HorizonPart) -> list[str]:
        _, n = self._, self.n
        years = part.years
        last = years[-1]
        lines = [_("Under the policy %(model)s, %(posts)s posts of %(specialties)s are placed over the plan years "
                   "%(first)s–%(last_plan)s.") % {
            "model": part.model, "posts": n.posts(sum(part.posts_per_year)),
            "specialties": ", ".join(name for name, _posts in part.specialties), "first": years[0],
            "last_plan": years[part.plan_years - 1]}]
        start, end = part.total.coverage[0], part.total.coverage[-1]
        if start is not None and end is not None:
            lines.append(_("Coverage of all areas together goes from %(start)s in %(first)s to %(end)s in %(last)s "
                           "(target %(target)s).") % {"start": n.percent(start), "first": years[0],
                                                      "end": n.percent(end), "last": last,
                                                      "target": n.percent(1.0, 0)})
        areas = part.areas
        reached = [a for a in areas if a.reached is not None]
        if areas and len(reached) == len(areas):
            # The latest to reach it; ties by name, as the tables go.
            latest = min(reached, key=lambda a: (-(a.reached or 0), a.name))
            lines.append(_("Every area reaches its target by %(last)s; the last is %(area)s, in %(year)s.") % {
                "last": last, "area": latest.name, "year": years[latest.reached or 0]})
        elif areas:
            known = [a for a in areas if a.coverage[-1] is not None]
            lowest = min(known, key=lambda a: (a.coverage[-1], a.name)) if known else None
            lines.append(_("%(reached)s of %(count)s areas reach their target by %(last)s.") % {
                "reached": n.whole(len(reached)), "count": n.whole(len(areas)), "last": last})
            if lowest is not None:
                lines.append(_("%(area)s is furthest from it in %(last)s, at %(coverage)s.") % {
                    "area": lowest.name, "last": last, "coverage": n.percent(lowest.coverage[-1])})
        if part.inhabitant_years_without is not None and part.myopic_inhabitant_years_without is not None:
            lines.append(_("The plan leaves %(mine)s inhabitant-years without a specialist, against %(theirs)s "
                           "if each year were planned alone.") % {
                "mine": n.whole(part.inhabitant_years_without),
                "theirs": n.whole(part.myopic_inhabitant_years_without)})
        elif part.inhabitant_years_without is not None:
            lines.append(_("The plan leaves %(mine)s inhabitant-years without a specialist.") % {
                "mine": n.whole(part.inhabitant_years_without)})
        return lines

    def horizon_status(self, part: HorizonPart) -> list[str]:
        """How the plan was made, as the plan is: proven optimal, accepted within a certified gap (with
        the objective, the best bound and the gap), or given with no solver run (with the rules it breaks)."""
        _ = self._
        words = MemoNumbers(self.language)
        status = status_text(part.status, self.language)
        if part.status == "optimal":
            return [_("Solver status: %(status)s. The solver proved this plan optimal, and allocator verified "
                      "every yearly rule and the projection.") % {"status": status}]
        if part.status.startswith("gap") and part.bound is not None and part.gap is not None \
                and part.objective is not None:
            return [_("Solver status: %(status)s. The solver stopped before it proved this plan optimal; the plan "
                      "was accepted within a certified gap. Its objective is %(objective)s and the best bound "
                      "%(bound)s (no plan can have an objective below the bound), so the certified gap is %(gap)s. "
                      "allocator verified every yearly rule and the projection.") % {
                "status": status, "objective": words.figure(part.objective), "bound": words.figure(part.bound),
                "gap": words.formatted(part.gap, ".3g")}]
        if part.status in ("given", "status quo"):
            made = (_("No solver ran: this plan was given (made outside allocator) and is projected as it is.")
                    if part.status == "given" else
                    _("No solver ran: this plan is the status quo, last year's posts repeated in every plan year, "
                      "projected as it is."))
            broken = len(part.breaches) + len(part.unworded_breaches)
            kept = (_("allocator checked it against the yearly rules: it breaks %(count)s, listed below.")
                    % {"count": self.n.whole(broken)} if broken else
                    _("allocator checked it against the yearly rules: it keeps every one."))
            return [made, kept]
        return [_("Solver status: %(status)s.") % {"status": status}]

    def horizon_breaches(self, part: HorizonPart) -> list[str]:
        """The yearly rules a given plan breaks, one sentence each, in the report's language."""
        return [breach_text(asdict(b), self.language, b.area, b.specialty) for b in part.breaches] \
            + part.unworded_breaches

    def horizon_figure(self, part: HorizonPart, key: str) -> Figure:
        _, n = self._, self.n
        areas = _sorted(part.areas)
        years = part.years

        def below(k: int) -> int:
            return sum(1 for a in areas if a.coverage[k] is not None and a.coverage[k] < 1 - 1e-12)

        description = _("Chart of the coverage of %(count)s areas in each year from %(first)s to %(last)s against "
                        "the target of %(target)s: %(below_first)s areas are below it in %(first)s, "
                        "%(below_last)s in %(last)s.") % {
            "count": n.whole(len(areas)), "first": years[0], "last": years[-1], "target": n.percent(1.0, 0),
            "below_first": n.whole(below(0)), "below_last": n.whole(below(len(years) - 1))}
        titles = [[f"{a.name}, {year}: {n.percent(value)}" for year, value in zip(years, a.coverage)]
                  for a in areas]
        svg = charts.coverage([a.name for a in areas], years, [a.coverage for a in areas],
                              [a.underserved for a in areas], part.plan_years, lambda v: n.percent(v, 0), titles,
                              _("Coverage (supply / demand); the target is the white middle"),
                              _("Plan years"), _("Outlook"))
        return Figure(self.svg_with_description(svg, description), _("Coverage per area and year against the target"),
                      description, f"table-{key}")

    def horizon_maps(self, part: HorizonPart, key: str) -> Figure | None:
        """Coverage on the map in the first year, the last plan year and the last outlook year (one scale)."""
        _, n = self._, self.n
        if self.shapes is None or not part.leaf_areas:
            return None
        leaves = _sorted(part.leaf_areas)
        shown = sorted({0, part.plan_years - 1, len(part.years) - 1})
        series = {str(part.years[k]): [a.coverage[k] for a in leaves] for k in shown}
        titles = {year: [f"{a.name}, {year}: {n.percent(v) if v is not None else '–'}" for a, v in zip(leaves, values)]
                  for year, values in series.items()}
        description = _("Maps of the coverage of %(count)s areas in %(years)s, on one colour scale; under-served "
                        "areas are outlined.") % {"count": n.whole(len(leaves)), "years": ", ".join(series)}
        svg = charts.choropleth_grid([self.shapes[a.id] for a in leaves], series, titles,
                                     [a.underserved for a in leaves], lambda v: n.percent(v, 0),
                                     _("Coverage (supply / demand)"))
        return Figure(self.svg_with_description(svg, description), _("Coverage on the map"), description,
                      f"table-{key}")

    # --- policies side by side over a horizon --------------------------------------------------------
    def horizon_comparison_headline(self, part: HorizonComparisonPart) -> list[str]:
        _, n = self._, self.n
        years = part.years
        lines = [_("%(count)s policies are planned over %(first)s–%(last_plan)s and projected to %(last)s.") % {
            "count": n.whole(len(part.policies)), "first": years[0], "last_plan": years[part.plan_years - 1],
            "last": years[-1]}]
        # ties: the first policy in the comparison's order
        fewest = min(part.policies, key=lambda p: p.metrics["inhabitant_years_without_specialist"])
        lines.append(_("%(policy)s leaves the fewest inhabitant-years without a specialist: %(count)s.") % {
            "policy": fewest.name, "count": n.whole(fewest.metrics["inhabitant_years_without_specialist"])})
        calmest = min(part.policies, key=lambda p: p.metrics["posts_moved"])
        lines.append(_("%(policy)s moves the fewest posts from year to year: %(count)s.") % {
            "policy": calmest.name, "count": n.posts(calmest.metrics["posts_moved"])})
        return lines

    def horizon_comparison_maps(self, part: HorizonComparisonPart, key: str) -> Figure | None:
        _, n = self._, self.n
        if self.shapes is None:
            return None
        last = part.years[-1]
        leaves = _sorted(part.policies[0].leaf_areas)
        series = {}
        for policy in part.policies:
            by_id = {a.id: a.coverage[-1] for a in policy.leaf_areas}
            series[policy.name] = [by_id.get(a.id) for a in leaves]
        titles = {name: [f"{name}: {a.name}, {last}: {n.percent(v) if v is not None else '–'}"
                         for a, v in zip(leaves, values)] for name, values in series.items()}
        description = _("Maps of the coverage of %(count)s areas in %(year)s under each of %(policies)s policies, "
                        "on one colour scale; under-served areas are outlined.") % {
            "count": n.whole(len(leaves)), "year": last, "policies": n.whole(len(part.policies))}
        svg = charts.choropleth_grid([self.shapes[a.id] for a in leaves], series, titles,
                                     [a.underserved for a in leaves], lambda v: n.percent(v, 0),
                                     _("Coverage (supply / demand)"))
        return Figure(self.svg_with_description(svg, description), _("Each policy's coverage on the map"),
                      description, f"table-{key}")

    def horizon_comparison_rows(self, part: HorizonComparisonPart,
                                areas: list[list[CoverageFigures]]) -> list[tuple[str, bool, list[str]]]:
        """(name, under-served, the year it reaches its target under each policy) per area of the tables."""
        by_policy = [{a.id: a for a in policy_areas} for policy_areas in areas]
        rows = []
        for area in _sorted(areas[0]):
            rows.append((area.name, area.underserved,
                         [self.reached_in(part.years, found[area.id]) if area.id in found else "–"
                          for found in by_policy]))
        return rows

    def reached_in(self, years: list[int], area: CoverageFigures) -> str:
        """The year an area reaches its target, or that it does not by the last of ``years``."""
        if area.reached is None:
            return self._("not by %(year)s") % {"year": years[-1]}
        return str(years[area.reached])

    def reached(self, part: HorizonPart, area: CoverageFigures) -> str:
        """The year an area reaches its target, or that it does not by the end of the outlook."""
        return self.reached_in(part.years, area)

    # --- a sweep --------------------------------------------------------------------------------------
    def sweep_value(self, value: float) -> str:
        """An axis value as given (``0,05``, ``1.340``): up to six decimals, none when whole."""
        return _decimal(value, format="#,##0.######", locale=self.n.locale)

    def sweep_statuses(self, part: SweepPart) -> str:
        """How many scenarios ended how, in one sentence."""
        _, n = self._, self.n
        said = []
        # sweep.json's keys are sorted by name; the sentence goes from the best outcome to the worst.
        rank = {"optimal": 0, "time-limit": 2, "infeasible": 3, "error": 4}
        for status, count in sorted(part.statuses.items(), key=lambda item: (rank.get(item[0], 1), item[0])):
            if not count:
                continue
            if status == "optimal":
                said.append(_("%(count)s proven optimal") % {"count": n.whole(count)})
            elif status.startswith("gap"):
                said.append(_("%(count)s within the accepted gap of %(gap)s") % {
                    "count": n.whole(count), "gap": n.percent(float(status.split()[-1]), 2)})
            elif status == "time-limit":
                said.append(_("%(count)s stopped at the time limit without a plan") % {"count": n.whole(count)})
            elif status == "infeasible":
                said.append(_("%(count)s without any plan (infeasible)") % {"count": n.whole(count)})
            else:
                said.append(_("%(count)s failed (rerun the sweep to try them again)") % {"count": n.whole(count)})
        return _("%(count)s scenarios: %(statuses)s.") % {"count": n.whole(part.scenarios), "statuses": "; ".join(said)}

    def sweep_range(self, span: list[float] | None, percent: bool = False) -> str:
        """``low–high`` (one figure when equal), posts or coverage in percent; ``–`` without a plan."""
        if span is None:
            return "–"
        low, high = (self.n.decimal(100 * v) if percent else self.n.posts(v) for v in span)
        return low if low == high else f"{low}–{high}"

    def sweep_change(self, change: dict[str, Any]) -> str:
        """Whether the plan changes between two consecutive values of an axis, and in which years."""
        _, n = self._, self.n
        values = {"from": self.sweep_value(change["from"]), "to": self.sweep_value(change["to"]),
                  "changed": n.whole(change["changed"]), "count": n.whole(change["comparable"])}
        if not change["changed"]:
            return _("From %(from)s to %(to)s the plan stays the same in all %(count)s comparable scenarios.") % values
        if change.get("years"):
            return _("From %(from)s to %(to)s the plan changes in %(changed)s of %(count)s comparable scenarios, "
                     "in %(years)s.") % {**values, "years": ", ".join(map(str, change["years"]))}
        return _("From %(from)s to %(to)s the plan changes in %(changed)s of %(count)s comparable scenarios.") % values

    def sweep_figure(self, axis: SweepAxisFigures, key: str) -> Figure | None:
        """One axis of a sweep as a chart: each area's band of posts over the axis's values (None: one value)."""
        _, n = self._, self.n
        if len(axis.values) < 2 or not axis.posts:
            return None
        shown = axis.posts
        if len(shown) > SWEEP_AREAS:
            # The areas whose posts move most across the values; the table below has them all.
            def spread(row: list[list[float] | None]) -> float:
                known = [v for span in row if span is not None for v in span]
                return max(known) - min(known) if known else 0.0
            order = sorted(range(len(shown)), key=lambda k: (-spread(shown[k][1]), shown[k][0]))[:SWEEP_AREAS]
            shown = [shown[k] for k in sorted(order)]
        moving = sum(1 for _name, row in axis.posts
                     if len({tuple(span) for span in row if span is not None}) > 1)
        description = _("Line chart of the posts of %(shown)s of %(count)s areas at each of %(values)s values of "
                        "%(field)s; the band is the lowest to the highest over the other settings, and %(moving)s "
                        "areas' posts change across the values.") % {
            "shown": n.whole(len(shown)), "count": n.whole(len(axis.posts)), "values": n.whole(len(axis.values)),
            "field": axis.field, "moving": n.whole(moving)}
        svg = charts.sweep_ranges([self.sweep_value(v) for v in axis.values], [name for name, _row in shown],
                                  [row for _name, row in shown], n.posts, axis.field, _("Posts"))
        return Figure(self.svg_with_description(svg, description),
                      _("Posts per area across the values of %(field)s") % {"field": axis.field}, description,
                      f"table-{key}")

    def sweep_context(self, part: SweepPart, key: str) -> dict[str, Any]:
        """The strings of a sweep's section: per axis its tables (ranges per value) and its changes."""
        _, n = self._, self.n
        intro = [self.sweep_statuses(part)]
        if part.draws:
            intro.append(_("Each setting was solved with %(count)s Monte Carlo draws of population and indicators "
                           "(noise %(noise)s, seed %(seed)s).") % {"count": n.whole(part.draws["count"]),
                                                                  "noise": n.percent(part.draws["noise"]),
                                                                  "seed": part.draws["seed"]})
        if part.multi_year:
            intro.append(_("Each scenario is planned over %(first)s–%(last)s; posts are summed over the plan years.")
                         % {"first": part.plan_years[0], "last": part.plan_years[-1]})
        if part.combine == "zip":
            intro.append(_("The settings are varied together: each column is one combination of every setting."))
        axes = []
        for i, axis in enumerate(part.axes):
            values = [self.sweep_value(v) for v in axis.values]
            changes = [self.sweep_change(c) for c in axis.changes] or [_("One value only: nothing to compare.")]
            axes.append({"field": axis.field, "values": values, "key": f"{key}-{i}",
                         "posts": [(name, [self.sweep_range(span) for span in spans]) for name, spans in axis.posts],
                         "coverage": [(name, [self.sweep_range(span, percent=True) for span in spans])
                                      for name, spans in axis.coverage],
                         "changes": changes, "figure": self.sweep_figure(axis, f"{key}-{i}")})
        return {"part": part, "key": key, "intro": intro, "axes": axes}

    # --- how firm a multi-year plan is ------------------------------------------------------------------
    def horizon_sensitivity_context(self, part: HorizonSensitivityPart, key: str) -> dict[str, Any]:
        """The strings of a multi-year sensitivity section: the first year's firmness and one row per variant."""
        from allocator.writers.horizon_sensitivity import variant_label

        _, n = self._, self.n
        if part.changing:
            headline = _("The split of %(year)s changes under %(changed)s of %(count)s shifts of the assumptions "
                         "and the coverage weight.") % {"year": part.first_year, "changed": n.whole(part.changing),
                                                        "count": n.whole(part.shifts)}
        else:
            headline = _("The split of %(year)s is firm: none of the %(count)s shifts of the assumptions and the "
                         "coverage weight changes it.") % {"year": part.first_year, "count": n.whole(part.shifts)}
        rows = []
        for v in part.variants:
            solved = v.inhabitant_years_change is not None
            rows.append({"label": variant_label(self.language, v.kind, v.field, v.change, v.area, v.specialty, v.year,
                                                part.several),
                         "status": status_text(v.status, self.language),
                         "without": n.signed(round(v.inhabitant_years_change)) if solved else "–",
                         "objective": _signed_decimal(n, v.objective_change),
                         "moved": n.posts(v.posts_moved) if solved else "–",
                         "first": n.posts(v.posts_moved_first_year) if solved else "–",
                         "regret": n.decimal(v.regret, 2) if v.regret is not None else "–"})
        return {"part": part, "key": key, "headline": headline, "rows": rows}

    def context(self) -> dict[str, Any]:
        document = self.document
        return {
            "lang": self.language, "doc": document, "n": self.n,
            "status_text": lambda status: status_text(status, self.language), "sorted": _sorted,
            "plans": [{"part": part, "headline": self.headline(part), "figures": self.plan_figures(part, f"plan-{k}"),
                       "areas": _sorted(part.areas), "groups": part.groups, "key": f"plan-{k}"}
                      for k, part in enumerate(document.plans)],
            "sensitivities": [{"part": part, "figure": self.sensitivity_figure(part, f"sens-{k}"), "key": f"sens-{k}"}
                              for k, part in enumerate(document.sensitivities)],
            "horizons": [{"part": part, "headline": self.horizon_headline(part), "status": self.horizon_status(part),
                          "breaches": self.horizon_breaches(part),
                          "figure": self.horizon_figure(part, f"horizon-{k}"), "areas": _sorted(part.areas),
                          "maps": self.horizon_maps(part, f"horizon-{k}"),
                          "groups": part.groups, "key": f"horizon-{k}", "reached": self.reached}
                         for k, part in enumerate(document.horizons)],
            "horizon_comparisons": [
                {"part": part, "headline": self.horizon_comparison_headline(part), "key": f"hcmp-{k}",
                 "maps": self.horizon_comparison_maps(part, f"hcmp-{k}"),
                 "reached": self.horizon_comparison_rows(part, [p.areas for p in part.policies])}
                for k, part in enumerate(document.horizon_comparisons)],
            "sweeps": [self.sweep_context(part, f"sweep-{k}") for k, part in enumerate(document.sweeps)],
            "horizon_sensitivities": [self.horizon_sensitivity_context(part, f"hsens-{k}")
                                      for k, part in enumerate(document.horizon_sensitivities)],
            "comparisons": [{"part": part, "figure": self.comparison_figure(part, f"cmp-{k}"),
                             "maps": self.comparison_maps(part, f"cmp-{k}"),
                             "areas": _sorted(part.areas), "key": f"cmp-{k}"}
                            for k, part in enumerate(document.comparisons)],
        }


def _signed_decimal(n: Numbers, value: float | None) -> str:
    """``+2.49``, ``−0.59`` (a real minus sign), ``0.00``; ``–`` when unknown."""
    if value is None:
        return "–"
    text = n.decimal(abs(value), 2)
    return ("+" + text) if value > 0 else ("\u2212" + text) if value < 0 else text


def _environment(language: str) -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     extensions=["jinja2.ext.i18n"], undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True)
    environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return environment


def report_html(document: Document, language: str, shapes: dict[str, list[Polygon]] | None = None) -> str:
    """The report as one self-contained HTML file.

    Parameters
    ----------
    document
        The report's figures (:func:`allocator.reports.document.build_document`).
    language
        ``da`` or ``en``.
    shapes
        Each leaf area's outline (the instance's geometry), or None for a report without a map.
    """
    writer = _Writer(document, language, shapes)
    environment = _environment(language)
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return environment.get_template("report.html.j2").render(css=css, **writer.context())


def _offline_fetcher() -> Any:
    """A fetcher of the bundled fonts and inline ``data:`` images (the colour bars) only: never the network."""
    from urllib.parse import unquote, urlsplit

    from weasyprint.urls import URLFetcher

    class Offline(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file:") and not Path(unquote(urlsplit(url).path)).resolve().is_relative_to(
                    FONT_DIR.resolve()):
                raise ValueError(f"the report reads no file but the bundled fonts: {url}")
            return super().fetch(url, headers)

    return Offline(allowed_protocols=("file", "data"))


def _svg_as_images(html: str) -> str:
    """Each inline ``<svg>`` as an ``<img>`` of the same SVG: WeasyPrint draws SVG images fully
    (the colour bars' embedded PNGs included), while its inline-SVG support drops some of it."""
    import base64
    import re

    def image(match: re.Match[str]) -> str:
        svg = match.group(0)
        label = re.search(r'aria-label="([^"]*)"', svg[:svg.index(">")])
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f'<img class="chart" alt="{label.group(1) if label else ""}" src="data:image/svg+xml;base64,{data}">'

    return re.sub(r"<svg\b.*?</svg>", image, html, flags=re.S)


def report_pdf(html: str) -> bytes:
    """The report's HTML typeset as PDF by WeasyPrint (no browser), with the bundled DejaVu Sans."""
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # font-subsetting chatter, not our user's business
    fonts = "\n".join(
        f'@font-face {{ font-family: "Report Sans"; font-weight: {weight}; font-style: {style}; '
        f'src: url("{(FONT_DIR / name).as_uri()}"); }}'
        for name, weight, style in (("DejaVuSans.ttf", "normal", "normal"), ("DejaVuSans-Bold.ttf", "bold", "normal"),
                                    ("DejaVuSans-Oblique.ttf", "normal", "italic")))
    stylesheet = weasyprint.CSS(string=fonts + '\nbody { font-family: "Report Sans", sans-serif; }',
                                 url_fetcher=_offline_fetcher())
    page = weasyprint.HTML(string=_svg_as_images(html), url_fetcher=_offline_fetcher())
    return page.write_pdf(stylesheets=[stylesheet], uncompressed_pdf=False)  # type: ignore[no-any-return]


def write_report(out: Target, document: Document, language: str,
                 shapes: dict[str, list[Polygon]] | None = None) -> list[Path]:
    """Write report.html and report.pdf into ``out`` (a folder or a run's publication)."""
    html = report_html(document, language, shapes)
    return write_files(out, {"report.html": lambda: html, "report.pdf": lambda: report_pdf(html)})
