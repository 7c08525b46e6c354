"""One message catalogue: every sentence of the reports and of solve's console in Danish and English."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from click.testing import CliRunner

from allocator.cli import main
from allocator.writers.language import (LANGUAGES, LOCALE_DIR, MemoNumbers, Numbers, catalogue_path, read_catalogue,
                                        status_text)
from tests.conftest import DK_INSTANCE, MODELS, ROOT

#: The code whose sentences people read: the report, the memos (summary.md, comparison.md, sensitivity.md), the console of
#: `solve` and the what-if app.
PYTHON_SOURCES = ["allocator/cli.py", "allocator/writers/report.py", "allocator/writers/plan.py",
                  "allocator/writers/horizon.py", "allocator/app/page.py", "allocator/app/whatif.py", "allocator/app/horizon_page.py",
                  "allocator/writers/comparison.py", "allocator/reports/compare.py",
                  "allocator/writers/horizon_comparison.py", "allocator/writers/sensitivity.py",
                  "allocator/writers/horizon_sensitivity.py", "allocator/writers/language.py"]
TEMPLATES = sorted((ROOT / "allocator" / "writers" / "templates").glob("*.j2"))


def _used() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for path in PYTHON_SOURCES:
        for _line, message, _comments, _context in extract_from_file(
                "python", ROOT / path, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}):
            found.add(message)
    for path in TEMPLATES:
        for _line, message, _comments, _context in extract_from_file(
                "jinja2.ext:babel_extract", path, options={"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                                           "lstrip_blocks": "true"}):
            found.add(message)
    return found


def _catalogue(language: str):  # type: ignore[no-untyped-def]
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "allocator.po", "rb") as stream:
        return read_po(stream, locale=language)


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)s", text))


def test_the_code_uses_messages() -> None:
    assert len(_used()) > 60


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_has_a_translation_in_every_language(language: str) -> None:
    catalogue = _catalogue(language)
    used = _used()
    missing, empty, fuzzy, broken = [], [], [], []
    for message in used:
        key = message[0] if isinstance(message, tuple) else message
        entry = catalogue.get(key)
        if entry is None:
            missing.append(key)
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        if not all(strings):
            empty.append(key)
        if entry.fuzzy:
            fuzzy.append(key)
        if any(_placeholders(s) != _placeholders(ids[0]) for s in strings):
            broken.append(key)
    assert not missing, f"{language}: add to allocator.po: {missing}"
    assert not empty, f"{language}: translate: {empty}"
    assert not fuzzy, f"{language}: check the fuzzy entries: {fuzzy}"
    assert not broken, f"{language}: the placeholders differ from the English: {broken}"
    unused = {entry.id if isinstance(entry.id, str) else entry.id[0] for entry in catalogue if entry.id} - {
        m[0] if isinstance(m, tuple) else m for m in used}
    assert not unused, f"{language}: remove the entries no code uses: {sorted(unused)}"


def test_danish_is_not_english() -> None:
    danish = _catalogue("da")
    same = [entry.id for entry in danish if entry.id and entry.string == entry.id
            and not re.fullmatch(r"[%()\w\s.,/:]*", str(entry.id).replace("Median", ""))]
    assert len(same) == 0, same
    assert danish.get("Posts").string == "Forløb"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_quick_reader_agrees_with_babels(language: str) -> None:
    messages, plurals = read_catalogue(catalogue_path(language))
    catalogue = _catalogue(language)
    assert catalogue.plural_expr == "(n != 1)" and catalogue.num_plurals == 2  # what Catalogue.ngettext assumes
    expected = {entry.id: entry.string for entry in catalogue if entry.id and isinstance(entry.id, str)}
    expected_plurals = {entry.id[0]: tuple(entry.string) for entry in catalogue if isinstance(entry.id, tuple)}
    assert messages == expected and plurals == expected_plurals
    assert read_catalogue.__module__ == "allocator.writers.language"


def test_the_reader_undoes_every_escape(tmp_path: Path) -> None:
    path = tmp_path / "x.po"
    path.write_text('msgid ""\nmsgstr ""\n"Language: da\\n"\n\n#, fuzzy\nmsgid "skip"\nmsgstr "no"\n\n'
                    'msgid "a \\"b\\" \\\\n"\nmsgstr ""\n"c\\t"\n"d"\n', encoding="utf-8")
    assert read_catalogue(path) == ({'a "b" \\n': "c\td"}, {})


def test_numbers_follow_each_languages_notation() -> None:
    da, en = Numbers("da"), Numbers("en")
    assert da.whole(1_835_562) == "1.835.562"
    assert da.posts(924.5) == "924,5"
    assert da.posts(924.0) == "924"
    assert da.decimal(1776.923) == "1.776,9"
    assert da.signed(-3) == "\u22123" and da.signed(12) == "+12"
    assert da.percent(0.449) == "44,9\xa0%"
    assert en.whole(1_835_562) == "1,835,562"
    assert en.posts(924.5) == "924.5"
    assert en.percent(0.449) == "44.9%"


def test_solve_speaks_danish_on_request_and_english_by_default(tmp_path: Path) -> None:
    arguments = ["solve", str(DK_INSTANCE), "-m", str(MODELS / "population.yaml")]
    danish = CliRunner().invoke(main, arguments + ["-o", str(tmp_path / "da"), "--lang", "da"])
    assert danish.exit_code == 0, danish.output
    assert "Plan for dk-2020-almen-medicin under modellen 'population'" in danish.output
    assert "udpeget som lægedækningstruet" in danish.output and "Skrev " in danish.output
    english = CliRunner().invoke(main, arguments + ["-o", str(tmp_path / "en")])
    assert english.exit_code == 0, english.output
    assert "Plan for dk-2020-almen-medicin under model 'population'" in english.output
    assert "⚑ = designated under-served" in english.output and "Wrote " in english.output


def test_summary_md_is_the_councils_memo_in_the_instances_language(tmp_path: Path) -> None:
    """summary.md follows --lang, else the instance's `language:` (Danish for the Danish instances), with Danish
    number notation; the figures are plan.csv's either way. The console stays English unless --lang is given."""
    import csv

    kommuner = ROOT / "instances" / "dk-2019-almen-medicin-kommuner" / "instance.yaml"
    danish = CliRunner().invoke(main, ["solve", str(kommuner), "-m", str(MODELS / "need-weighted.yaml"), "-q",
                                       "--no-xlsx", "-o", str(tmp_path / "da")])
    assert danish.exit_code == 0 and "Wrote " in danish.output
    english = CliRunner().invoke(main, ["solve", str(kommuner), "-m", str(MODELS / "need-weighted.yaml"), "-q",
                                        "--no-xlsx", "--lang", "en", "-o", str(tmp_path / "en")])
    assert english.exit_code == 0
    memo = (tmp_path / "da" / "summary.md").read_text(encoding="utf-8")
    assert memo.startswith("# Fordelingsplan: dk-2019-almen-medicin-kommuner\n")
    assert "## I alt pr. videreuddannelsesregion" in memo and "## Forløb pr. område og speciale" in memo
    assert "| Område | Videreuddannelsesregion | Almen medicin | I alt |" in memo
    assert "Totals per training region" not in memo and "Posts per area" not in memo
    assert (tmp_path / "en" / "summary.md").read_text(encoding="utf-8").startswith("# Allocation plan: ")
    with (tmp_path / "da" / "plan.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows[:20]:
        change = float(row["change"])
        signed = "0" if change == 0 else ("+" if change > 0 else "\u2212") + f"{abs(change):g}"
        assert f"| {row['area_name']}" in memo and f"| {float(row['posts']):g} ({signed}) |" in memo
    targets = {}
    for row in rows:
        targets[row["region"]] = targets.get(row["region"], 0.0) + float(row["target"])
    danish_decimal = Numbers("da").decimal
    for region, target in targets.items():
        assert f"| {danish_decimal(target, 1)} |" in memo, region


def test_the_multi_year_console_of_solve_in_danish(tmp_path: Path) -> None:
    """`solve --lang da` on a multi-year instance speaks Danish on the console too, with Danish thousands."""
    horizon = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
    result = CliRunner().invoke(main, ["solve", str(horizon), "--lang", "da", "--no-xlsx", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Flerårig plan for dk-2021-almen-medicin-horizon under modellen 'population': optimal" in result.output
    assert re.search(r"indbyggerår uden en speciallæge: \d\.\d{3}\.\d{3}\n", result.output)
    assert "Skrev " in result.output and "Wrote" not in result.output and "Multi-year" not in result.output
    # Regression: the objective and its two terms were written in English notation (8380.1) beside Danish thousands.
    plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    figure = MemoNumbers("da").figure
    assert f"målfunktion {figure(plan['objective'])} (dækning {figure(plan['coverage_cost'])} + forløb " \
           f"{figure(plan['posts_cost'])})" in result.output
    assert re.search(r"målfunktion \d\.\d{3},\d", result.output)


def test_the_multi_year_memo_in_the_instances_language(tmp_path: Path) -> None:
    """The multi-year summary.md is Danish for the Danish horizon instance (English with --lang en), and its
    inhabitant-years are plan.json's, in Danish thousands."""

    horizon = ROOT / "instances" / "dk-2021-almen-medicin-horizon" / "instance.yaml"
    for language in ("da", "en"):
        args = ["solve", str(horizon), "-q", "--no-xlsx", "-o", str(tmp_path / language)]
        result = CliRunner().invoke(main, args + (["--lang", "en"] if language == "en" else []))
        assert result.exit_code == 0, result.output
    memo = (tmp_path / "da" / "summary.md").read_text(encoding="utf-8")
    plan = json.loads((tmp_path / "da" / "plan.json").read_text(encoding="utf-8"))
    whole = Numbers("da").whole
    mine, theirs = plan["inhabitant_years_without_specialist"], plan["myopic"]["inhabitant_years_without_specialist"]
    assert memo.startswith("# Flerårig plan: dk-2021-almen-medicin-horizon\n")
    assert f"- denne plan: {whole(mine)}\n" in memo
    assert f"- den kortsigtede plan (hvert år løst for sig med etårsmodellen): {whole(theirs)}\n" in memo
    sign = "\u2212" if mine < theirs else "+" if mine > theirs else ""
    assert f"- forskel: {sign}{whole(abs(mine - theirs))}\n" in memo
    english = (tmp_path / "en" / "summary.md").read_text(encoding="utf-8")
    assert english.startswith("# Multi-year plan: ") and f"- this plan: {mine:,.0f}\n" in english


@given(st.floats(min_value=0.0, max_value=20.0, allow_nan=False))
@example(0.0005)  # Babel gave "0,0 %", Python "0.1%"
def test_a_memo_percent_has_the_same_digits_in_both_languages(share: float) -> None:
    """Regression: Danish rounded with Babel and English with Python, so halves could differ by one digit."""
    english, danish = MemoNumbers("en").percent(share), MemoNumbers("da").percent(share)
    assert english == f"{100 * share:.1f}%"
    assert danish.endswith("\xa0%")
    assert danish.removesuffix("\xa0%").replace(".", "") == english.removesuffix("%").replace(".", ",")


@pytest.mark.parametrize(("status", "danish", "english"), [
    ("optimal", "optimal", "optimal"), ("gap ≤ 0.001", "gab ≤ 0,001", "gap ≤ 0.001"),
    ("gap ≤ 1e-06", "gab ≤ 1e-06", "gap ≤ 1e-06"), ("gap ≤ inf", "gab ≤ inf", "gap ≤ inf"),
    ("time-limit", "tidsgrænse nået", "time limit"), ("infeasible", "ingen plan", "infeasible"),
    ("error", "fejl", "error")])
def test_a_status_is_said_in_the_memo_language(status: str, danish: str, english: str) -> None:
    """The memos say a solver status in their language; the English keeps the machine word's figure."""
    assert status_text(status, "da") == danish and status_text(status, "en") == english


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_is_given_twice(language: str) -> None:
    """Regression: 'Status' was in both catalogues twice (gettext's msgfmt refuses a duplicate; our reader took
    the last one silently)."""
    ids = re.findall(r'^msgid "(.*)"$', catalogue_path(language).read_text(encoding="utf-8"), flags=re.M)
    twice = sorted({found for found in ids if found and ids.count(found) > 1})
    assert twice == []
