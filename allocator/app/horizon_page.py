"""The what-if page on a multi-year instance: where the specialists will be, for the weights and totals set.

:func:`allocator.app.page.main` hands the page to :func:`main` when the
instance has a ``horizon``. The horizon, the models, the map and each model's
plan are read and solved once per server (``st.cache_resource``); each run
reads the controls into :class:`~allocator.app.horizon_whatif.HorizonSettings`
and asks :func:`~allocator.app.horizon_whatif.evaluate_horizon` for the
verified plan over the whole horizon. A year slider picks the outlook year the
maps show. Nothing is written to disk: the exports are downloads.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from allocator.app.horizon_whatif import (APP_TIME_LIMIT, HorizonEvaluation, HorizonSettings, compared,
                                          evaluate_horizon, horizon_settings_of)
from allocator.app.page import (_map, _svg, _top, heading, input_warnings, language, models_and_shapes, or_error,
                                policies, put_weights, show_input_warnings, stability)
from allocator.errors import AllocatorError
from allocator.io.horizon import load_horizon_instance
from allocator.io.horizon_checks import horizon_warnings
from allocator.io.schemas import HorizonInstance, Instance
from allocator.reports.horizon_compare import HorizonCompared
from allocator.results.horizon import solve_horizon
from allocator.writers.language import Numbers, status_text

#: The year the maps show first: the seeds' goals are for 2030 (seeds/001), where the outlook reaches it.
GOAL_YEAR = 2030


class HorizonLoaded:
    """What the page reads once: the horizon, the models in order, the map and each model's verified plan."""

    def __init__(self, instance_path: str, model_paths: tuple[str, ...]) -> None:
        self.horizon: HorizonInstance = load_horizon_instance(Path(instance_path)).value
        self.instance: Instance = self.horizon.instance
        self.instance_path = instance_path
        self.models, self.shapes = models_and_shapes(self.instance, model_paths)
        self.warnings = input_warnings(self.instance, self.models, model_paths) + \
            horizon_warnings(self.horizon, instance_path)
        self.plans: dict[str, HorizonCompared | None] = {}
        for name, model in self.models.items():
            try:
                self.plans[name] = compared(self.horizon, model,
                                            solve_horizon(self.horizon, model, time_limit=APP_TIME_LIMIT))
            except AllocatorError:
                self.plans[name] = None


@st.cache_resource(show_spinner=False)
def _load(instance_path: str, model_paths: tuple[str, ...]) -> HorizonLoaded:
    return HorizonLoaded(instance_path, model_paths)


# --- the controls -------------------------------------------------------------------------------


def _reset(loaded: HorizonLoaded, name: str) -> None:
    """Put every control at the values of the model ``name`` and the file's totals and rates."""
    model = loaded.models[name]
    settings = horizon_settings_of(loaded.horizon, model, f"{model.name}-what-if")
    state = st.session_state
    state["coverage_weight"] = settings.coverage_weight
    put_weights(settings)
    state["fill_factor"] = settings.fill_factor
    state["retention_factor"] = settings.retention_factor
    for specialty, values in settings.totals:
        for year, total in zip(loaded.horizon.plan_calendar_years, values):
            state[f"total:{specialty}:{year}"] = total
    state["name"] = settings.name
    state["started_from"] = name


