"""The multi-year memo (summary.md) and report say what a plan is, in the reader's language (issue 14 audit, 1 and 5).

A plan is proven optimal, accepted within a certified gap (the memo and report then give the best bound
and the gap), or given (``allocator project``: ``given`` or ``status quo``), when no solver ran and the
yearly rules the plan breaks are listed. The Danish memo carries no English words or machine notation.

The instances are the synthetic worked example of docs/mathematics.md (docs/examples/horizon-two-leaves.yaml)
and small variants of it made here; every figure in them is made up.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.io.horizon import load_horizon_instance
from allocator.reports.document import build_document
from allocator.results.horizon import project_plan, solve_horizon
from allocator.results.verify import Breach
from allocator.writers.horizon import horizon_summary
from allocator.writers.language import MemoNumbers, breach_text, status_text
from allocator.writers.report import report_html
from tests.conftest import make_model
from tests.test_horizon import EXAMPLE, _load, _stopped_with_a_gap, tiny_horizons, tiny_models
from tests.test_report import _pdf_text

#: English words that must not stand in a Danish memo (field names, the verifier's words, status words).
ENGLISH = ["coverage_cost", "posts_cost", "specialty", "posts add up", "not the total", "given", "best bound", "gap"]

#: The plan of ``_breaking``: 2021 gives A 4 posts and B 0 (total 3, A max 2, B min 1, max_change 1); 2022 A 2.
BREAKING_PLAN = "area,specialty,year,posts\nA,gp,2021,4\nB,gp,2021,0\nA,gp,2022,2\nB,gp,2022,1\n"


def _invoke(*arguments: str) -> str:
    result = CliRunner().invoke(main, list(arguments))
    assert result.exit_code == 0, result.output
    return result.output


def _example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def _breaking(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The worked example with a cap on A, a floor on the region's B, max_change 1; and a plan that breaks all four."""
    data = _example()
    data["bounds"] = [{"area": "A", "specialty": "gp", "max": 2}, {"area": "B", "min": 1}]
    instance = tmp_path / "breaking.yaml"
    instance.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    model = tmp_path / "model.yaml"
    model.write_text("name: steady\nstability: {max_change: 1}\n", encoding="utf-8")
    plan = tmp_path / "plan.csv"
    plan.write_text(BREAKING_PLAN, encoding="utf-8")
    return instance, model, plan


def _english_words(text: str) -> list[str]:
    return [word for word in ENGLISH if re.search(rf"\b{re.escape(word)}\b", text, flags=re.I)]


# --- the broken rules as figures ----------------------------------------------------------------------

def test_broken_rules_are_found_as_figures_and_say_the_verifiers_words(tmp_path: Path) -> None:
    instance, model_path, plan_path = _breaking(tmp_path)
    out = tmp_path / "o"
    output = _invoke("project", str(instance), "--plan", str(plan_path), "-m", str(model_path), "-o", str(out))
    document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    breaches = document["metadata"]["rule_breaches"]
    # Worked out by hand from BREAKING_PLAN: 4 posts against the total 3; A's 4 over its max 2; B's 0 under
    # its min 1 (a bound on all specialties); A's change 4 - 2 = +2 over max_change 1 (B's -1 is allowed);
    # in 2022 A's change back, 2 - 4 = -2 (B's +1 is allowed).
    assert breaches == [
        {"kind": "total", "year": 2021, "area": None, "specialty": "gp", "value": 4.0, "limit": 3.0},
        {"kind": "min", "year": 2021, "area": "B", "specialty": None, "value": 0.0, "limit": 1.0},
        {"kind": "max", "year": 2021, "area": "A", "specialty": "gp", "value": 4.0, "limit": 2.0},
        {"kind": "max_change", "year": 2021, "area": "A", "specialty": "gp", "value": 2.0, "limit": 1.0},
        {"kind": "max_change", "year": 2022, "area": "A", "specialty": "gp", "value": -2.0, "limit": 1.0}]
    # The verifier's English lines (plan.json's broken_rules and the English console) are the same rules.
    rules = [f"{b['year']}: " + Breach(b["kind"], b["area"], b["specialty"], b["value"], b["limit"]).text
             for b in breaches]
    assert document["metadata"]["broken_rules"] == rules
    assert rules[0] == "2021: specialty gp: posts add up to 4, not the total 3"
    assert "warning: the plan breaks a yearly rule: 2021: area A (gp): 4 posts, over its max 2" in output


