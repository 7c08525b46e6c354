"""The what-if page, a Streamlit script: ``allocator app`` runs it, and AppTest drives it in the tests.

Streamlit runs this file from the top at every change of a control. The
instance, the models, the map and the baseline plans are read once per
server (``st.cache_resource``); each run builds the settings from the
controls and asks :func:`allocator.app.whatif.evaluate` for everything shown.
Nothing is written to disk: the exports are downloads the browser saves.

Arguments (after the script): ``INSTANCE [--model M ...] [--lang da|en]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from allocator.app.whatif import (OBJECTIVES, Evaluation, Settings, add_sensitivity, diagnosis_words, evaluate,
                                  settings_of, weight_label)
from allocator.errors import AllocatorError, InfeasibleError
from allocator.io.loading import column_warnings, load_instance, load_model
from allocator.io.schemas import DEFAULT_MODEL, Instance, Model
from allocator.results.plan import Plan
from allocator.results.solve import solve
from allocator.writers.language import LANGUAGES, Numbers, translations

#: The methods offered under ``objective: apportionment`` (docs/apportionment.md) and ``biproportional``.
APPORTIONMENT_METHODS = ("webster", "jefferson", "adams", "huntington-hill", "hamilton", "sainte-lague-modified",
                         "dean")
BIPROPORTIONAL_METHODS = ("webster", "jefferson", "adams", "huntington-hill")

T = TypeVar("T")


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="allocator app page")
    parser.add_argument("instance")
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--lang", choices=LANGUAGES, default=None)
    return parser.parse_args(argv)


def models_and_shapes(instance: Instance, model_paths: tuple[str, ...]) -> tuple[dict[str, Model], Any]:
    """The models by name, in the order given (default: posts follow population), and the instance's map, if any."""
    models = [load_model(Path(path)).value for path in model_paths] or [DEFAULT_MODEL]
    shapes = None
    if instance.geometry is not None:
        from allocator.io.geometry import read_geometry

        shapes = read_geometry(instance)
    return {model.name: model for model in models}, shapes


def input_warnings(instance: Instance, models: dict[str, Model], model_paths: tuple[str, ...]) -> list[str]:
    """The warnings ``allocator solve`` gives about the instance's columns, for the models the app was started with
    (none given: no model, as on the terminal)."""
    return column_warnings(instance, list(models.values()) if model_paths else [])


def show_input_warnings(warnings: list[str], _: Any) -> None:
    """The input warnings under the title, as ``allocator solve`` prints them: a reader of the page may never see
    the terminal that started the app."""
    if warnings:
        with st.expander(_("Warnings about the input files (%(count)s)") % {"count": len(warnings)}, expanded=True):
            for warning in warnings:
                st.warning(warning)


class Loaded:
    """What the page reads once: the instance, the models in order, the map and each model's baseline plan."""

    def __init__(self, instance_path: str, model_paths: tuple[str, ...]) -> None:
        self.instance: Instance = load_instance(Path(instance_path)).value
        self.instance_path = instance_path
        self.models, self.shapes = models_and_shapes(self.instance, model_paths)
        self.warnings = input_warnings(self.instance, self.models, model_paths)
        self.plans: dict[str, Plan | None] = {}
        for name, model in self.models.items():
            try:
                self.plans[name] = solve(self.instance, model)
            except InfeasibleError:
                self.plans[name] = None


@st.cache_resource(show_spinner=False)
def _load(instance_path: str, model_paths: tuple[str, ...]) -> Loaded:
    return Loaded(instance_path, model_paths)


@st.cache_resource(show_spinner=False)
def _is_horizon(instance_path: str) -> bool:
    """Whether the instance has a ``horizon`` (then allocator.app.horizon_page draws the page)."""
    from allocator.io.horizon import is_horizon_file

    return is_horizon_file(instance_path)


# --- the controls -------------------------------------------------------------------------------


