"""The map of an instance: a GeoJSON file with one feature per leaf area.

The instance names the file and the feature property that holds each leaf's
id (or, with ``match: name``, its name)::

    geometry: {file: municipalities.geojson, property: lau1}

Only ``Polygon`` and ``MultiPolygon`` features are read, in WGS84 lon/lat
(RFC 7946). Every leaf must have exactly one feature and every feature must
name a leaf, so that a map never silently drops an area.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from functools import lru_cache
from pathlib import Path

from allocator.errors import InputError, Location
from allocator.io.limits import MAX_DOCUMENT_BYTES
from allocator.io.schemas import Instance

#: A ring is a list of (longitude, latitude) points; a polygon an outer ring and its holes.
Ring = list[tuple[float, float]]
Polygon = list[Ring]


def _key(value: object) -> str:
    # Ids are compared after NFC, as everywhere else; a number property (lau1: 101) matches the id "101".
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value))


@lru_cache(maxsize=8)
def _read(path: str, digest: str) -> tuple[dict, str]:  # noqa: ARG001 - the digest keys the cache on content
    raw = Path(path).read_bytes()
    try:
        return json.loads(raw), hashlib.sha256(raw).hexdigest()
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(f"not valid GeoJSON ({exc.__class__.__name__}: {getattr(exc, 'msg', exc)})",
                         where=Location(path, f"line {line}" if line else None),
                         fix="export the map again as GeoJSON (RFC 7946)") from None


def _polygons(geometry: object, where: Location) -> list[Polygon]:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise InputError(f"the feature's geometry is {kind!r}, not a Polygon or MultiPolygon", where=where,
                         fix="give each area its outline as a Polygon or MultiPolygon")
    parts = [geometry.get("coordinates")] if geometry["type"] == "Polygon" else geometry.get("coordinates")
    try:
        polygons = [[[(float(point[0]), float(point[1])) for point in ring] for ring in part] for part in parts]
    except (TypeError, ValueError, IndexError):
        raise InputError("the feature's coordinates are not lists of [longitude, latitude] pairs", where=where,
                         fix="export the map again as GeoJSON (RFC 7946)") from None
    for polygon in polygons:
        for ring in polygon:
            if len(ring) < 4 or not all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring):
                raise InputError("a ring has fewer than 4 points or a point outside longitude/latitude range",
                                 where=where, fix="use WGS84 longitude/latitude (RFC 7946), rings closed")
    return polygons


def read_geometry(instance: Instance, where: Location | None = None) -> dict[str, list[Polygon]]:
    """The outline of every leaf area, keyed by leaf id.

    Parameters
    ----------
    instance
        An instance whose ``geometry`` is set (its ``path`` filled in by the loader).
    where
        The instance's ``geometry`` key, named when the file is missing.

    Raises
    ------
    InputError
        A missing or malformed file, a feature without the property, a feature
        that names no leaf, a leaf named twice or a leaf without a feature.
    """
    spec = instance.geometry
    assert spec is not None and spec.path is not None, "read_geometry needs a loaded instance with geometry"
    path = Path(spec.path)
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise InputError(f"the map file is {size:,} bytes, over {MAX_DOCUMENT_BYTES:,}", where=Location(path),
                             fix="simplify the geometry (a 1:500,000 map of 98 areas is 240 kB)")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read the map file ({exc.strerror})", where=where or Location(path, None, "geometry"),
                         fix="name a GeoJSON file beside the instance file in 'geometry: {file: ...}'") from None
    data, _ = _read(str(path), digest)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise InputError("the map file is not a GeoJSON FeatureCollection", where=Location(path),
                         fix="export the areas as a FeatureCollection")
    leaves = instance.leaves
    if spec.match == "name":
        by_key = {}
        for leaf in leaves:
            by_key.setdefault(_key(instance.area_by_id[leaf].name or leaf), leaf)
    else:
        by_key = {_key(leaf): leaf for leaf in leaves}
    shapes: dict[str, list[Polygon]] = {}
    for number, feature in enumerate(data["features"], start=1):
        here = Location(path, f"feature {number}", spec.property)
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict) or properties.get(spec.property) in (None, ""):
            raise InputError(f"the feature has no property '{spec.property}'", where=here,
                             fix="name the property that holds each area's id in 'geometry: {property: ...}'")
        value = _key(properties[spec.property])
        leaf = by_key.get(value)
        if leaf is None:
            raise InputError(f"'{value}' is no leaf area {'name' if spec.match == 'name' else 'id'} of the instance",
                             where=here, fix="remove the feature, or add the area to the areas table")
        if leaf in shapes:
            raise InputError(f"the area '{leaf}' has two features", where=here,
                             fix="merge them into one MultiPolygon feature")
        shapes[leaf] = _polygons(feature.get("geometry"), here)
    missing = [leaf for leaf in leaves if leaf not in shapes]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InputError(f"leaf areas with no feature on the map: {shown} ({len(missing)} of {len(leaves)})", where=Location(path),
                         fix="add a feature for each leaf area, or drop 'geometry' from the instance")
    return shapes


def check_geometry(instance: Instance, where: Location) -> dict[str, str]:
    """Read the map once at load time (so a bad map fails before solving); return its file's SHA-256."""
    read_geometry(instance, where)
    assert instance.geometry is not None and instance.geometry.path is not None
    path = instance.geometry.path
    return {path: hashlib.sha256(Path(path).read_bytes()).hexdigest()}
