"""Drop records and the rows-in = kept + dropped summary every filtering stage writes."""

from collections import Counter

import pandas as pd

DROP_COLUMNS = ["id", "source", "reason", "duplicate_of", "score", "detail"]


class AccountingError(AssertionError):
    """Rows went missing: rows in != kept + dropped."""


class DropLog:
    def __init__(self):
        self.rows = []

    def drop(self, id, source, reason, duplicate_of=None, score=None, detail=None):
        self.rows.append(
            {
                "id": id,
                "source": source,
                "reason": reason,
                "duplicate_of": duplicate_of,
                "score": score,
                "detail": detail,
            }
        )

    def frame(self):
        return pd.DataFrame(self.rows, columns=DROP_COLUMNS).astype(
            {"id": str, "source": str, "reason": str, "score": float}
        )

    def summary(self, sources_in, sources_kept):
        """Per source: rows in, kept, dropped by reason; raises if anything is unaccounted for."""
        dropped = Counter((r["source"], r["reason"]) for r in self.rows)
        per_source = {}
        for source in sorted(set(sources_in) | set(sources_kept)):
            reasons = {reason: n for (s, reason), n in sorted(dropped.items()) if s == source}
            entry = {
                "rows_in": sources_in.get(source, 0),
                "kept": sources_kept.get(source, 0),
                "dropped": sum(reasons.values()),
                "reasons": reasons,
            }
            if entry["rows_in"] != entry["kept"] + entry["dropped"]:
                raise AccountingError(
                    f"source {source}: {entry['rows_in']} rows in but {entry['kept']} kept + {entry['dropped']} dropped"
                )
            per_source[source] = entry
        totals = {k: sum(e[k] for e in per_source.values()) for k in ("rows_in", "kept", "dropped")}
        totals["reasons"] = dict(sorted(Counter(r["reason"] for r in self.rows).items()))
        return {"total": totals, "per_source": per_source}
