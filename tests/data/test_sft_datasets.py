import pandas as pd

from shoplora.data.sft_datasets import dataset_info, drop_overlong, sft_rows, split_train_val


def test_sft_rows_answers_are_strings():
    tasks = [
        {"input_field": "q1", "output_field": 2, "task_type": "multiple-choice", "source": "seed", "id": "a"},
        {"input_field": "q2", "output_field": [3, 1], "task_type": "ranking", "source": "seed", "id": "b"},
        {
            "input_field": "q3",
            "output_field": ["X", "Y"],
            "task_type": "named_entity_recognition",
            "source": "generated:p",
            "id": "c",
        },
    ]
    frame = sft_rows(tasks)
    assert frame["output"].tolist() == ["2", "3,1", '["X", "Y"]']
    assert all(isinstance(v, str) for v in frame["output"])
    assert list(frame.columns) == ["instruction", "input", "output", "task_type", "source", "id"]


def test_split_is_fixed_and_disjoint():
    frame = pd.DataFrame({"id": [f"id{i}" for i in range(40)], "text": range(40)})
    train, val = split_train_val(frame, 0.2, seed=7)
    train2, val2 = split_train_val(frame.sample(frac=1, random_state=1), 0.2, seed=7)
    assert len(val) == 8 and len(train) == 32
    assert set(val["id"]) == set(val2["id"])
    assert not set(train["id"]) & set(val["id"])


def test_dataset_info_registers_all_four_files():
    info = dataset_info(
        {"pt_train": "a.parquet", "pt_val": "b.parquet", "sft_train": "c.parquet", "sft_val": "d.parquet"}
    )
    assert info["shoplora_sft_train"]["columns"] == {"prompt": "instruction", "query": "input", "response": "output"}
    assert info["shoplora_pt_val"]["file_name"] == "b.parquet"
    assert info["shoplora_pt_train"]["columns"] == {"prompt": "text"}


def test_an_overlong_prompt_is_dropped_with_a_record():
    tasks = [
        {"input_field": "short", "output_field": "a", "task_type": "generation", "source": "seed", "id": "s"},
        {"input_field": "x" * 1_000_001, "output_field": "b", "task_type": "generation", "source": "gen", "id": "g"},
    ]
    kept, drops = drop_overlong(tasks, 100_000)
    assert [t["id"] for t in kept] == ["s"]
    (record,) = drops.frame().to_dict("records")
    assert (record["id"], record["reason"], record["detail"]) == ("g", "prompt_too_long", "1000001 characters > 100000")
    summary = drops.summary({"seed": 1, "gen": 1}, {"seed": 1})
    assert summary["total"] == {"rows_in": 2, "kept": 1, "dropped": 1, "reasons": {"prompt_too_long": 1}}