def put_weights(settings: Settings | Any) -> None:
    """Put the under-served weight and the stability controls at the values of ``settings`` (either page's)."""
    state = st.session_state
    state["underserved_weight"] = max(1.0, settings.underserved_weight)
    state["limit_change"] = settings.max_change is not None
    state["max_change"] = settings.max_change if settings.max_change is not None else 0.0
    state["stability_weight"] = settings.stability_weight


def _reset(loaded: Loaded, name: str) -> None:
    """Put every control at the values of the model ``name`` (the controls' keys are fixed)."""
    model = loaded.models[name]
    settings = settings_of(loaded.instance, model, f"{model.name}-what-if")
    state = st.session_state
    for indicator, weight in settings.weights:
        state[f"weight:{indicator}"] = weight
    put_weights(settings)
    state["objective"] = settings.objective
    state["method"] = settings.method
    for specialty, total in settings.totals:
        state[f"total:{specialty}"] = total
    state["name"] = settings.name
    state["started_from"] = name


def _top(value: float, floor: float) -> float:
    # Room to move: at least ``floor``, else four times the starting value, on a round figure.
    return float(max(floor, round(value * 4 + 0.5)))


def policies(models: dict[str, Model], _: Any, reset: Callable[[str], None]) -> Model:
    """The policy the controls start from (``reset`` puts them at it when it changes) and the baseline's choice."""
    names = list(models)
    start = st.sidebar.selectbox(_("Start from the policy"), names, key="start")
    if st.session_state.get("started_from") != start:
        reset(start)
    st.sidebar.selectbox(_("Compare with the policy"), names, key="baseline")
    return models[start]


def stability(limit_label: str, unit: float, model: Model, no_weight: bool, _: Any) -> bool:
    """The stability controls (a limit and its size, the weight); whether the limit is on."""
    bar = st.sidebar
    bar.subheader(_("Stability"))
    limited = bool(bar.checkbox(limit_label, key="limit_change"))
    bar.number_input(_("Largest change per area (posts)"), min_value=0.0, step=unit, key="max_change",
                     disabled=not limited)
    bar.slider(_("Stability weight"), 0.0, _top(model.stability.weight, 5.0), step=0.05, key="stability_weight",
               disabled=no_weight, help=_("What each post moved against last year costs."))
    return limited


def _controls(loaded: Loaded, _: Any, slots: dict[str, Any]) -> Settings:
    """The sidebar's controls, read into settings; ``slots`` gets a place under each weight for its range."""
    instance = loaded.instance
    state = st.session_state
    bar = st.sidebar
    model = policies(loaded.models, _, lambda name: _reset(loaded, name))
    objective = bar.selectbox(_("Objective"), OBJECTIVES, key="objective")
    rounding = objective in ("apportionment", "biproportional")
    if rounding:
        methods = APPORTIONMENT_METHODS if objective == "apportionment" else BIPROPORTIONAL_METHODS
        if state.get("method") not in methods:
            state["method"] = methods[0]
        bar.selectbox(_("Method"), methods, key="method")
    bar.subheader(_("Weights"))
    weights = []
    for criterion in model.criteria:
        key = f"weight:{criterion.indicator}"
        bar.slider(weight_label(f"criterion:{criterion.indicator}", state["lang"]), 0.0,
                   _top(criterion.weight, 10.0), step=0.05, key=key, help=_("0 leaves the criterion out."))
        slots[f"criterion:{criterion.indicator}"] = bar.empty()
        weights.append((criterion.indicator, float(state[key])))
    bar.slider(_("Under-served weight"), 1.0, _top(model.underserved_weight, 10.0), step=0.1,
               key="underserved_weight", disabled=rounding,
               help=_("A post short in a designated under-served area weighs this many times."))
    slots["underserved_weight"] = bar.empty()
    limited = stability(_("Limit the change against last year"), float(instance.unit), model,
                        objective == "biproportional", _)
    slots["stability.weight"] = bar.empty()
    bar.subheader(_("Totals"))
    totals = []
    for specialty in sorted(instance.specialties, key=lambda s: s.id):
        key = f"total:{specialty.id}"
        bar.number_input(specialty.name or specialty.id, min_value=0.0, step=float(instance.unit), key=key)
        totals.append((specialty.id, float(state[key])))
    bar.text_input(_("Name of the policy"), key="name")
    return Settings(weights=tuple(weights), underserved_weight=float(state["underserved_weight"]),
                    max_change=float(state["max_change"]) if limited else None,
                    stability_weight=float(state["stability_weight"]), objective=objective,
                    method=state.get("method") if rounding else None, totals=tuple(totals),
                    name=str(state["name"]).strip() or f"{model.name}-what-if")


