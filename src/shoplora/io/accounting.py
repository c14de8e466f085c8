"""The one accounting vocabulary of every stage that filters rows.

A row a stage does not keep is a `Drop` (what, from where, why, and the row it duplicates);
the counts of a stage, or of one of its sources, are a `Tally`: rows in = kept + dropped, the
dropped counted by reason. Corpus streaming, which leaves out too many rows to record one by
one, keeps only the Tally; generation parsing, curation, the SFT datasets and the PT corpus
keep a Drop for every row and check the Tally.
"""

from collections import Counter
from dataclasses import asdict, dataclass, field, fields

import pandas as pd


class AccountingError(AssertionError):
    """Rows went missing: rows in != kept + dropped."""


@dataclass(frozen=True)
class Drop:
    id: str
    source: str
    reason: str
    duplicate_of: str | None = None
    score: float | None = None
    detail: str | None = None


DROP_COLUMNS = [f.name for f in fields(Drop)]


@dataclass
class Tally:
    rows_in: int = 0
    kept: int = 0
    reasons: dict = field(default_factory=dict)

    @property
    def dropped(self):
        return sum(self.reasons.values())

    def check(self, where):
        """Raise AccountingError naming `where` unless rows in = kept + dropped."""
        if self.rows_in != self.kept + self.dropped:
            raise AccountingError(
                f"{where}: {self.rows_in} rows in but {self.kept} kept + {self.dropped} dropped {self.reasons}"
            )
        return self

    def __add__(self, other):
        reasons = Counter(self.reasons)
        reasons.update(other.reasons)
        return Tally(self.rows_in + other.rows_in, self.kept + other.kept, dict(sorted(reasons.items())))

    def to_dict(self):
        return {"rows_in": self.rows_in, "kept": self.kept, "dropped": self.dropped, "reasons": dict(self.reasons)}

    @classmethod
    def from_dict(cls, counts):
        """A Tally from its `to_dict` form; its `dropped` must agree with its reasons."""
        tally = cls(counts["rows_in"], counts["kept"], dict(counts["reasons"]))
        if counts.get("dropped", tally.dropped) != tally.dropped:
            raise AccountingError(f"{counts}: 'dropped' is not the sum of the reasons")
        return tally


class DropLog:
    def __init__(self):
        self.rows: list[Drop] = []

    def drop(self, id, source, reason, duplicate_of=None, score=None, detail=None):
        self.rows.append(Drop(id, source, reason, duplicate_of, score, detail))

    def records(self):
        return [asdict(d) for d in self.rows]

    def frame(self):
        return pd.DataFrame(self.records(), columns=DROP_COLUMNS).astype(
            {"id": str, "source": str, "reason": str, "score": float}
        )

    def tallies(self, sources_in, sources_kept):
        """{source: Tally}, each checked: raises if a row of any source is unaccounted for."""
        dropped = Counter((d.source, d.reason) for d in self.rows)
        out = {}
        for source in sorted(set(sources_in) | set(sources_kept)):
            reasons = {reason: n for (s, reason), n in sorted(dropped.items()) if s == source}
            tally = Tally(sources_in.get(source, 0), sources_kept.get(source, 0), reasons)
            out[source] = tally.check(f"source {source}")
        return out

    def summary(self, sources_in, sources_kept):
        """{"total": Tally dict, "per_source": {source: Tally dict}}; raises if anything is unaccounted for."""
        per_source = self.tallies(sources_in, sources_kept)
        total = sum(per_source.values(), Tally())
        return {"total": total.to_dict(), "per_source": {s: t.to_dict() for s, t in per_source.items()}}