def _controls(loaded: HorizonLoaded, _: Any) -> HorizonSettings:
    """The sidebar's controls, read into settings."""
    horizon = loaded.horizon
    state = st.session_state
    bar = st.sidebar
    model = policies(loaded.models, _, lambda name: _reset(loaded, name))
    bar.subheader(_("Weights"))
    bar.slider(_("Coverage weight"), 0.0, _top(model.coverage_weight, 50.0), step=0.5, key="coverage_weight",
               help=_("What a specialist short in an area for a year costs, against the yearly targets."))
    rounding = model.objective in ("apportionment", "biproportional")
    bar.slider(_("Under-served weight"), 1.0, _top(model.underserved_weight, 10.0), step=0.1,
               key="underserved_weight", disabled=rounding,
               help=_("A post short in a designated under-served area weighs this many times."))
    limited = stability(_("Limit the change from one year to the next"), float(loaded.instance.unit), model, False, _)
    bar.subheader(_("Assumptions"))
    bar.slider(_("Fill rates ×"), 0.5, 1.5, step=0.05, key="fill_factor",
               help=_("Every area's share of posts that are filled, times this (at most 100 %)."))
    bar.slider(_("Retention ×"), 0.5, 1.5, step=0.05, key="retention_factor",
               help=_("Every area's share of new specialists who stay where they trained, times this (at most "
                      "100 %)."))
    bar.subheader(_("Totals"))
    totals = []
    for specialty in sorted(loaded.instance.specialties, key=lambda s: s.id):
        bar.caption(specialty.name or specialty.id)
        values = []
        for year in horizon.plan_calendar_years:
            key = f"total:{specialty.id}:{year}"
            bar.number_input(str(year), min_value=0.0, step=float(loaded.instance.unit), key=key)
            values.append(float(state[key]))
        totals.append((specialty.id, tuple(values)))
    bar.text_input(_("Name of the policy"), key="name")
    return HorizonSettings(coverage_weight=float(state["coverage_weight"]),
                           underserved_weight=float(state["underserved_weight"]),
                           max_change=float(state["max_change"]) if limited else None,
                           stability_weight=float(state["stability_weight"]), totals=tuple(totals),
                           fill_factor=float(state["fill_factor"]), retention_factor=float(state["retention_factor"]),
                           name=str(state["name"]).strip() or f"{model.name}-what-if")


# --- what is shown ------------------------------------------------------------------------------


def leaf_coverage(plan: HorizonCompared, year: int) -> dict[str, tuple[float, float]]:
    """(supply, demand) of every leaf in ``year``, over its specialties."""
    sums: dict[str, tuple[float, float]] = {}
    for row in plan.plan.projection.rows:
        if row.year == year:
            supply, demand = sums.get(row.area, (0.0, 0.0))
            sums[row.area] = (supply + row.supply, demand + row.demand)
    return sums


def _share(pair: tuple[float, float] | None) -> float | None:
    return pair[0] / pair[1] if pair is not None and pair[1] > 0 else None


def _show_maps(loaded: HorizonLoaded, result: HorizonEvaluation, year: int, _: Any, lang: str) -> None:
    if loaded.shapes is None or result.plan is None:
        return
    n = Numbers(lang)
    leaves = loaded.instance.leaves
    labels = [loaded.instance.area_by_id[leaf].label for leaf in leaves]
    mine = leaf_coverage(result.plan, year)
    shares = [_share(mine.get(leaf)) for leaf in leaves]
    values = tuple(None if v is None else 100 * v for v in shares)
    titles = tuple(f"{label}, {year}: " + _("coverage %(coverage)s (%(supply)s specialists for a need of %(demand)s)")
                   % {"coverage": n.percent(v) if v is not None else "–", "supply": n.decimal(mine[leaf][0]),
                      "demand": n.decimal(mine[leaf][1])} if leaf in mine else f"{label}, {year}: –"
                   for label, leaf, v in zip(labels, leaves, shares))
    left, right = st.columns(2)
    with left:
        st.markdown("**" + _("Coverage in %(year)s (supply / need, %%)") % {"year": year} + "**")
        _svg(_map(f"coverage-{year}", loaded.instance.name, values, titles, _("Coverage (%)"),
                  _("Under-served area"), False, lang, loaded))  # type: ignore[arg-type]
    with right:
        if result.baseline is None:
            return
        st.markdown("**" + _("Change in coverage against the policy %(model)s (percentage points)")
                    % {"model": st.session_state["baseline"]} + "**")
        theirs = leaf_coverage(result.baseline, year)
        before = [_share(theirs.get(leaf)) for leaf in leaves]
        change = tuple(None if a is None or b is None else 100 * (a - b) for a, b in zip(shares, before))
        if not any(abs(c) > 1e-9 for c in change if c is not None):
            st.info(_("No area's coverage changes in %(year)s.") % {"year": year})
            return
        change_titles = tuple(f"{label}, {year}: " + (f"{n.signed(round(c, 1))} ({n.percent(b)} → {n.percent(a)})"
                                                      if c is not None and a is not None and b is not None else "–")
                              for label, c, a, b in zip(labels, change, shares, before))
        _svg(_map(f"coverage-change-{year}", loaded.instance.name, change, change_titles, _("Change (points)"),
                  _("Under-served area"), True, lang, loaded))  # type: ignore[arg-type]


