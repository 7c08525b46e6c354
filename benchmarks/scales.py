"""The benchmark scales, each made by ``allocator generate`` with a fixed seed (or bundled)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from allocator.generate import GeneratorOptions, generate

ROOT = Path(__file__).resolve().parent.parent
#: Generated instances live here (ignored by git); they are rebuilt when missing.
GENERATED = ROOT / "benchmarks" / ".instances"
MODEL = ROOT / "benchmarks" / "models" / "bench.yaml"


@dataclass(frozen=True)
class Scale:
    """One benchmark scale: a bundled instance, or generator options."""

    name: str
    description: str
    bundled: Path | None = None
    options: GeneratorOptions | None = None
    #: Issue 3's limit on the whole `allocator solve`, in seconds of wall time, where it sets one.
    solve_target: float | None = None

    def instance(self) -> Path:
        """The instance file, generated on first use."""
        if self.bundled is not None:
            return self.bundled
        assert self.options is not None
        path = GENERATED / self.name / "instance.yaml"
        if not path.exists():
            generate(self.options, path.parent)
        return path

    def command(self) -> str:
        """The ``allocator generate`` command that makes this instance."""
        if self.options is None:
            return f"bundled: {self.bundled.relative_to(ROOT) if self.bundled else ''}"
        o = self.options
        parts = [f"allocator generate --out {GENERATED.relative_to(ROOT) / self.name}",
                 f"--tree {','.join(map(str, o.tree))}", f"--specialties {o.specialties}", f"--posts {o.posts}",
                 f"--seed {o.seed}", f"--name {o.name}"]
        if o.offered is not None:
            parts.append(f"--offered {o.offered}")
        if not o.cell_caps:
            parts.append("--no-cell-caps")
        return " ".join(parts)


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
                            solve_target=3.0),
    "huge": Scale("huge", "2,500 sites under 50 districts, 100 specialties, every site offers every specialty "
                  "(250,000 cells), 100,000 posts, shared site capacities",
                  options=GeneratorOptions(tree=(50, 2500), specialties=100, posts=100000, seed=3,
                                           cell_caps=False, name="huge")),
}
