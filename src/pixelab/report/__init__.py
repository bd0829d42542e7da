"""Report: figures (draw only), run folders and self-contained HTML reports."""

from pixelab.report.html import Chapter, HtmlReport
from pixelab.report.rundir import RUN_FORMAT_VERSION, RunDir

__all__ = ["RUN_FORMAT_VERSION", "Chapter", "HtmlReport", "RunDir"]
