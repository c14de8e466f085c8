# shoplora: LoRA-tune an LLM on online-shopping concepts, from corpus to a base-vs-tuned table.
from snakemake.utils import min_version

min_version("9.0")


# The embedded default, unless a config is given with --configfile: Snakemake would otherwise
# merge the two, and a real config would inherit the default's corpus sources and providers.
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/generation.smk"
include: "workflow/rules/curation.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/inference.smk"
include: "workflow/rules/evaluation.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
