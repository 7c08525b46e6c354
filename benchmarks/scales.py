"""The benchmark scales, each made by ``allocator generate`` with a fixed seed (or bundled).

Besides sizes (``dk`` to ``huge``), issue 12 asks for shapes: a national grid
written the way a spreadsheet user writes it (a bound row on every cell,
most closed by ``max: 0``), a deep area tree with bounds on every level,
many specialties over few leaves, and a million cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from allocator.generate import GeneratorOptions, command_line, generate

ROOT = Path(__file__).resolve().parent.parent
#: Generated instances live here (ignored by git); they are rebuilt when missing.
GENERATED = ROOT / "benchmarks" / ".instances"
MODEL = ROOT / "benchmarks" / "models" / "bench.yaml"


@dataclass(frozen=True)
class Targets:
    """Issue 12's targets for the whole ``allocator solve`` on one shape."""

    #: The median wall time, at most (seconds).
    seconds: float
    #: PuLP + CBC (well formulated) build+solve over the whole command's median, at least.
    speedup: float | None = None
    #: The whole command's peak memory, below (MB).
    peak_mb: float | None = None
    #: The whole command's objective must equal PuLP + CBC's to 1e-6, relative.
    same_objective: bool = False

    def describe(self) -> str:
        """The targets in a few words, for the results table."""
        parts = [f"≤ {self.seconds:g} s"]
        if self.speedup is not None:
            parts.append(f"≥ {self.speedup:g}× faster than PuLP + CBC")
        if self.peak_mb is not None:
            parts.append(f"< {self.peak_mb / 1024:g} GB")
        if self.same_objective:
            parts.append("same objective")
        return ", ".join(parts)


@dataclass(frozen=True)
class Scale:
    """One benchmark scale: a bundled instance, or generator options."""

    name: str
    description: str
    bundled: Path | None = None
    options: GeneratorOptions | None = None
    #: Issue 3's limit on the whole `allocator solve`, in seconds of wall time, where it sets one.
    solve_target: float | None = None
    #: Issue 12's targets for this shape, where it sets them.
    targets: Targets | None = None
    #: Why the PuLP + CBC baseline is not run on this scale, if it is not.
    pulp_skipped: str | None = None

    def instance(self) -> Path:
        """The instance file, generated on first use or when its options changed."""
        if self.bundled is not None:
            return self.bundled
        assert self.options is not None
        path = GENERATED / self.name / "instance.yaml"
        made_by = f"# Made by: {command_line(self.options)}"
        if not path.exists() or made_by not in path.read_text(encoding="utf-8").splitlines()[:3]:
            generate(self.options, path.parent)
        return path

    def command(self) -> str:
        """The ``allocator generate`` command that makes this instance."""
        if self.options is None:
            return f"bundled: {self.bundled.relative_to(ROOT) if self.bundled else ''}"
        return command_line(self.options, GENERATED.relative_to(ROOT) / self.name)


SCALES = {
    "dk": Scale("dk", "Denmark 2020, almen medicin: 5 regions under 3 training regions, 1 specialty",
                bundled=ROOT / "instances" / "dk-2020-almen-medicin" / "instance.yaml"),
    "municipal": Scale("municipal", "98 municipalities under 5 regions under 3 training regions, 40 specialties, "
                       "previous and stability",
                       options=GeneratorOptions(tree=(3, 5, 98), specialties=40, posts=2000, seed=1,
                                                name="municipal"), solve_target=2.0),
    "national-large": Scale("national-large", "5,000 sites under 100 districts, 50 specialties (10 offered per "
                            "site: 50,000 cells), 40,000 posts, shared site capacities",
                            options=GeneratorOptions(tree=(100, 5000), specialties=50, posts=40000, seed=2,
                                                     offered=10, cell_caps=False, name="national-large"),
                            solve_target=3.0, targets=Targets(seconds=2.0)),
    "huge": Scale("huge", "2,500 sites under 50 districts, 100 specialties, every site offers every specialty "
                  "(250,000 cells), 100,000 posts, shared site capacities",
                  options=GeneratorOptions(tree=(50, 2500), specialties=100, posts=100000, seed=3,
                                           cell_caps=False, name="huge"),
                  pulp_skipped="not run at this size"),
    "grid-capped": Scale("grid-capped", "5,000 sites under 100 districts × 50 specialties written as a spreadsheet "
                         "grid: a bound row on every one of the 250,000 cells, 80 % of them closed by `max: 0` and "
                         "the open ones capped, no offers table; shared site capacities, district floors, 40,000 "
                         "posts (national-large's shape, written the other way)",
                         options=GeneratorOptions(tree=(100, 5000), specialties=50, posts=40000, seed=4,
                                                  closed_share=0.8, name="grid-capped"),
                         targets=Targets(seconds=2.0, speedup=4.0, same_objective=True)),
    "deep": Scale("deep", "An area tree 6 levels deep (2, 5, 20, 100, 400 areas, then 2,000 sites), 20 specialties "
                  "(40,000 cells), 30,000 posts; bound rows on every level: per specialty (min and max) and summed "
                  "over specialties (max) on every area above the sites, per cell and per site on the sites",
                  options=GeneratorOptions(tree=(2, 5, 20, 100, 400, 2000), specialties=20, posts=30000, seed=5,
                                           bounds_on_every_level=True, name="deep"),
                  targets=Targets(seconds=2.0)),
    "wide": Scale("wide", "500 specialties over 200 sites under 10 districts (100,000 cells), 50,000 posts, "
                  "cell and shared site capacities, district floors",
                  options=GeneratorOptions(tree=(10, 200), specialties=500, posts=50000, seed=6, name="wide"),
                  targets=Targets(seconds=2.0)),
    "million": Scale("million", "10,000 sites under 100 districts × 100 specialties, every site offers every "
                     "specialty (1,000,000 cells), 400,000 posts, shared site capacities, district floors",
                     options=GeneratorOptions(tree=(100, 10000), specialties=100, posts=400000, seed=7,
                                              cell_caps=False, name="million"),
                     targets=Targets(seconds=15.0, peak_mb=2048.0),
                     pulp_skipped="skipped: a PuLP model of 1,000,000 cells is not built"),
}
