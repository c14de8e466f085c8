"""The one accounting vocabulary: drop records and tallies (rows in = kept + dropped)."""

import pytest

from shoplora.io.accounting import AccountingError, DropLog, Tally


def test_a_tally_that_does_not_add_up_names_where_and_the_counts():
    assert Tally(5, 3, {"empty_text": 2}).check("here").dropped == 2
    with pytest.raises(AccountingError, match=r"source a: 5 rows in but 3 kept \+ 1 dropped \{'x': 1\}"):
        Tally(5, 3, {"x": 1}).check("source a")


def test_tallies_add_reason_by_reason_and_round_trip_through_their_dict():
    total = Tally(10, 3, {"other_language": 4, "not_sampled": 3}) + Tally(5, 4, {"not_sampled": 1})
    assert total == Tally(15, 7, {"not_sampled": 4, "other_language": 4})
    assert Tally.from_dict(total.to_dict()) == total
    with pytest.raises(AccountingError, match="'dropped' is not the sum"):
        Tally.from_dict({**total.to_dict(), "dropped": 9})


def test_a_drop_log_summary_accounts_for_every_source_or_raises():
    drops = DropLog()
    drops.drop("t1", "seed", "null:input_field")
    drops.drop("t2", "generated:p", "near_duplicate", duplicate_of="t0", score=0.9)
    summary = drops.summary({"seed": 3, "generated:p": 2}, {"seed": 2, "generated:p": 1})
    assert summary["total"] == {
        "rows_in": 5,
        "kept": 3,
        "dropped": 2,
        "reasons": {"near_duplicate": 1, "null:input_field": 1},
    }
    assert drops.records()[1] == {
        "id": "t2",
        "source": "generated:p",
        "reason": "near_duplicate",
        "duplicate_of": "t0",
        "score": 0.9,
        "detail": None,
    }
    assert list(drops.frame().columns) == ["id", "source", "reason", "duplicate_of", "score", "detail"]
    with pytest.raises(AccountingError, match="source seed: 3 rows in but 3 kept"):
        drops.summary({"seed": 3}, {"seed": 3})