def _expected_breaches(data: dict[str, Any], model: Any, posts: dict[tuple[str, int], int]) -> list[tuple[Any, ...]]:
    """The broken totals, bounds and max_change of a tiny horizon's plan, counted here from the instance's data."""
    first = data["horizon"]["first_year"]
    found: list[tuple[Any, ...]] = []
    previous = {row["area"]: row["posts"] for row in data.get("previous", [])}
    for year in range(first, first + data["horizon"]["plan_years"]):
        here = {leaf: posts[(leaf, year)] for leaf in ("A", "B")}
        total = data["specialties"][0]["totals"][year]
        if sum(here.values()) != total:
            found.append(("total", year, None, "gp", sum(here.values()), total))
        for bound in data.get("bounds", []):
            if bound.get("year", year) != year:
                continue
            if "min" in bound and here[bound["area"]] < bound["min"]:
                found.append(("min", year, bound["area"], "gp", here[bound["area"]], bound["min"]))
            if "max" in bound and here[bound["area"]] > bound["max"]:
                found.append(("max", year, bound["area"], "gp", here[bound["area"]], bound["max"]))
        limit = model.stability.max_change
        for leaf in ("A", "B"):
            if limit is not None and leaf in previous and abs(here[leaf] - previous[leaf]) > limit:
                found.append(("max_change", year, leaf, "gp", here[leaf] - previous[leaf], limit))
        previous = here
    return sorted(((kind, year, area, sp, float(v), float(lim)) for kind, year, area, sp, v, lim in found), key=repr)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tiny_horizons(second_specialty=False), model=tiny_models(),  # the count below knows gp only
       draws=st.lists(st.integers(0, 4), min_size=4, max_size=4))
def test_breaches_agree_with_a_count_from_the_data(data: dict[str, Any], model: Any, draws: list[int]) -> None:
    horizon = _load(data)
    first, years = data["horizon"]["first_year"], data["horizon"]["plan_years"]
    posts = {(leaf, first + k): draws[2 * k + j] for k in range(years) for j, leaf in enumerate(("A", "B"))}
    plan = project_plan(horizon, model, {(leaf, "gp", year): float(v) for (leaf, year), v in posts.items()})
    found = sorted(((b["kind"], b["year"], b["area"], b["specialty"], b["value"], b["limit"])
                    for b in plan.metadata["rule_breaches"]), key=repr)
    assert found == _expected_breaches(data, model, posts)
    assert len(plan.metadata["broken_rules"]) == len(found)


