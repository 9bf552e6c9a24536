"""Exception types shared by every layer.

Every error a user can cause by giving ferroscreen bad input derives from
:class:`FerroscreenError`. Its message is one line that names the file (and,
where it applies, the line and column) and says what is wrong; the CLI prints
it without a traceback and exits with status 2.
"""


def missing_file(path, what: str) -> str:
    """The message for a ``path`` that should be a file (``what``) and is not: a folder, or nothing."""
    from pathlib import Path

    if Path(path).is_dir():
        return f"{path}: is a folder, not {'an' if what[:1] in 'aeiou' else 'a'} {what}"
    return f"{path}: {what} not found"


class FerroscreenError(Exception):
    """Base class of user-facing errors (bad input, missing files, mismatches)."""


class WellError(FerroscreenError, ValueError):
    """A well identifier that cannot be parsed or lies outside the plate format."""


class LayoutError(FerroscreenError, ValueError):
    """A plate layout that cannot be read or fails validation."""


class AcquisitionError(FerroscreenError):
    """An acquisition folder or file that cannot be read as the expected format."""


class ImageReadError(AcquisitionError):
    """An image file that is missing, truncated or not decodable."""


class ModelBundleError(FerroscreenError):
    """A model bundle that is corrupt or does not fit the task at hand."""