# --- what is shown ------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _map(key: str, instance_name: str, values: tuple[float | None, ...], titles: tuple[str, ...],
         legend: str, flag_label: str, diverging: bool, lang: str, _loaded: Loaded) -> str:
    """One map of the plan (cached: a slider moved within its weight range gives the same map)."""
    from allocator.writers import charts

    instance = _loaded.instance
    assert _loaded.shapes is not None
    leaves = instance.leaves
    number = Numbers(lang).signed if diverging else Numbers(lang).decimal
    return charts.choropleth([_loaded.shapes[leaf] for leaf in leaves], list(values), list(titles),
                             [instance.area_by_id[leaf].underserved for leaf in leaves], number, legend, flag_label,
                             diverging=diverging)


def _svg(svg: str) -> None:
    """Show a map's SVG in a frame of its own, where each area's ``<title>`` names it on hover.

    ``st.html`` sanitises with DOMPurify's HTML profile, which drops SVG; through
    Markdown the two 300 kB drawings made the page take 1.9-2.3 s to settle in
    Chromium, in frames 1.0-1.6 s (docs/app.md). The SVG is our own drawing:
    every name in it is escaped (:func:`allocator.writers.charts.choropleth`)
    and it holds no script.
    """
    st.iframe('<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0}svg{width:100%;height:auto}'
              '</style></head><body>' + svg + "</body></html>", height="content")


def _leaf_sums(plan: Plan) -> dict[str, float]:
    sums: dict[str, float] = {}
    for row in plan.rows:
        sums[row.area] = sums.get(row.area, 0.0) + row.posts
    return sums


def _show_maps(loaded: Loaded, result: Evaluation, baseline: Plan | None, _: Any, lang: str) -> None:
    if loaded.shapes is None or result.plan is None:
        return
    n = Numbers(lang)
    instance = loaded.instance
    leaves = instance.leaves
    mine = _leaf_sums(result.plan)
    posts = tuple(mine.get(leaf, 0.0) for leaf in leaves)
    per_100k = tuple(mine.get(leaf, 0.0) / (instance.area_by_id[leaf].population or 0) * 100_000
                     if instance.area_by_id[leaf].population else None for leaf in leaves)
    labels = [instance.area_by_id[leaf].label for leaf in leaves]
    many = translations(lang).ngettext
    titles = tuple(f"{label}: " + many("%(count)s post", "%(count)s posts", 1 if p == 1 else 2) % {
        "count": n.posts(p)} + f", {n.decimal(v)} " + _("per 100,000") for label, p, v in zip(labels, posts, per_100k))
    left, right = st.columns(2)
    with left:
        st.markdown("**" + _("Posts per 100,000 inhabitants") + "**")
        _svg(_map("per100k", instance.name, per_100k, titles, _("Posts per 100,000 inhabitants"),
                  _("Under-served area"), False, lang, loaded))
    choices = {"baseline": _("Change against the policy %(model)s") % {"model": st.session_state["baseline"]}}
    if instance.previous:
        choices["last_year"] = _("Change against last year")
    with right:
        shown = st.radio(_("Map"), list(choices), format_func=choices.__getitem__, key="right_map", horizontal=True,
                         label_visibility="collapsed")
        if shown == "last_year":
            previous = instance.previous_posts
            theirs = {leaf: sum(previous.get((leaf, s), 0.0) for s in instance.specialty_ids) for leaf in leaves}
        elif baseline is not None:
            theirs = _leaf_sums(baseline)
        else:
            return
        change = tuple(mine.get(leaf, 0.0) - theirs.get(leaf, 0.0) for leaf in leaves)
        if not any(change):
            st.info(_("No area's posts change."))
            return
        change_titles = tuple(f"{label}: {n.signed(c)} (" + _("%(theirs)s → %(mine)s posts") % {
            "theirs": n.posts(theirs.get(leaf, 0.0)), "mine": n.posts(mine.get(leaf, 0.0))} + ")"
            for label, leaf, c in zip(labels, leaves, change))
        _svg(_map(f"change-{shown}", instance.name, change, change_titles, _("Change"), _("Under-served area"), True,
                  lang, loaded))


