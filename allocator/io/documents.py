"""Read a YAML or JSON document safely, remembering the line of every value."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from allocator.errors import InputError, Location
from allocator.io.limits import MAX_DOCUMENT_BYTES, MAX_NESTING, MAX_YAML_NODES

PathKey = tuple[str | int, ...]


@dataclass
class Document:
    """A parsed YAML/JSON file.

    Attributes
    ----------
    path
        The file it came from.
    data
        The parsed content (a mapping at the top level).
    lines
        The 1-based line where each value starts, keyed by its path in ``data``
        (e.g. ``("areas", 3, "population")``); empty for JSON.
    raw
        The bytes read, for hashing into the plan's metadata.
    plain
        The text as written of every unquoted YAML value that YAML reads as
        something other than text or null (``0101`` is read as 65, ``1:20`` as
        80, ``no`` as False), keyed like ``lines``; ids are kept as written.
    """

    path: Path
    data: dict[str, Any]
    lines: dict[PathKey, int] = field(default_factory=dict)
    raw: bytes = b""
    plain: dict[PathKey, str] = field(default_factory=dict)

    def locate(self, key: PathKey, field_name: str | None = None) -> Location:
        """Describe ``key`` as a location a person can find in the file."""
        row = None
        if key:
            described = _describe_path(key)
            line = self._nearest_line(key)
            row = f"{described} (line {line})" if line else described
        return Location(self.path, row, field_name)

    def _nearest_line(self, key: PathKey) -> int | None:
        for cut in range(len(key), 0, -1):
            if key[:cut] in self.lines:
                return self.lines[key[:cut]]
        return None


def _describe_path(key: PathKey) -> str:
    words = []
    for part in key:
        if isinstance(part, int):
            words.append(f"row {part + 1}")
        else:
            words.append(str(part))
    return " ".join(words)


def read_document(path: Path | str) -> Document:
    """Read a YAML (``.yaml``/``.yml``) or JSON (``.json``) file.

    Raises
    ------
    InputError
        When the file is missing, too large, not valid YAML/JSON, nested too
        deeply, uses aliases that expand beyond the node limit, or is not a mapping.
    """
    path = Path(path)
    raw = _read_bytes(path, MAX_DOCUMENT_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file is not UTF-8 text (byte {exc.start})",
            where=Location(path),
            fix="save the file as UTF-8",
        ) from None
    if path.suffix.lower() == ".json":
        data, lines, plain = _parse_json(path, text), {}, {}
    else:
        data, lines, plain = _parse_yaml(path, text)
    if not isinstance(data, dict):
        raise InputError(
            "the file must hold a mapping of keys (name:, areas:, …) at the top level",
            where=Location(path),
            fix="start the file with 'name: …'",
        )
    return Document(path=path, data=data, lines=lines, raw=raw, plain=plain)


def _read_bytes(path: Path, limit: int) -> bytes:
    if not path.exists():
        raise InputError("the file does not exist", where=Location(path), fix="check the path")
    if path.is_dir():
        raise InputError("this is a folder, not a file", where=Location(path), fix="name the file inside it")
    size = path.stat().st_size
    if size > limit:
        raise InputError(
            f"the file is {size:,} bytes, over the limit of {limit:,}",
            where=Location(path),
            fix="keep large tables in CSV files referenced from the document",
        )
    if size == 0:
        raise InputError("the file is empty", where=Location(path), fix="fill it in or name the right file")
    return path.read_bytes()


class _RepeatedJsonKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _parse_json(path: Path, text: str) -> Any:
    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number this tool accepts")

    def refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        mapping = dict(pairs)
        if len(mapping) < len(pairs):  # JSON, like YAML, would keep the last of two equal keys
            seen: set[str] = set()
            for key, _value in pairs:
                if key in seen:
                    raise _RepeatedJsonKey(key)
                seen.add(key)
        return mapping

    try:
        return json.loads(text, parse_constant=refuse_constant, object_pairs_hook=refuse_repeats)
    except _RepeatedJsonKey as exc:
        raise InputError(f"the key '{exc.key}' is given twice in one JSON object; JSON readers would silently keep "
                         "the last one", where=Location(path, None, exc.key),
                         fix=f"keep one '{exc.key}' and delete the other") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}",
            where=Location(path, f"line {exc.lineno}, column {exc.colno}"),
            fix="correct the JSON syntax there",
        ) from None
    except (ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(f"not usable JSON: {problem}", where=Location(path), fix="simplify the file") from None


#: libyaml's loader when PyYAML was built with it (15x faster); the same safe constructors either way.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"

#: Refuse a mapping that gives a key twice (PyYAML keeps the last one without a word, so
#: ``totals: {2021: 10, 2021: 12}`` would plan 12 posts). Always on; benchmarks/yaml_load.py turns
#: it off to time the loader as it was before the check.
_REFUSE_DUPLICATE_KEYS = True
_UNCHECKED = object()  # a key the duplicate check leaves alone (a merge, or one the constructor refuses)


def _parse_yaml(path: Path, text: str) -> tuple[Any, dict[PathKey, int], dict[PathKey, str]]:
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        if _nesting_exceeds_limit(text):  # our limit, in our words, whatever the YAML library says
            raise _too_deep(path) from None
        mark = exc.problem_mark
        row = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise InputError(
            f"not valid YAML: {exc.problem or exc}",
            where=Location(path, row),
            fix="correct the YAML syntax there (check indentation and colons)",
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", where=Location(path), fix="correct the YAML syntax") from None
    except RecursionError:
        raise _too_deep(path) from None
    if node is None:
        loader.dispose()
        raise InputError("the file holds no data", where=Location(path), fix="fill it in")
    lines: dict[PathKey, int] = {}
    plain: dict[PathKey, str] = {}
    keys = loader if _REFUSE_DUPLICATE_KEYS else None
    _index_lines(path, node, (), lines, [0], plain, keys)  # counts the expanded size before anything is built
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:  # e.g. a malformed timestamp the composer accepted
        raise InputError(f"not valid YAML: {exc}", where=Location(path), fix="correct the value") from None
    except (RecursionError, ValueError, OverflowError) as exc:
        raise InputError(f"not usable YAML: {exc}", where=Location(path), fix="simplify the file") from None
    finally:
        loader.dispose()
    return data, lines, plain


#: Tags whose plain scalars read back as the text written.
_TEXT_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:null"}


def _nesting_exceeds_limit(text: str) -> bool:
    """Whether the document nests deeper than MAX_NESTING, by our own count.

    Asked only when the YAML library has refused the document: libyaml has a
    nesting limit of its own, with a message that differs from release to
    release, and its scanner stops before any token can be counted. The count
    is block indentation levels plus open flow brackets outside quotes, which
    never exceeds the real depth by more than the brackets of quoted text.
    """
    indents: list[int] = []
    flow = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if flow == 0:
            indent = len(line) - len(stripped)
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
        quote = ""
        for char in stripped:
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#":
                break
            elif char in "[{":
                flow += 1
                if len(indents) + flow > MAX_NESTING:
                    return True
            elif char in "]}":
                flow = max(0, flow - 1)
        if len(indents) + flow > MAX_NESTING:
            return True
    return False


def _too_deep(path: Path) -> InputError:
    return InputError(
        f"the document is nested more than {MAX_NESTING} levels deep",
        where=Location(path),
        fix="flatten the file: areas refer to their parent by id",
    )


def _key_value(loader: Any, key_node: yaml.Node) -> Any:
    """The key as the mapping will hold it; _UNCHECKED when it is not a scalar the constructor can make.

    Text keys (nearly all) are their text; others are constructed, so that ``2021`` and ``0x7E5``
    are one key and ``2021`` and ``"2021"`` two, as they are in the data. The constructor keeps what
    it built for the document, so nothing is built twice.
    """
    if key_node.tag == _STR_TAG:
        return key_node.value
    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
        return _UNCHECKED  # a merge (<<) may be overridden by the keys beside it: that is what it is for
    try:
        value = loader.construct_object(key_node)
        hash(value)
    except Exception:  # noqa: BLE001 - the constructor reports a bad key, located, when it builds the document
        return _UNCHECKED
    return value


def _first_line(loader: Any, node: yaml.MappingNode, same: Any) -> int:
    """The line of the first key of ``node`` equal to ``same`` (asked only once a repeat is found)."""
    return next(key_node.start_mark.line + 1 for key_node, _ in node.value
                if (key_node.value if key_node.tag == _STR_TAG else _key_value(loader, key_node)) == same)


def _duplicate_key_error(path: Path, where: PathKey, key_node: yaml.Node, first_line: int) -> InputError:
    line = key_node.start_mark.line + 1
    written = key_node.value
    row = f"{_describe_path(where)} (line {line})" if where else f"line {line}"
    return InputError(
        f"the key '{written}' is given twice in this mapping (first on line {first_line}); "
        "YAML would silently keep the last one",
        where=Location(path, row, written),
        fix=f"keep one '{written}' and delete the other",
    )


def _index_lines(path: Path, node: yaml.Node, key: PathKey, lines: dict[PathKey, int], count: list[int],
                 plain: dict[PathKey, str], keys: Any = None) -> None:
    # Aliases make the node graph a DAG; walking it counts the expanded size,
    # which is exactly what a "billion laughs" document inflates.
    count[0] += 1
    if count[0] > MAX_YAML_NODES:
        raise InputError(
            f"the document expands to more than {MAX_YAML_NODES:,} values (YAML aliases?)",
            where=Location(path),
            fix="write the values out, or move large tables to CSV",
        )
    if len(key) > MAX_NESTING:
        raise _too_deep(path)
    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and not node.style and node.tag not in _TEXT_TAGS:  # plain: None or ""
        plain[key] = node.value
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()  # the keys so far, when ``keys`` (the loader) asks for repeats
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(len(lines))
            if keys is not None:
                # text keys inline: nearly every key is one, and this loop runs for each key of the file
                same = name if key_node.tag == _STR_TAG else _key_value(keys, key_node)
                if same in seen and same is not _UNCHECKED:
                    raise _duplicate_key_error(path, key, key_node, _first_line(keys, node, same))
                seen.add(same)
            _index_lines(path, value_node, key + (name,), lines, count, plain, keys)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(path, item, key + (index,), lines, count, plain, keys)
