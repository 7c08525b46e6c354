"""comparison.md and sensitivity.md follow --lang, else the instance's `language:`, as summary.md does.

The Danish figures are checked against the run's own JSON/CSV, turned into Danish notation here by swapping
the separators of Python's English formatting (not through Babel, which the memos use).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.writers.language import MemoNumbers
from tests.conftest import MODELS, ROOT

KOMMUNER = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
THREE_MODELS = ["-m", str(MODELS / "population.yaml"), "-m", str(MODELS / "need-weighted.yaml"),
                "-m", str(MODELS / "japan-style.yaml")]


def danish(value: float, spec: str) -> str:
    """``format(value, spec)`` with the Danish separators: ``1.234,5``, ``44,9 %``, a real minus sign."""
    grouped = spec.replace("+", "")
    grouped = grouped if "," in grouped else "," + grouped
    text = format(abs(value), grouped).replace(",", "\0").replace(".", ",").replace("\0", ".")
    text = text[:-1] + "\xa0%" if text.endswith("%") else text
    return ("\u2212" if value < 0 else "+" if value >= 0 and "+" in spec else "") + text


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def comparisons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Danish instance compared under three policies: by default (its language, Danish) and with --lang en."""
    root = tmp_path_factory.mktemp("memos")
    _invoke("compare", str(KOMMUNER), *THREE_MODELS, "-o", str(root / "da"))
    _invoke("compare", str(KOMMUNER), *THREE_MODELS, "-o", str(root / "en"), "--lang", "en")
    return root


def test_the_danish_notation_of_format_specs() -> None:
    da, en = MemoNumbers("da"), MemoNumbers("en")
    cases = [(-3.0, "+g"), (2.0, "+g"), (0.0, "+g"), (0.0585, ".4f"), (27.03, ".4g"), (1234.5, ",.0f"),
             (0.449, ".1%"), (0.1234, ".2%"), (28.78213, ".3f"), (1776.923, ".1f"), (7, "d"),
             (0.575, ".0%")]  # 57% in English; Babel alone would round the float to 58 %
    for value, spec in cases:
        assert en.formatted(value, spec) == format(value, spec)
        assert da.formatted(value, spec) == danish(value, spec), (value, spec)
    assert da.formatted(1.5e7, ".4g") == "1.5e+07"  # exponent notation is left as Python writes it


def test_comparison_md_is_danish_for_the_danish_instance(comparisons: Path) -> None:
    memo = (comparisons / "da" / "comparison.md").read_text(encoding="utf-8")
    document = json.loads((comparisons / "da" / "comparison.json").read_text(encoding="utf-8"))
    assert memo.startswith("# dk-2019-almen-medicin-kommuner: 3 politikker side om side\n")
    for heading in ("## Politikkerne", "## Lighedsmål", "## Forløb pr. område (alle specialer)",
                    "## Hvad der er forskelligt, og hvorfor"):
        assert f"\n{heading}\n" in memo
    assert "| model | forløb pr. 100.000, maks./min. | Gini af forløb pr. 100.000 |" in memo
    # The model descriptions are the models' own (English) text, and docs/formats.md's section keeps its name.
    for english in ("policies side by side", "## Equity metrics", "What differs", "its target is", "a post short here"):
        assert english not in memo
    for model in document["models"]:
        metrics = model["metrics"]
        ratio = metrics["posts_per_100k_max_min_ratio"]
        assert (f"| {model['name']} | {'ubegrænset (et område får 0)' if ratio is None else danish(ratio, '.3f')} "
                f"| {danish(metrics['posts_per_100k_gini'], '.4f')} |") in memo
        assert (f"| {danish(metrics['underserved_share'], '.1%')} | "
                f"{danish(metrics['largest_deviation_from_target'], '.2f')} (") in memo
        assert (f"| {danish(metrics['objective_own'], '.4g')} | "
                f"{danish(metrics['objective_under_reference'], '.4g')} |") in memo