def _table(loaded: Loaded, result: Evaluation, baseline: Plan | None, _: Any) -> pd.DataFrame:
    assert result.plan is not None
    theirs = {(row.area, row.specialty): row.posts for row in baseline.rows} if baseline is not None else {}
    instance = loaded.instance
    names = {s.id: s.name or s.id for s in instance.specialties}
    records = []
    for row in result.plan.rows:
        parent = instance.area_by_id[row.area].parent
        before = theirs.get((row.area, row.specialty))
        records.append({
            _("Area"): row.area_name,
            _("Region"): instance.area_by_id[parent].label if parent else "",
            "⚑": "⚑" if row.underserved else "",
            _("Specialty"): names.get(row.specialty, row.specialty),
            _("Posts"): row.posts,
            _("Baseline"): before,
            _("Change against the baseline"): None if before is None else row.posts - before,
            _("Last year"): row.previous,
            _("Change against last year"): None if row.previous is None else row.posts - row.previous,
            _("Target"): round(row.target, 2),
        })
    return pd.DataFrame.from_records(records)


def _show_metrics(result: Evaluation, _: Any, lang: str) -> None:
    if result.comparison is None:
        return
    n = Numbers(lang)
    st.subheader(_("Equity metrics (need measured with the policy %(model)s)")
                 % {"model": result.comparison.need_yardstick})
    rows = []
    for compared in result.comparison.models:
        m = compared.metrics
        rows.append({
            _("Policy"): compared.model.name,
            _("Under-served share of posts"): n.percent(m.underserved_share),
            _("Gini of posts per 100,000"): n.decimal(m.per_100k_gini, 4),
            _("Highest / lowest posts per 100,000"): n.decimal(m.per_100k_max_min, 2)
            if m.per_100k_max_min is not None else _("unbounded (an area gets 0)"),
            _("Highest / lowest posts per need"): n.decimal(m.per_need_max_min, 2)
            if m.per_need_max_min is not None else _("unbounded (an area gets 0)"),
            _("Largest deviation from target"): n.decimal(m.largest_deviation, 2),
            _("Objective under the compared policy"): n.decimal(m.objective_reference, 4),
        })
    st.table(pd.DataFrame.from_records(rows).set_index(_("Policy")))


def _show_priority(loaded: Loaded, result: Evaluation, _: Any) -> None:
    if result.priority is None:
        return
    instance = loaded.instance
    st.subheader(_("Who gets the next post and who loses the last"))
    names = {s.id: s.name or s.id for s in instance.specialties}
    for specialty, lists in result.priority.items():
        def said(groups: list[list[str]]) -> str:
            return "; ".join(", ".join(instance.area_by_id[a].label for a in group) or "–" for group in groups)
        st.markdown(f"**{names[specialty]}** — " + _("The next posts go to") + f": {said(lists['next'])}. "
                    + _("The last posts are taken from") + f": {said(lists['last'])}.")


def _show_ranges(loaded: Loaded, result: Evaluation, _: Any, lang: str) -> None:
    if result.no_sensitivity is not None:
        st.info(_("The sensitivity figures are not available under objective 'biproportional'."))
        return
    if result.ranges is None:
        return
    n = Numbers(lang)
    st.subheader(_("How far each weight can move before the plan changes"))
    rows = []
    for weight in result.ranges:
        def beyond(end: Any) -> str:
            if end.outside is None:
                return _("no change within the searched range")
            label = loaded.instance.area_by_id
            moved = [f"{label[g['area']].label} {n.signed(g['change'])}" for g in end.gains + end.losses]
            return _("at %(value)s: %(changes)s") % {"value": n.decimal(end.outside, 3), "changes": ", ".join(moved)}
        rows.append({_("Weight"): weight_label(weight.weight, lang), _("Now"): n.decimal(weight.value, 3),
                     _("Same plan from"): n.decimal(weight.low.inside, 3),
                     _("Same plan to"): n.decimal(weight.high.inside, 3),
                     _("First change below"): beyond(weight.low), _("First change above"): beyond(weight.high)})
    st.table(pd.DataFrame.from_records(rows).set_index(_("Weight")))