def test_a_plan_that_keeps_the_rules_has_no_breaches() -> None:
    horizon = load_horizon_instance(EXAMPLE).value
    posts = {("A", "gp", 2021): 2.0, ("B", "gp", 2021): 1.0, ("A", "gp", 2022): 2.0, ("B", "gp", 2022): 1.0}
    plan = project_plan(horizon, make_model(name="m"), posts)
    assert plan.metadata["rule_breaches"] == [] and plan.metadata["broken_rules"] == []


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["2021: General practice: the posts add up to 4, not the total 3",
            "2021: Area B (all specialties): 0 posts, under the minimum of 1",
            "2021: Area A (General practice): 4 posts, over the maximum of 2",
            "2021: Area A (General practice): the posts change by +2 against the year before, more than the largest "
            "change allowed, 1"]),
    ("da", ["2021: General practice: forløbene giver i alt 4, men totalen er 3",
            "2021: Area B (alle specialer): 0 forløb, under minimummet på 1",
            "2021: Area A (General practice): 4 forløb, over maksimummet på 2",
            "2021: Area A (General practice): forløbene ændres med +2 i forhold til året før, mere end den største "
            "tilladte ændring på 1"]),
])
def test_broken_rules_are_worded_in_the_language_with_names(language: str, expected: list[str]) -> None:
    records = [{"kind": "total", "year": 2021, "area": None, "specialty": "gp", "value": 4.0, "limit": 3.0},
               {"kind": "min", "year": 2021, "area": "B", "specialty": None, "value": 0.0, "limit": 1.0},
               {"kind": "max", "year": 2021, "area": "A", "specialty": "gp", "value": 4.0, "limit": 2.0},
               {"kind": "max_change", "year": 2021, "area": "A", "specialty": "gp", "value": 2.0, "limit": 1.0}]
    names = {"A": "Area A", "B": "Area B"}
    said = [breach_text(r, language, names.get(r["area"] or ""), "General practice" if r["specialty"] else None)
            for r in records]
    assert said == expected
    # Danish notation: a decimal comma, thousands points and a real minus sign.
    half = {"kind": "max_change", "year": 2022, "area": "A", "specialty": "gp", "value": -1500.5, "limit": 1000}
    assert "ændres med \u22121.500,5 " in breach_text(half, "da") and "på 1.000" in breach_text(half, "da")
    assert "change by -1500.5 " in breach_text(half, "en")


def test_given_and_status_quo_are_said_in_the_language() -> None:
    assert status_text("given", "da") == "egen plan" and status_text("status quo", "da") == "status quo"
    assert status_text("given", "en") == "given plan" and status_text("status quo", "en") == "status quo"


# --- the Danish memo ---------------------------------------------------------------------------------

def test_the_danish_memo_has_no_english_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance, model_path, plan_path = _breaking(tmp_path)
    _invoke("project", str(instance), "--plan", str(plan_path), "-m", str(model_path), "-o", str(tmp_path / "given"),
            "--lang", "da")
    _invoke("project", str(EXAMPLE), "--status-quo", "-o", str(tmp_path / "quo"), "--lang", "da")
    _stopped_with_a_gap(monkeypatch, 1.0)
    _invoke("solve", str(EXAMPLE), "-o", str(tmp_path / "gap"), "--time-limit", "5", "--accept-gap", "0.5",
            "--lang", "da", "-q")
    for name in ("given", "quo", "gap"):
        summary = (tmp_path / name / "summary.md").read_text(encoding="utf-8")
        assert _english_words(summary) == [], (name, summary)
        assert "Målfunktion " in summary and "omkostning for dækning" in summary
    given = (tmp_path / "given" / "summary.md").read_text(encoding="utf-8")
    assert "Status: **egen plan**" in given and "Ingen løser har kørt" in given
    assert "## Årlige regler, som planen bryder" in given
    assert "- 2021: gp: forløbene giver i alt 4, men totalen er 3" in given
    assert "- 2021: A (gp): forløbene ændres med +2 i forhold til året før" in given
    quo = (tmp_path / "quo" / "summary.md").read_text(encoding="utf-8")
    assert "Status: **status quo**" in quo and "Den overholder alle årlige regler" in quo
    # The certified gap in Danish notation: the bound to six digits with a decimal comma, the gap as %.3g.
    document = json.loads((tmp_path / "gap" / "plan.json").read_text(encoding="utf-8"))
    gap = (tmp_path / "gap" / "summary.md").read_text(encoding="utf-8")
    bound = f"{document['best_bound']:.6g}".replace(".", ",")
    assert f"Status: **gab ≤ 0,5** (bedste grænse {bound}, attesteret gab " \
           f"{format(document['gap'], '.3g').replace('.', ',')})" in gap
    assert repr(document["best_bound"]) not in gap and repr(document["objective"]) not in gap


