"""Apps: end-to-end jobs (a classic run, the tour) that the CLI and the studio call."""

from pixelab.apps.classic import run_classic

__all__ = ["run_classic"]