def _show_diagnosis(result: Evaluation, _: Any, lang: str) -> None:
    assert result.diagnosis is not None and result.model is not None
    conflicts, changes = diagnosis_words(result.instance, result.model, result.diagnosis, lang)
    text = ["**" + _("No plan meets all these settings.") + "**", "",
            _("These rules conflict (relax any one of them):"), ""]
    text += [f"- {line}" for line in conflicts]
    text += ["", _("Smallest change that gives a plan:"), ""]
    text += [f"- {line}" for line in changes] or ["- " + _("(none found)")]
    st.error("\n".join(text))


def _exports(loaded: Loaded, result: Evaluation, _: Any, lang: str) -> None:
    from allocator.writers.model import model_yaml
    from allocator.writers.plan import plan_csv, plan_json, plan_xlsx

    assert result.model is not None
    st.subheader(_("Export"))
    given, now = dict(_totals(loaded.instance)), dict(_totals(result.instance))
    changed = [specialty for specialty in sorted(given) if given[specialty] != now[specialty]]
    header = [f"Exported by allocator app from {loaded.instance.name} ({Path(loaded.instance_path).name}).",
              "Solve it with: allocator solve INSTANCE --model THIS-FILE --out FOLDER"]
    if changed:
        header.append("The totals are facts of the instance, not of the model: the app also changed "
                      + ", ".join(f"{s} from {given[s]:g} to {now[s]:g}" for s in changed)
                      + "; change them in the instance to get the same plan.")
        st.warning(_("The totals are part of the instance, not of the model: change them in the instance file too "
                     "to get this plan from the exported model."))
    columns = st.columns(4)
    file_stem = result.model.name
    columns[0].download_button(_("Model (YAML)"), model_yaml(result.model, header), f"{file_stem}.yaml",
                               "application/yaml", key="export_model")
    plan = result.plan
    if plan is None:
        return
    plan.metadata["instance_file"] = loaded.instance_path
    columns[1].download_button(_("Plan (CSV)"), lambda: plan_csv(plan), "plan.csv", "text/csv", key="export_csv")
    columns[2].download_button(_("Plan (XLSX)"), lambda: plan_xlsx(result.instance, plan), "plan.xlsx",
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="export_xlsx")

    def report() -> str:
        from allocator.reports.document import build_document
        from allocator.writers.report import report_html

        document = build_document(result.instance, plans=[json.loads(plan_json(plan))])
        return report_html(document, lang, loaded.shapes)

    columns[3].download_button(_("Report (HTML)"), report, "report.html", "text/html", key="export_report")


def _totals(instance: Instance) -> list[tuple[str, float]]:
    return [(s.id, float(s.total)) for s in instance.specialties]


#: Addresses only this computer can reach.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _listening_on() -> str:
    """The address the server listens on (127.0.0.1 under ``allocator app`` unless --host says otherwise)."""
    from streamlit import config

    return str(config.get_option("server.address") or "127.0.0.1")


def or_error(load: Callable[[], T]) -> T | None:
    """What ``load`` returns; None, with its message on the page, when the input is bad."""
    try:
        return load()
    except AllocatorError as exc:
        st.error(str(exc))
        return None


def language(start: str | None) -> tuple[Any, str]:
    """The language switch at the top of the sidebar (starting at ``start``, else English); its gettext and code."""
    state = st.session_state
    if "lang" not in state:
        state["lang"] = start or "en"
    lang = st.sidebar.radio("Sprog / Language", LANGUAGES, key="lang", horizontal=True,
                            format_func=lambda code: {"da": "Dansk", "en": "English"}[code])
    return translations(lang).gettext, lang