def test_the_objective_line_danish_and_english(tmp_path: Path) -> None:
    horizon = load_horizon_instance(EXAMPLE).value
    plan = solve_horizon(horizon, make_model(name="m"))
    danish = horizon_summary(horizon, plan, "da")
    english = horizon_summary(horizon, plan, "en")
    da = MemoNumbers("da")
    assert (f"Målfunktion {da.figure(plan.objective)} = omkostning for dækning {da.figure(plan.coverage_cost)} + "
            f"omkostning for forløb {da.figure(plan.posts_cost)}.") in danish
    # English keeps plan.json's full precision, in words rather than field names.
    assert (f"Objective {plan.objective!r} = coverage cost {plan.coverage_cost!r} + posts cost "
            f"{plan.posts_cost!r}.") in english
    assert "coverage_cost" not in english and "posts_cost" not in english


def test_the_memo_names_the_specialty(tmp_path: Path) -> None:
    data = _example()
    data["specialties"][0]["name"] = "Almen medicin"
    path = tmp_path / "named.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    _invoke("project", str(path), "--status-quo", "-o", str(tmp_path / "o"), "--lang", "da")
    summary = (tmp_path / "o" / "summary.md").read_text(encoding="utf-8")
    rows = [line for line in summary.splitlines() if line.startswith("| ") and not line.startswith("| område")
            and not line.startswith("| region")]
    assert rows and all(line.split(" | ")[1] == "Almen medicin" for line in rows), rows


def _myopic_fails(tmp_path: Path) -> tuple[Path, Path]:
    """A horizon with a plan, whose myopic plan has none in 2022.

    Totals 4 then 12, A at most 6 in 2022, max_change 4. Alone, 2021 gives A 3 and B 1 (the population
    split 3:1 of the total 4), and then B can reach only 5 in 2022: 6 + 5 < 12. The horizon gives B 2 in
    2021, so that 6 + 6 = 12.
    """
    data = _example()
    data["specialties"][0].pop("total", None)
    data["specialties"][0]["totals"] = {2021: 4, 2022: 12}
    data["bounds"] = [{"area": "A", "specialty": "gp", "max": 6, "year": 2022}]
    path = tmp_path / "myopic.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    model = tmp_path / "model.yaml"
    model.write_text("name: steady\nstability: {max_change: 4}\n", encoding="utf-8")
    return path, model


def test_a_myopic_plan_without_a_solution_is_said_in_danish(tmp_path: Path) -> None:
    path, model = _myopic_fails(tmp_path)
    _invoke("solve", str(path), "-m", str(model), "-o", str(tmp_path / "da"), "--lang", "da", "-q")
    document = json.loads((tmp_path / "da" / "plan.json").read_text(encoding="utf-8"))
    assert document["myopic"]["unavailable"].startswith("plan year 2022 has no plan on its own: ")
    assert document["myopic"]["unavailable_year"] == 2022
    summary = (tmp_path / "da" / "summary.md").read_text(encoding="utf-8")
    assert "- den kortsigtede plan: ingen; planår 2022 har ingen plan for sig med etårsmodellen" in summary
    assert "plan year" not in summary and "has no plan" not in summary and _english_words(summary) == []


def test_project_speaks_danish_on_request(tmp_path: Path) -> None:
    instance, model_path, plan_path = _breaking(tmp_path)
    output = _invoke("project", str(instance), "--plan", str(plan_path), "-m", str(model_path),
                     "-o", str(tmp_path / "o"), "--lang", "da")
    assert "advarsel: planen bryder en årlig regel: 2021: gp: forløbene giver i alt 4, men totalen er 3" in output
    assert "Fremskrivning af horizon-two-leaves (egen plan): indbyggerår uden en speciallæge " in output
    english = _invoke("project", str(EXAMPLE), "--status-quo", "-o", str(tmp_path / "e"))
    assert "Projection of horizon-two-leaves (status quo): inhabitant-years without a specialist " in english
    assert "# Multi-year plan: horizon-two-leaves" in (tmp_path / "e" / "summary.md").read_text(encoding="utf-8")
    # Without --lang the memo follows the instance's language:.
    data = _example()
    data["language"] = "da"
    path = tmp_path / "da.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    _invoke("project", str(path), "--status-quo", "-o", str(tmp_path / "d"))
    assert "# Flerårig plan: horizon-two-leaves" in (tmp_path / "d" / "summary.md").read_text(encoding="utf-8")


