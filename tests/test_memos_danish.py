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
             (0.449, ".1%"), (0.1234, ".2%"), (28.78213, ".3f"), (1776.923, ".1f"), (7, "d")]
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
