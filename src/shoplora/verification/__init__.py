"""The quality gate (verify, review): each generated task answered blind by a verifier and rated
by a judge, a drop or a flag for the ones that fail, and a reviewed sample that measures what
got through."""