# --- the report --------------------------------------------------------------------------------------

PROVEN = {"en": "Made by allocator from verified, proven-optimal plans",
          "da": "Lavet af allocator ud fra verificerede planer, der er bevist optimale"}
NOT_PROVEN = {"en": "Made by allocator; not every plan here is proven optimal",
              "da": "Lavet af allocator; ikke alle planer her er bevist optimale"}


def _report(folder: Path, instance: Path, language: str) -> str:
    document = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    return report_html(build_document(load_horizon_instance(instance).value.instance, plans=[document]), language)


def _status(page: str) -> str:
    found = re.search(r'<p class="status">(.*?)</p>', page, flags=re.S)
    assert found is not None
    return html.unescape(found.group(1))


@pytest.mark.parametrize("language", ["en", "da"])
def test_the_report_of_a_proven_optimal_plan(tmp_path: Path, language: str) -> None:
    _invoke("solve", str(EXAMPLE), "-o", str(tmp_path / "o"), "-q")
    page = _report(tmp_path / "o", EXAMPLE, language)
    assert PROVEN[language] in page and NOT_PROVEN[language] not in page
    assert _status(page) == {
        "en": "Solver status: optimal. The solver proved this plan optimal, and allocator verified every yearly "
              "rule and the projection.",
        "da": "Løserens status: optimal. Løseren har bevist, at planen er optimal, og allocator har efterprøvet "
              "hver årlig regel og fremskrivningen."}[language]


@pytest.mark.parametrize("language", ["en", "da"])
def test_the_report_of_a_plan_within_a_certified_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     language: str) -> None:
    _stopped_with_a_gap(monkeypatch, 1.0)
    _invoke("solve", str(EXAMPLE), "-o", str(tmp_path / "o"), "--time-limit", "5", "--accept-gap", "0.5", "-q")
    document = json.loads((tmp_path / "o" / "plan.json").read_text(encoding="utf-8"))
    page = _report(tmp_path / "o", EXAMPLE, language)
    assert NOT_PROVEN[language] in page and PROVEN[language] not in page
    status = _status(page)

    def said(value: float, spec: str) -> str:  # Python's English figures, with Danish separators in Danish
        text = format(value, spec)
        return text if language == "en" else text.replace(".", ",")

    objective, bound = said(document["objective"], ".6g"), said(document["best_bound"], ".6g")
    gap = said(document["gap"], ".3g")
    if language == "en":
        assert status.startswith("Solver status: gap ≤ 0.5. The solver stopped before it proved this plan optimal")
        assert f"Its objective is {objective} and the best bound {bound}" in status
        assert f"so the certified gap is {gap}." in status
    else:
        assert status.startswith("Løserens status: gab ≤ 0,5. Løseren stoppede, før den havde bevist")
        assert f"Dens målfunktion er {objective} og den bedste grænse {bound}" in status
        assert f"så det attesterede gab er {gap}." in status
    assert repr(document["best_bound"]) not in page


@pytest.mark.parametrize("language", ["en", "da"])
def test_the_report_of_a_given_plan_lists_the_rules_it_breaks(tmp_path: Path, language: str) -> None:
    instance, model_path, plan_path = _breaking(tmp_path)
    _invoke("project", str(instance), "--plan", str(plan_path), "-m", str(model_path), "-o", str(tmp_path / "o"))
    page = _report(tmp_path / "o", instance, language)
    assert NOT_PROVEN[language] in page and PROVEN[language] not in page
    assert _status(page) == {
        "en": "No solver ran: this plan was given (made outside allocator) and is projected as it is. allocator "
              "checked it against the yearly rules: it breaks 5, listed below.",
        "da": "Ingen løser har kørt: planen er en egen plan (lavet uden for allocator) og er fremskrevet, som den er. "
              "allocator har holdt den op mod de årlige regler: den bryder 5 af dem; de står nedenfor."}[language]
    listed = re.findall(r"<li>([^<]*)</li>", page[page.index('<ul class="breaches">'):].split("</ul>")[0])
    assert listed == {
        "en": ["2021: gp: the posts add up to 4, not the total 3", "2021: B (all specialties): 0 posts, under the "
               "minimum of 1", "2021: A (gp): 4 posts, over the maximum of 2", "2021: A (gp): the posts change by "
               "+2 against the year before, more than the largest change allowed, 1", "2022: A (gp): the posts change "
               "by -2 against the year before, more than the largest change allowed, 1"],
        "da": ["2021: gp: forløbene giver i alt 4, men totalen er 3", "2021: B (alle specialer): 0 forløb, under "
               "minimummet på 1", "2021: A (gp): 4 forløb, over maksimummet på 2", "2021: A (gp): forløbene ændres "
               "med +2 i forhold til året før, mere end den største tilladte ændring på 1", "2022: A (gp): forløbene "
               "ændres med \u22122 i forhold til året før, mere end den største tilladte ændring på 1"]}[language]
    assert "Solver status: given" not in page and "Løserens status" not in page