def _table(loaded: HorizonLoaded, result: HorizonEvaluation, year: int, _: Any) -> pd.DataFrame:
    assert result.plan is not None
    instance = loaded.instance
    names = {s.id: s.name or s.id for s in instance.specialties}
    posts = result.plan.plan.posts()
    theirs = result.baseline.plan.posts() if result.baseline is not None else {}
    years = loaded.horizon.plan_calendar_years
    records = []
    for leaf in instance.leaves:
        for specialty in instance.specialty_ids:
            if (leaf, specialty, years[0]) not in posts:
                continue
            area = instance.area_by_id[leaf]
            parent = area.parent
            record: dict[str, Any] = {_("Area"): area.label,
                                      _("Region"): instance.area_by_id[parent].label if parent else "",
                                      "⚑": "⚑" if area.underserved else "",
                                      _("Specialty"): names.get(specialty, specialty)}
            for plan_year in years:
                record[str(plan_year)] = posts[(leaf, specialty, plan_year)]
            mine = sum(posts[(leaf, specialty, y)] for y in years)
            record[_("Posts, all plan years")] = mine
            base = sum(theirs.get((leaf, specialty, y), math.nan) for y in years) if theirs else math.nan
            record[_("Change against the baseline")] = None if math.isnan(base) else mine - base
            coverage = result.plan.coverage.get((leaf, specialty), {}).get(year)
            record[_("Coverage in %(year)s (%%)") % {"year": year}] = None if coverage is None else \
                round(100 * coverage, 1)
            record[_("Target reached")] = result.plan.reached(leaf, specialty)
            records.append(record)
    return pd.DataFrame.from_records(records)


def _show_metrics(loaded: HorizonLoaded, result: HorizonEvaluation, _: Any, lang: str) -> None:
    assert result.plan is not None
    n = Numbers(lang)
    first, last_plan = loaded.horizon.first_year, loaded.horizon.plan_calendar_years[-1]
    last = loaded.horizon.outlook_calendar_years[-1]
    st.subheader(_("The plans side by side"))
    lines = [(result.baseline.model.name, result.baseline)] if result.baseline is not None else []
    lines.append((result.plan.model.name, result.plan))
    rows = []

    def overall(values: dict[str, float]) -> str:
        return ", ".join(n.percent(v) for v in values.values())

    for name, line in lines:
        m = line.metrics
        rows.append({
            _("Policy"): name,
            _("Inhabitant-years without a specialist"): n.whole(m.inhabitant_years_without),
            _("The same, each year planned alone"): n.whole(m.myopic_inhabitant_years_without)
            if m.myopic_inhabitant_years_without is not None else "–",
            _("Coverage %(year)s") % {"year": first}: overall(m.coverage_first),
            _("Coverage %(year)s") % {"year": last_plan}: overall(m.coverage_last_plan),
            _("Coverage %(year)s") % {"year": last}: overall(m.coverage_last),
            _("Areas reaching their target"): f"{m.reached} / {m.leaves}",
            _("Posts moved from year to year"): n.posts(m.moved),
            _("Objective"): n.decimal(m.objective, 4),
        })
    st.table(pd.DataFrame.from_records(rows).set_index(_("Policy")))