def test_comparison_md_explains_in_danish_with_the_csvs_figures(comparisons: Path) -> None:
    memo = (comparisons / "da" / "comparison.md").read_text(encoding="utf-8")
    with (comparisons / "da" / "comparison.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    posts: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:  # one specialty: one row per area
        for name in ("population", "need-weighted", "japan-style"):
            posts[name][row["area_name"]] = float(row[name])
    for name in ("need-weighted", "japan-style"):
        gained = sum(max(0.0, posts[name][a] - posts["population"][a]) for a in posts[name])
        assert f"**{name}** flytter {danish(gained, 'g')} forløb i forhold til **population** (" in memo
        moved = [a for a in posts[name] if posts[name][a] != posts["population"][a]]
        assert moved
        for area in moved:
            before, after = posts["population"][area], posts[name][area]
            assert (f"\n- {area} {danish(after - before, '+g')} ({danish(before, 'g')} → {danish(after, 'g')}): "
                    "dets mål er ") in memo
    losers = [a for a in posts["japan-style"] if posts["japan-style"][a] < posts["population"][a] - 1]
    assert losers and all(f"\n- {area} \u2212" in memo for area in losers)  # a real minus sign, not a hyphen
    for row in rows[:30]:
        figures = [row["previous"]] + [row[name] for name in ("population", "need-weighted", "japan-style")]
        assert f"| {row['area_name']}" in memo and " | ".join(danish(float(f), "g") for f in figures) in memo


def test_comparison_md_in_english_on_request(comparisons: Path) -> None:
    memo = (comparisons / "en" / "comparison.md").read_text(encoding="utf-8")
    assert memo.startswith("# dk-2019-almen-medicin-kommuner: 3 policies side by side\n")
    assert "\n## What differs, and why\n" in memo and "politikker" not in memo
    assert "**need-weighted** moves " in memo and " posts compared with **population** (" in memo
    # The memo's language changes nothing else: the CSV and JSON are the same bytes.
    for name in ("comparison.csv", "comparison.json"):
        assert (comparisons / "da" / name).read_bytes() == (comparisons / "en" / name).read_bytes()


HORIZON = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"


def test_the_multi_year_comparison_md_is_danish_for_the_danish_instance(tmp_path: Path) -> None:
    """The multi-year comparison.md of the Danish horizon instance: Danish sentences and headers, its figures those
    of comparison.json in Danish notation (the English memo is tests/test_horizon_compare.py's)."""
    _invoke("compare", str(HORIZON), "-m", str(MODELS / "population.yaml"), "-m", str(MODELS / "need-weighted.yaml"),
            "-o", str(tmp_path))
    memo = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    document = json.loads((tmp_path / "comparison.json").read_text(encoding="utf-8"))
    first, last = document["years"]["first"], document["years"]["last_outlook"]
    assert memo.startswith(f"# dk-2021-almen-medicin-horizon: 2 politikker over {first}–{last}\n")
    for heading in ("## Politikkerne", "## Dækning og forstyrrelse", "## Dækning pr. videreuddannelsesregion",
                    "## Året, hvor hvert område når sit mål", "## Forløb pr. videreuddannelsesregion og år",
                    "## Hvad der er forskelligt"):
        assert f"\n{heading}\n" in memo
    assert "| model | status | indbyggerår uden en speciallæge | kortsigtet plan |" in memo
    for english in ("policies over", "Coverage and disruption", "What differs", "inhabitant-years", "not by"):
        assert english not in memo
    metrics = {model["name"]: model["metrics"] for model in document["models"]}
    for name, m in metrics.items():
        coverage = [m[key]["almen-medicin"] for key in ("coverage_first_year", "coverage_last_plan_year",
                                                         "coverage_last_outlook_year")]
        assert (f"| {name} | {m['status']} | {danish(m['inhabitant_years_without_specialist'], ',.0f')} | "
                f"{danish(m['myopic_inhabitant_years_without_specialist'], ',.0f')} | "
                + " | ".join(danish(share, ".1%") for share in coverage) + " |") in memo
        assert (f"| {m['cells_reaching_target']} af {m['cells']} | {m['last_year_reached']} | "
                f"{danish(m['posts_moved'], 'g')} | {danish(m['objective'], '.6g')} |") in memo
    mine, theirs = (metrics[name]["inhabitant_years_without_specialist"] for name in ("need-weighted", "population"))
    fewer = "færre" if mine < theirs else "flere"
    assert (f"- **need-weighted** i forhold til **population**: {danish(abs(mine - theirs), ',.0f')} {fewer} "
            f"indbyggerår uden en speciallæge ({danish((mine - theirs) / theirs, '+.2%')}); forløb flyttet fra år "
            f"til år: {danish(metrics['need-weighted']['posts_moved'], 'g')} mod "
            f"{danish(metrics['population']['posts_moved'], 'g')}.") in memo


@pytest.fixture(scope="module")
def sensitivities(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Danish instance's sensitivity report under need-weighted: by default (Danish) and with --lang en."""
    root = tmp_path_factory.mktemp("sensitivity")
    for language in ("da", "en"):
        _invoke("sensitivity", str(KOMMUNER), "-m", str(MODELS / "need-weighted.yaml"), "-q", "--draws", "40",
                "-o", str(root / language), *(["--lang", "en"] if language == "en" else []))
    return root


def test_sensitivity_md_is_danish_with_the_jsons_figures(sensitivities: Path) -> None:
    from allocator.io.loading import load_instance

    instance = load_instance(KOMMUNER).value
    names = {s.id: s.name or s.id for s in instance.specialties}
    memo = (sensitivities / "da" / "sensitivity.md").read_text(encoding="utf-8")
    document = json.loads((sensitivities / "da" / "sensitivity.json").read_text(encoding="utf-8"))
    assert memo.startswith("# Hvor fast er planen? dk-2019-almen-medicin-kommuner, modellen need-weighted\n")
    for heading in ("## Hovedpunkter", "## Bindende regler", "## Robusthed", "## Hvorfor hvert område fik det, det fik"):
        assert f"\n{heading}\n" in memo
    for english in ("How firm", "Binding rules", " gets ", "against a target", "draws had no plan", "infeasible"):
        assert english not in memo
    reasons = set()
    for area in document["areas"]:
        figures = (f"- {instance.area_by_id[area['area']].label} får {danish(area['posts'], 'g')} forløb i "
                   f"{names[area['specialty']]} mod et mål på {danish(area['target'], '.2f')}")
        assert figures in memo, figures
        if area["reason"] == "target rounded":
            assert f"{figures}: dets mål, afrundet.\n" in memo
        reasons.add(area["reason"])
    assert "target rounded" in reasons and len(reasons) > 1, reasons  # more than one kind of sentence is worded
    totals = {s.id: s.total for s in instance.specialties}
    for bound in document["binding_bounds"]:
        if bound["kind"] == "total":
            specialty = bound["rule"].removeprefix("total[").removesuffix("]")
            assert (f"| det nationale antal forløb i {names[specialty]} er {danish(totals[specialty], 'g')} forløb "
                    f"| samlet antal | {danish(bound['relax_by_one_unit'], '+.4g')} "
                    f"| {danish(bound['tighten_by_one_unit'], '+.4g')} |") in memo
    robustness = document["robustness"]
    assert (f"{robustness['draws']} træk (frø {robustness['seed']}), hvor hver befolkning og indikator er ganget "
            f"med 1 + e med e ~ Normal(0, {danish(robustness['noise'], 'g')}); {robustness['infeasible_draws']} træk "
            "havde ingen plan.") in memo
    for cell in robustness["cells"][:20]:
        assert (f"| {cell['area']} | {cell['specialty']} | {danish(cell['posts'], 'g')} | {danish(cell['min'], 'g')} "
                f"| {danish(cell['median'], 'g')} | {danish(cell['max'], 'g')} | "
                f"{danish(cell['keep_share'], '.0%')} |") in memo


def test_sensitivity_md_in_english_on_request(sensitivities: Path) -> None:
    memo = (sensitivities / "en" / "sensitivity.md").read_text(encoding="utf-8")
    document = json.loads((sensitivities / "en" / "sensitivity.json").read_text(encoding="utf-8"))
    assert memo.startswith("# How firm is the plan? dk-2019-almen-medicin-kommuner, model need-weighted\n")
    for area in document["areas"]:  # the English memo says what the JSON says, word for word
        assert f"- {area['explanation']}\n" in memo
    for name in ("sensitivity.json", "sensitivity_rules.csv", "sensitivity_cells.csv"):
        assert (sensitivities / "da" / name).read_bytes() == (sensitivities / "en" / name).read_bytes()