@pytest.mark.parametrize("language", ["en", "da"])
def test_the_report_of_the_status_quo(tmp_path: Path, language: str) -> None:
    _invoke("project", str(EXAMPLE), "--status-quo", "-o", str(tmp_path / "o"))
    page = _report(tmp_path / "o", EXAMPLE, language)
    assert NOT_PROVEN[language] in page and PROVEN[language] not in page
    assert _status(page) == {
        "en": "No solver ran: this plan is the status quo, last year's posts repeated in every plan year, projected "
              "as it is. allocator checked it against the yearly rules: it keeps every one.",
        "da": "Ingen løser har kørt: planen er status quo, sidste års forløb gentaget i hvert planår, fremskrevet som "
              "de er. allocator har holdt den op mod de årlige regler: den overholder dem alle."}[language]
    assert '<ul class="breaches">' not in page


def test_allocator_report_prints_the_broken_rules_in_the_pdf(tmp_path: Path) -> None:
    instance, model_path, plan_path = _breaking(tmp_path)
    out = tmp_path / "o"
    _invoke("project", str(instance), "--plan", str(plan_path), "-m", str(model_path), "-o", str(out))
    _invoke("report", str(out), "--instance", str(instance), "--lang", "da")
    text = " ".join(_pdf_text(out / "report.pdf").split())
    assert "Ingen løser har kørt" in text and "Årlige regler, som planen bryder" in text
    assert "2021: gp: forløbene giver i alt 4, men totalen er 3" in text


def test_a_given_plan_json_without_rule_breaches_still_shows_its_broken_rules(tmp_path: Path) -> None:
    """A plan.json from before ``rule_breaches`` has the verifier's English lines only: they are shown as they are."""
    instance, model_path, plan_path = _breaking(tmp_path)
    _invoke("project", str(instance), "--plan", str(plan_path), "-m", str(model_path), "-o", str(tmp_path / "o"))
    document = json.loads((tmp_path / "o" / "plan.json").read_text(encoding="utf-8"))
    del document["metadata"]["rule_breaches"]
    page = report_html(build_document(load_horizon_instance(instance).value.instance, plans=[document]), "en")
    assert "it breaks 5, listed below." in _status(page)
    assert "<li>2021: specialty gp: posts add up to 4, not the total 3</li>" in page


@pytest.mark.parametrize(("statuses", "proven"), [
    ({"optimal": 3, "infeasible": 1, "time-limit": 1}, True),  # scenarios with no plan claim nothing
    ({"optimal": 3, "gap ≤ 0.01": 1}, False),
])
def test_the_report_claims_proven_optimal_plans_only_when_every_plan_is(statuses: dict[str, int],
                                                                       proven: bool) -> None:
    from allocator.reports.document import Document, SweepPart

    sweep = SweepPart(scenarios=sum(statuses.values()), statuses=statuses, models=["m"], combine="grid", draws=None,
                      multi_year=True, plan_years=[2021], coverage_year=2021, axes=[])
    assert Document(instance="i", year=None, language=None, sweeps=[sweep]).proven_optimal is proven
    assert Document(instance="i", year=None, language=None).proven_optimal
