"""Statistics and the side-by-side tables the benchmarks print (plain text and Markdown)."""

from __future__ import annotations

import statistics


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio(value: float | None, base: float | None) -> str:
    """`value / base` as "×N.N", or "" when either is missing or base is 0."""
    if value is None or base is None or base == 0:
        return ""
    r = value / base
    return f"×{r:.2f}" if r < 0.1 else f"×{r:.1f}"


def render(title: str, header: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """One table: a title line, then aligned columns (or a Markdown table)."""
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [title, "=" * len(title), fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    return "\n".join(out) + "\n"