def heading(instance_name: str, _: Any) -> None:
    """The page's title, and who can reach it and what it reads and writes."""
    st.title(_("What if: %(instance)s") % {"instance": instance_name})
    caption = _("It reads the instance and the models it was started with, and writes a file only when you "
                "download one.")
    host = _listening_on()
    if host in LOCAL_HOSTS:
        caption = _("Only this computer can reach this app (it listens on %(host)s).") % {"host": host} + " " + caption
    st.caption(caption)


def main(argv: list[str]) -> None:
    """Draw the page for the arguments ``argv`` (``INSTANCE [--model M ...] [--lang da|en]``)."""
    started = time.perf_counter()
    arguments = _arguments(argv)
    st.set_page_config(page_title="allocator", layout="wide")
    if _is_horizon(arguments.instance):
        from allocator.app.horizon_page import main as horizon_main

        horizon_main(arguments, started)
        return
    loaded = or_error(lambda: _load(arguments.instance, tuple(arguments.model)))
    if loaded is None:
        return
    state = st.session_state
    _, lang = language(arguments.lang or loaded.instance.language)
    slots: dict[str, Any] = {}
    settings = _controls(loaded, _, slots)
    heading(loaded.instance.name, _)
    show_input_warnings(loaded.warnings, _)
    baseline = loaded.plans.get(state["baseline"])
    # The plan first; the re-solves of the next posts and the weight ranges after it is on the page.
    result = evaluate(loaded.instance, loaded.models[state["start"]], settings, loaded.models[state["baseline"]],
                      baseline, sensitivity=False)
    n = Numbers(lang)
    if result.problem is not None:
        st.error(_("These settings make no valid policy: %(problem)s") % {"problem": result.problem})
    elif result.diagnosis is not None:
        _show_diagnosis(result, _, lang)
        _exports(loaded, result, _, lang)
    elif result.plan is not None:
        plan = result.plan
        moved = None
        if baseline is not None:
            theirs = {(row.area, row.specialty): row.posts for row in baseline.rows}
            moved = sum(max(0.0, row.posts - theirs[(row.area, row.specialty)]) for row in plan.rows)
        cells = st.columns(4)
        cells[0].metric(_("Posts"), n.posts(sum(row.posts for row in plan.rows)))
        cells[1].metric(_("Posts moved against the policy %(model)s") % {"model": state["baseline"]},
                        n.posts(moved) if moved is not None else "–")
        cells[2].metric(_("Objective"), n.decimal(plan.objective, 4))
        cells[3].metric(_("Solved and verified in"), f"{n.decimal(result.seconds['solve'] * 1000, 1)} ms")
        if baseline is None:
            st.warning(_("The policy %(model)s has no plan on this instance, so there is nothing to compare with.")
                       % {"model": state["baseline"]})
        _show_maps(loaded, result, baseline, _, lang)
        st.subheader(_("Posts per area"))
        st.dataframe(_table(loaded, result, baseline, _), hide_index=True, key="plan_table")
        _show_metrics(result, _, lang)
        add_sensitivity(result)
        _show_priority(loaded, result, _)
        _show_ranges(loaded, result, _, lang)
        for weight in result.ranges or []:
            if weight.weight in slots:
                # Beside the slider: how far it can move before any post moves.
                words = _("Same plan from %(low)s to %(high)s") if weight.high.outside is not None else \
                    _("Same plan from %(low)s to at least %(high)s (as far as searched)")
                slots[weight.weight].caption(words % {"low": n.decimal(weight.low.inside, 3),
                                                      "high": n.decimal(weight.high.inside, 3)})
        _exports(loaded, result, _, lang)
    # The tests and benchmarks read these: the library's solve, and the whole run of this page.
    state["timings"] = {**result.seconds, "page": time.perf_counter() - started}
    state["plan_posts"] = None if result.plan is None else result.plan.posts()


if __name__ == "__main__":
    main(sys.argv[1:])
