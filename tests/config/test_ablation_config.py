"""Ablation variants in the config: merged sections, what each reuses, and clear errors."""

import copy

import pytest
import yaml

from shoplora.config.ablations import model_name, owns_curated, uses_pt, variant_sections
from shoplora.config.check import ConfigError, check_config

from conftest import REPO

DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())
SHIPPED = yaml.safe_load((REPO / "config/ablation.yaml").read_text())["ablations"]


def checked(ablations):
    config = copy.deepcopy(DEFAULT)
    config["ablations"] = ablations
    return check_config(config, base_dir=REPO)


def test_the_shipped_ablations_are_valid_and_each_reuses_what_it_does_not_change():
    config = checked(copy.deepcopy(SHIPPED))
    assert not owns_curated(config, "no_pt") and not uses_pt(config, "no_pt")
    for name in ("no_generated", "no_near_dedup"):
        assert owns_curated(config, name) and uses_pt(config, name)
    assert model_name("no_pt") == "ablation-no_pt"


def test_a_variant_changes_only_the_keys_it_names():
    config = checked({"short": {"train_sft": {"max_steps": 3, "extra": {"packing": True}}}})
    sections = variant_sections(config, "short")
    assert sections["train_sft"] == {
        **config["train_sft"],
        "max_steps": 3,
        "extra": {**config["train_sft"]["extra"], "packing": True},
    }
    assert sections["curate"] == config["curate"] and sections["train_pt"] == config["train_pt"]
    assert config["train_sft"]["max_steps"] == DEFAULT["train_sft"]["max_steps"]  # the full recipe is untouched


@pytest.mark.parametrize(
    "ablations, message",
    [
        (
            {"x": {"curate": {"near_duplicate_threshold": 3}}},
            "ablations.x.curate.near_duplicate_threshold: 3 is greater",
        ),
        ({"x": {"curate": {"no_such_key": 1}}}, "ablations.x.curate: Additional properties are not allowed"),
        ({"x": {"train_pt": {"max_steps": 3}}}, "ablations.x.train_pt"),
        ({"x": {"datasets": {"seed": 1}}}, "ablations.x"),
        ({"bad-name": {"curate": {"near_dedup": False}}}, "ablations: 'bad-name' does not match"),
        # a tuning key changes no result: the variant would train the full recipe again
        ({"x": {"curate": {"workers": 2}}}, "ablations.x: changes no key that decides a result"),
        ({"x": {"curate": {"near_dedup": True}}}, "ablations.x: changes no key that decides a result"),
    ],
)
def test_a_bad_variant_is_named_in_the_error(ablations, message):
    with pytest.raises(ConfigError, match="invalid configuration") as err:
        checked(ablations)
    assert message in str(err.value)
