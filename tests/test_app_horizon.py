"""The what-if app on a multi-year instance (Streamlit's AppTest drives allocator/app/page.py headless).

The page on the bundled Danish horizon instance must give the plan `allocator solve` gives for the
exported model, follow the assumptions it scales exactly as a re-solve of the scaled instance does,
show a located diagnosis when no plan exists, and speak the instance's language.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from allocator.cli import main
from allocator.io.horizon import load_horizon_instance
from allocator.io.loading import load_model
from allocator.io.schemas import CellFacts, FactChange
from allocator.results.horizon import solve_horizon
from tests.conftest import MODELS, ROOT

if os.environ.get("CI"):  # the lock holds the app extra: CI must not pass by skipping the app's tests
    import streamlit  # noqa: F401
pytest.importorskip("streamlit", reason="the app extra (pip install 'allocator[app]') is not installed")

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.test_app import _downloads, _text, run_page  # noqa: E402

HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
POPULATION, NEED = MODELS / "population.yaml", MODELS / "need-weighted.yaml"


def _app(monkeypatch: pytest.MonkeyPatch, *arguments: str) -> AppTest:
    """The page on the Danish horizon instance with the population and need-weighted models (population first)."""
    return run_page(monkeypatch, HORIZON, [POPULATION, NEED], *arguments)


def test_a_coverage_weight_moved_gives_the_plan_solve_gives_with_the_exported_model(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    offered = _downloads(monkeypatch)
    app = _app(monkeypatch, "--lang", "en")
    horizon = load_horizon_instance(HORIZON).value
    before = app.session_state["plan_posts"]
    assert before == solve_horizon(horizon, load_model(POPULATION).value).posts()  # the controls start at the model
    app.sidebar.slider(key="coverage_weight").set_value(0.0).run()
    assert not app.exception
    after = app.session_state["plan_posts"]
    assert after != before, "no coverage weight moved no post"
    # The exported model gives the same plan through `allocator solve`, and the same plan.csv and projection.csv.
    exported = offered["population-what-if.yaml"]
    exported = exported.decode("utf-8") if isinstance(exported, bytes) else exported
    assert yaml.safe_load(exported)["coverage_weight"] == 0
    (tmp_path / "model.yaml").write_text(exported, encoding="utf-8")
    result = CliRunner().invoke(main, ["solve", str(HORIZON), "--model", str(tmp_path / "model.yaml"),
                                       "--out", str(tmp_path / "out"), "--quiet", "--no-xlsx"])
    assert result.exit_code == 0, result.output
    for name in ("plan.csv", "projection.csv"):
        made = offered[name]()
        assert (made.encode("utf-8") if isinstance(made, str) else made) == (tmp_path / "out" / name).read_bytes()
    # The table shows the plan, year by year; the figures side by side are the plan's own.
    table = app.dataframe[0].value
    nord = table[table["Area"] == "Region Nordjylland"].iloc[0]
    assert [nord[str(year)] for year in horizon.plan_calendar_years] == \
        [after[("Nordjylland", "almen-medicin", year)] for year in horizon.plan_calendar_years]
    plan = solve_horizon(horizon, load_model(tmp_path / "model.yaml").value)
    figures = app.table[0].value
    assert list(figures.index) == ["population", "population-what-if"]
    assert figures.loc["population-what-if", "Inhabitant-years without a specialist"] == \
        f"{round(plan.projection.inhabitant_years_without):,}"
    shown = {metric.label: metric for metric in app.metric}
    assert shown["Inhabitant-years without a specialist"].value == f"{round(plan.projection.inhabitant_years_without):,}"
    assert shown["Status"].value == "optimal"


def test_lower_fill_rates_give_the_plan_of_the_scaled_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, "--lang", "en")
    app.sidebar.slider(key="fill_factor").set_value(0.8).run()
    assert not app.exception
    horizon = load_horizon_instance(HORIZON).value
    scaled = dataclasses.replace(horizon, cells={
        cell: CellFacts(facts.headcount, facts.exit_rate, min(1.0, 0.8 * facts.fill_rate), facts.retention)
        for cell, facts in horizon.cells.items()}, changes=(FactChange("fill_rate", factor=0.8, high=1.0),))
    plan = solve_horizon(scaled, load_model(POPULATION).value)
    assert app.session_state["plan_posts"] == plan.posts()
    shown = {metric.label: metric for metric in app.metric}
    assert shown["Inhabitant-years without a specialist"].value == f"{round(plan.projection.inhabitant_years_without):,}"
    # Fewer graduates: more inhabitant-years without a specialist than the baseline, shown as a rise.
    assert shown["Inhabitant-years without a specialist"].delta.startswith("+")
    # The maps' year: 2030 (the seeds' goal year) until the slider moves.
    assert app.session_state["year"] == 2030
    app.select_slider(key="year").set_value(2032).run()
    assert not app.exception and "Coverage in 2032 (%)" in app.dataframe[0].value.columns


def test_a_total_no_plan_can_meet_shows_its_diagnosis(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch, "--lang", "en")
    app.sidebar.number_input(key="total:almen-medicin:2024").set_value(380.0).run()
    assert not app.exception
    text = _text(app)
    assert "No plan meets all these settings." in text and "plan year 2024" in text
    assert "raise the maximum for Region Nordjylland, Almen medicin from 42 to 44 posts" in text
    assert app.session_state["plan_posts"] is None


def test_the_page_speaks_the_instances_language(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(monkeypatch)  # the instance says language: da
    labels = [metric.label for metric in app.metric]
    assert "Indbyggerår uden en speciallæge" in labels and "Løst og verificeret på" in labels
    assert "Dækning i 2030 (%)" in app.dataframe[0].value.columns
    app.radio(key="lang").set_value("en").run()
    assert "Inhabitant-years without a specialist" in [metric.label for metric in app.metric]


def test_allocator_app_takes_a_multi_year_instance_and_refuses_a_bad_one(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    import allocator.app.server as server

    served: list[Any] = []
    monkeypatch.setattr(server, "serve", lambda *arguments: served.append(arguments))
    ok = CliRunner().invoke(main, ["app", str(HORIZON)])
    assert ok.exit_code == 0, ok.output
    assert served and served[0][0] == HORIZON
    data = yaml.safe_load(HORIZON.read_text(encoding="utf-8"))
    data["horizon"]["plan_years"] = 20
    data.pop("geometry")  # a path relative to the bundled instance
    bad = tmp_path / "instance.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    refused = CliRunner().invoke(main, ["app", str(bad)])
    assert refused.exit_code == 2 and "plan_years" in refused.output and "Traceback" not in refused.output
    assert len(served) == 1
    # a careless file is served, with the warnings solve gives, on the terminal of whoever starts the app
    data["horizon"]["plan_years"] = 5
    data["areas"][0]["population_growth"] = 0.4
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    warned = CliRunner().invoke(main, ["app", str(bad)])
    solved = CliRunner().invoke(main, ["validate", str(bad)])
    assert warned.exit_code == 0 and len(served) == 2, warned.output
    warnings = [line for line in warned.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [line for line in solved.stderr.splitlines() if line.startswith("warning: ")]
    assert any("0.4 means 40 % a year" in line for line in warnings)


def test_the_page_shows_the_warnings_the_terminal_got(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The page shows the warnings the terminal got: on the bundled instance, the two columns neither model uses;
    on a careless copy (growth 0.4 meant as 0.4 %, and -0.07), those and the two growth warnings, in file order."""
    from tests.test_app import _terminal_warnings

    models = ["-m", str(POPULATION), "-m", str(NEED)]
    printed = _terminal_warnings(monkeypatch, str(HORIZON), *models)
    assert len(printed) == 1 and "'gps', 'closed_practice_share'" in printed[0], printed
    assert [warning.value for warning in _app(monkeypatch, "--lang", "en").warning] == printed
    data = yaml.safe_load(HORIZON.read_text(encoding="utf-8"))
    data.pop("geometry")  # a path relative to the bundled instance
    data["areas"][0]["population_growth"] = 0.4
    data["areas"][1]["population_growth"] = -0.07
    careless = tmp_path / "instance.yaml"
    careless.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    printed = _terminal_warnings(monkeypatch, str(careless))
    assert len(printed) == 2 and "0.4 means 40 % a year" in printed[0] and "-7 % a year" in printed[1], printed
    app = run_page(monkeypatch, careless, [], "--lang", "en")
    assert [warning.value for warning in app.warning] == printed
    assert [expander.label for expander in app.expander if "input files" in expander.label] == \
        ["Warnings about the input files (2)"]