def _exports(loaded: HorizonLoaded, result: HorizonEvaluation, _: Any) -> None:
    from allocator.writers.horizon import horizon_plan_csv, projection_csv
    from allocator.writers.model import model_yaml

    assert result.model is not None
    st.subheader(_("Export"))
    header = [f"Exported by allocator app from {loaded.instance.name} ({Path(loaded.instance_path).name}).",
              "Solve it with: allocator solve INSTANCE --model THIS-FILE --out FOLDER"]
    if result.horizon is not loaded.horizon:
        header.append("The totals and rates are facts of the instance, not of the model: the app also changed them; "
                      "change them in the instance to get the same plan.")
        st.warning(_("The totals, fill rates and retention are part of the instance, not of the model: change them "
                     "in the instance file too to get this plan from the exported model."))
    columns = st.columns(3)
    columns[0].download_button(_("Model (YAML)"), model_yaml(result.model, header), f"{result.model.name}.yaml",
                               "application/yaml", key="export_model")
    if result.plan is None:
        return
    plan = result.plan.plan
    columns[1].download_button(_("Plan (CSV)"), lambda: horizon_plan_csv(plan), "plan.csv", "text/csv",
                               key="export_csv")
    columns[2].download_button(_("Projection (CSV)"), lambda: projection_csv(plan.projection), "projection.csv",
                               "text/csv", key="export_projection")


def main(arguments: argparse.Namespace, started: float) -> None:
    """Draw the page for a multi-year instance (the arguments of :func:`allocator.app.page.main`)."""
    loaded = or_error(lambda: _load(arguments.instance, tuple(arguments.model)))
    if loaded is None:
        return
    state = st.session_state
    _, lang = language(arguments.lang or loaded.instance.language)
    settings = _controls(loaded, _)
    heading(loaded.instance.name, _)
    show_input_warnings(loaded.warnings, _)
    baseline = loaded.plans.get(state["baseline"])
    result = evaluate_horizon(loaded.horizon, loaded.models[state["start"]], settings, baseline)
    n = Numbers(lang)
    if result.plan is None:
        if result.infeasible:
            st.error("**" + _("No plan meets all these settings.") + "** " + str(result.problem))
        else:
            st.error(_("These settings give no plan: %(problem)s") % {"problem": result.problem})
        if result.model is not None:
            _exports(loaded, result, _)
    else:
        metrics = result.plan.metrics
        cells = st.columns(4)
        delta = None
        if result.baseline is not None:
            # Streamlit colours a delta by a leading ASCII minus; fewer inhabitant-years is better (inverse).
            delta = n.signed(round(metrics.inhabitant_years_without
                                   - result.baseline.metrics.inhabitant_years_without)).replace("\u2212", "-")
        cells[0].metric(_("Inhabitant-years without a specialist"), n.whole(metrics.inhabitant_years_without),
                        delta=delta, delta_color="inverse")
        cells[1].metric(_("Status"), status_text(metrics.status, lang),
                        help=_("Optimal: proven; no plan under these settings costs less."))
        cells[2].metric(_("Objective"), n.decimal(metrics.objective, 4))
        cells[3].metric(_("Solved and verified in"), f"{n.decimal(result.seconds['solve'] * 1000, 1)} ms")
        if baseline is None:
            st.warning(_("The policy %(model)s has no plan on this instance, so there is nothing to compare with.")
                       % {"model": state["baseline"]})
        years = loaded.horizon.outlook_calendar_years
        if state.get("year") not in years:
            state["year"] = GOAL_YEAR if GOAL_YEAR in years else loaded.horizon.plan_calendar_years[-1]
        year = st.select_slider(_("Year shown"), years, key="year")
        _show_maps(loaded, result, year, _, lang)
        st.subheader(_("Posts per area and plan year"))
        st.dataframe(_table(loaded, result, year, _), hide_index=True, key="plan_table")
        _show_metrics(loaded, result, _, lang)
        _exports(loaded, result, _)
    # The tests read these: the library's solve, and the whole run of this page.
    state["timings"] = {**result.seconds, "page": time.perf_counter() - started}
    state["plan_posts"] = None if result.plan is None else result.plan.plan.posts()
