"""Per provider and task type, where generated items went: requested, read, valid, kept."""

from collections import Counter

from shoplora.io.accounting import AccountingError


def generation_funnel(parse_summaries, generated_lists, kept, dropped):
    """{provider: {task_type: counts}} joining parse_generated's summaries with curation.

    parse_summaries: provider -> parse summary (requested, read, valid, failures per type).
    generated_lists: the generated task lists given to curation; kept: the kept tasks;
    dropped: curation's drop frame (id, source, reason). For each type, valid = kept + the
    curation drops, or an AccountingError says which count is off.
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
            if counts["valid"] != counts["kept"] + sum(drops.values()):
                raise AccountingError(
                    f"{source} {task_type}: {counts['valid']} valid items but {counts['kept']} kept + "
                    f"{sum(drops.values())} dropped in curation"
                )
            per_type[task_type] = counts
        funnel[provider] = per_type
    return funnel
