# shoplora: LoRA-tune an LLM on online-shopping concepts, from corpus to a base-vs-tuned table.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

# The library is this checkout's src/, for Snakemake itself and for every job it starts (jobs
# inherit the environment, in conda envs and on Slurm too), so each checkout runs its own code.
LIBRARY = str(Path(workflow.basedir) / "src")
sys.path.insert(0, LIBRARY)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [LIBRARY, os.environ.get("PYTHONPATH")])))

from shoplora.config.check import yaml_syntax_problem  # noqa: E402

# The embedded default, unless a config is given with --configfile: Snakemake would otherwise
# merge the two, and a real config would inherit the default's corpus sources and providers.
if not workflow.config_settings.configfiles:
    # Snakemake's own message for broken YAML names neither the file nor the line.
    if problem := yaml_syntax_problem("config/config.yaml"):
        raise WorkflowError(problem)

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/generation.smk"
include: "workflow/rules/verify.smk"
include: "workflow/rules/curation.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/inference.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/ablation.smk"
include: "workflow/rules/release.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
