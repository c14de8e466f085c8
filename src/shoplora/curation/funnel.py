"""Per provider and task type, where generated items went: requested, read, valid, through the
quality gate, kept."""

from collections import Counter

from shoplora.io.accounting import AccountingError

# A type with no valid item never reaches the gate.
_NOTHING_VERIFIED = {
    "answer_checked": 0, "judged": 0, "unverified": 0, "failed_gate": 0, "flagged": 0, "kept": 0,
    "dropped_by_reason": {}, "human_rejected": 0,
}  # fmt: skip


def _gate_rows(gate):
    """The gate's rows of the funnel from its summary of one task type."""
    return {
        "answer_checked": gate["answer_checked"],
        "judged": gate["judged"],
        "unverified": gate["unverified"],
        "failed_gate": gate["failed_gate"],
        "flagged": gate["flagged"],
        "kept": gate["kept"],
        "dropped_by_reason": gate["dropped_by_reason"],
        "human_rejected": gate["human_rejected"],
    }


def generation_funnel(parse_summaries, generated_lists, kept, dropped, gate_summaries=None):
    """{provider: {task_type: counts}} joining parse_generated's summaries with the quality
    gate's (when it ran) and curation.

    parse_summaries: provider -> parse summary (requested, read, valid, failures per type).
    gate_summaries: provider -> verify's summary, or None. generated_lists: the generated task
    lists given to curation; kept: the kept tasks; dropped: curation's drop frame (id, source,
    reason). For each type, valid = kept + dropped by the gate, and what reached curation =
    kept + the curation drops, or an AccountingError says which count is off.
    """
    type_of = {t["id"]: t["task_type"] for tasks in generated_lists for t in tasks}
    kept_counts = Counter((t["source"], t["task_type"]) for t in kept if t["source"].startswith("generated:"))
    drop_counts = Counter(
        (row.source, type_of.get(row.id, "unknown"), row.reason)
        for row in dropped.itertuples()
        if row.source.startswith("generated:")
    )
    funnel = {}
    for provider, summary in parse_summaries.items():
        source = f"generated:{provider}"
        per_type = {}
        for task_type, entry in summary.items():
            drops = {reason: n for (s, t, reason), n in sorted(drop_counts.items()) if s == source and t == task_type}
            counts = {
                "requested": entry["requested"],
                "read": entry["read"],
                "valid": entry["valid"],
                "kept": kept_counts[(source, task_type)],
                "parse_failures": entry["failures"],
                "curation_drops": drops,
            }
            curated = counts["valid"]
            if gate_summaries is not None:
                gate = gate_summaries[provider]["per_task_type"].get(task_type)
                counts["gate"] = _gate_rows(gate) if gate else _gate_rows(_NOTHING_VERIFIED)
                curated = counts["gate"]["kept"]
                gate_dropped = sum(counts["gate"]["dropped_by_reason"].values())
                if counts["valid"] != curated + gate_dropped:
                    raise AccountingError(
                        f"{source} {task_type}: {counts['valid']} valid items but {curated} kept + "
                        f"{gate_dropped} dropped by the quality gate"
                    )
            # Read in pipeline order: parsed, through the gate, through curation.
            order = ("requested", "read", "valid", "parse_failures", "gate", "kept", "curation_drops")
            counts = {key: counts[key] for key in order if key in counts}
            if curated != counts["kept"] + sum(drops.values()):
                raise AccountingError(
                    f"{source} {task_type}: {curated} items reached curation but {counts['kept']} kept + "
                    f"{sum(drops.values())} dropped in curation"
                )
            per_type[task_type] = counts
        funnel[provider] = per_type
    return funnel
