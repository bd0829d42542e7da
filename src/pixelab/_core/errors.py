"""The one exception type users see, carrying a hint that says what to do next."""

from __future__ import annotations


class PixelabError(Exception):
    """An error caused by the user's input or environment, with a hint on how to fix it.

    The CLI prints ``str(err)`` as one red line and exits with code 2.

    >>> str(PixelabError("no images in 'x/'", hint="add class subfolders with images"))
    "no images in 'x/' (hint: add class subfolders with images)"
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} (hint: {hint})")
