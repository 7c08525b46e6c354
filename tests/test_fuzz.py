"""Fuzzing the loaders: every input either loads or gets a clean, located InputError. Never a crash.

Marked ``fuzz``. Example counts come from ALLOCATOR_FUZZ_EXAMPLES (default 60
per test, which CI uses); a long run is e.g. ``ALLOCATOR_FUZZ_EXAMPLES=500
pytest -m fuzz``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.errors import InfeasibleError, InputError
from allocator.io.loading import load_instance, load_model
from allocator.core.need import targets
from allocator.io.schemas import DEFAULT_MODEL
from allocator.results.solve import solve
from tests.conftest import DK_INSTANCE, MODELS, SYNTHETIC_INSTANCE

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("ALLOCATOR_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

#: Text that spreadsheets and hands produce: numbers in both notations, NaN, huge values, unicode, BOMs.
NASTY = st.sampled_from(["", " ", "0", "-1", "1e400", "9" * 400, "nan", "NaN", "inf", "-inf", "1.835.562",
                         "924,5", "12.5", "½", "٣", "\ufeff", "\x00", "Ø", "ja", "x", "null", "~", "[]", "{}",
                         "- a", "&a", "*a", "!!python/object:os.system", "'", '"', "\n", "\t", "1_000",
                         "0x10", "1" * 30, "S01", "L-01", "A0-1", "parent", "yes"])


def _loads_or_clean_error(path: Path) -> None:
    """The contract: a located InputError (one line, with a fix), or an instance that solves or is
    diagnosed as infeasible."""
    try:
        instance = load_instance(path).value
        targets(instance, DEFAULT_MODEL)
        solve(instance, DEFAULT_MODEL)
    except (InputError, InfeasibleError) as exc:
        message = str(exc)
        assert message and "\n" not in message.strip(), message
        assert "Traceback" not in message


def _json_like() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True) | \
        st.text(max_size=8) | NASTY
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                        st.dictionaries(st.text(max_size=6) | NASTY, inner, max_size=4), max_leaves=25)


@FUZZ
@given(document=st.dictionaries(st.sampled_from(["name", "unit", "year", "specialties", "areas", "bounds",
                                                 "previous", "offers", "sources", "extra"]),
                                _json_like(), max_size=8))
def test_random_instance_documents(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "instance.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    _loads_or_clean_error(path)


@FUZZ
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
       suffix=st.sampled_from([".yaml", ".json"]))
def test_random_text_as_instance_or_model(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"file{suffix}"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    _loads_or_clean_error(path)
    try:
        load_model(path)
    except InputError:
        pass


def _mutate(data: bytes, rng: random.Random, rounds: int) -> bytes:
    """Byte-level mutations a hand edit or a bad export makes."""
    text = bytearray(data)
    for _ in range(rounds):
        kind = rng.randrange(7)
        at = rng.randrange(len(text) + 1)
        if kind == 0 and text:  # delete a byte
            del text[min(at, len(text) - 1)]
        elif kind == 1:  # insert a nasty token
            token = rng.choice(["", ";", ",", "\n", '"', "nan", "1e400", "-", "\ufeff", "Ø", "\x00", ":", "  "])
            text[at:at] = token.encode("utf-8")
        elif kind == 2:  # duplicate a line
            lines = bytes(text).split(b"\n")
            k = rng.randrange(len(lines))
            lines.insert(k, lines[k])
            text = bytearray(b"\n".join(lines))
        elif kind == 3:  # truncate
            del text[at:]
        elif kind == 4:  # swap two lines
            lines = bytes(text).split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            text = bytearray(b"\n".join(lines))
        elif kind == 5:  # Windows-1252 or a BOM
            text = bytearray(bytes(text).decode("utf-8", errors="ignore").encode("cp1252", errors="replace")) \
                if rng.random() < 0.5 else bytearray(b"\xef\xbb\xbf" + bytes(text))
        else:  # flip a byte
            if text:
                k = min(at, len(text) - 1)
                text[k] = rng.randrange(256)
    return bytes(text)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 6),
       target=st.sampled_from(["instance.yaml", "areas.csv", "bounds.csv", "previous.csv"]))
def test_mutated_synthetic_instance(tmp_path: Path, seed: int, rounds: int, target: str) -> None:
    source = SYNTHETIC_INSTANCE.parent
    for path in source.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    victim = tmp_path / target
    victim.write_bytes(_mutate(victim.read_bytes(), random.Random(seed), rounds))
    _loads_or_clean_error(tmp_path / "instance.yaml")


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 6))
def test_mutated_danish_spreadsheet(tmp_path: Path, seed: int, rounds: int) -> None:
    source = DK_INSTANCE.parent
    for path in source.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    victim = tmp_path / "areas.csv"
    victim.write_bytes(_mutate(victim.read_bytes(), random.Random(seed), rounds))
    _loads_or_clean_error(tmp_path / "instance.yaml")


@FUZZ
@given(rows=st.lists(st.lists(st.none() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) |
                              st.booleans() | NASTY, min_size=0, max_size=6), max_size=6),
       header=st.lists(st.sampled_from(["id", "parent", "population", "underserved", "per_gp", "", "id"]),
                       min_size=0, max_size=6))
def test_random_xlsx_areas(tmp_path: Path, rows: list[list[Any]], header: list[str]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([cell if not (isinstance(cell, str) and "\x00" in cell) else "?" for cell in row])
    book.save(tmp_path / "areas.xlsx")
    (tmp_path / "instance.yaml").write_text(
        "name: x\nspecialties: [{id: gp, total: 3}]\nareas: areas.xlsx\n", encoding="utf-8")
    _loads_or_clean_error(tmp_path / "instance.yaml")


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_as_xlsx_and_csv(tmp_path: Path, data: bytes) -> None:
    for name in ("areas.xlsx", "areas.csv"):
        (tmp_path / name).write_bytes(data)
        (tmp_path / "instance.yaml").write_text(
            f"name: x\nspecialties: [{{id: gp, total: 3}}]\nareas: {name}\n", encoding="utf-8")
        _loads_or_clean_error(tmp_path / "instance.yaml")


@FUZZ
@given(document=st.dictionaries(st.sampled_from(["name", "base", "criteria", "objective", "underserved_weight",
                                                 "stability", "description", "typo"]), _json_like(), max_size=6))
def test_random_model_documents(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    try:
        model = load_model(path).value
        targets(load_instance(DK_INSTANCE).value, model)
    except InputError as exc:
        assert "\n" not in str(exc).strip()


def test_very_deep_tree_is_refused_clearly(tmp_path: Path) -> None:
    lines = ["id,parent,population"] + [f"a{i},{'' if i == 0 else f'a{i - 1}'},{1000 if i == 4999 else ''}"
                                         for i in range(5000)]
    (tmp_path / "areas.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "instance.yaml").write_text("name: x\nspecialties: [{id: gp, total: 3}]\nareas: areas.csv\n",
                                            encoding="utf-8")
    with pytest.raises(InputError, match="levels deep"):
        load_instance(tmp_path / "instance.yaml")


def test_table_over_the_row_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("allocator.io.tables.MAX_TABLE_ROWS", 1000)
    lines = ["area,specialty,posts"] + [f"a,gp,{i}" for i in range(1001)]
    (tmp_path / "previous.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "instance.yaml").write_text(
        "name: x\nspecialties: [{id: gp, total: 3}]\nareas: [{id: a, population: 1}]\nprevious: previous.csv\n",
        encoding="utf-8")
    with pytest.raises(InputError, match="more than 1,000 rows"):
        load_instance(tmp_path / "instance.yaml")


@pytest.mark.parametrize("value", ["1e400", "9" * 400, "1e13", "nan", "inf"])
def test_huge_or_non_finite_numbers_are_refused(tmp_path: Path, value: str) -> None:
    (tmp_path / "instance.yaml").write_text(
        f"name: x\nspecialties: [{{id: gp, total: {value}}}]\nareas: [{{id: a, population: 1}}]\n",
        encoding="utf-8")
    with pytest.raises(InputError, match="field 'total'"):
        load_instance(tmp_path / "instance.yaml")


def test_model_file_in_the_repository_still_loads() -> None:
    names = {load_model(path).value.name for path in MODELS.glob("*.yaml")}
    assert {"population", "need-weighted"} <= names


def test_oversized_document_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "instance.yaml"
    with path.open("wb") as stream:  # a sparse 21 MB file: refused by its size, never parsed
        stream.seek(21 * 1024 * 1024)
        stream.write(b"\n")
    with pytest.raises(InputError, match=r"over the limit of 20,971,520.*Fix: keep large tables in CSV"):
        load_instance(path)
