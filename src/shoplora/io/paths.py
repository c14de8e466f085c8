"""A source's `path`: a file, or a glob pattern of files."""

import glob
from pathlib import Path


def matching_files(pattern):
    """The files `pattern` names, sorted. A path that exists as written is that file, even
    when it holds glob characters (a folder named `data[a]` would otherwise match nothing)."""
    if Path(pattern).is_file():
        return [str(pattern)]
    return sorted(glob.glob(str(pattern)))
