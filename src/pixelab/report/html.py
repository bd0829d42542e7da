"""A self-contained HTML report: chapters of text, tables and embedded PNG figures."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelab._core.io import atomic_write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#1d232a;line-height:1.5}
h1{font-size:2em;margin-bottom:.2em} h2{margin-top:2.2em;border-bottom:2px solid #e3e7ec;
padding-bottom:.2em} .lede{color:#56606b} figure{margin:1.2em 0} figure img{max-width:100%;
border:1px solid #e3e7ec;border-radius:4px} figcaption{color:#56606b;font-size:.92em}
table{border-collapse:collapse;margin:1em 0;font-size:.95em} th,td{padding:.35em .8em;
border-bottom:1px solid #e3e7ec;text-align:left} th{background:#f4f6f8}
td.num{text-align:right;font-variant-numeric:tabular-nums} nav ol{columns:2}
.note{background:#fff8e1;border-left:4px solid #f5b300;padding:.5em 1em}
code{background:#f4f6f8;padding:.1em .3em;border-radius:3px}
"""


@dataclass
class Chapter:
    """One chapter: a title and a list of blocks (paragraphs, figures, tables)."""

    title: str
    blocks: list[str] = field(default_factory=list)

    def text(self, *paragraphs: str) -> Chapter:
        """Add paragraphs of plain text (escaped; `backticks` become code)."""
        for p in paragraphs:
            esc = html.escape(p)
            parts = esc.split("`")
            esc = "".join(f"<code>{s}</code>" if i % 2 else s for i, s in enumerate(parts))
            self.blocks.append(f"<p>{esc}</p>")
        return self

    def note(self, text: str) -> Chapter:
        """Add a highlighted remark."""
        self.blocks.append(f'<p class="note">{html.escape(text)}</p>')
        return self

    def figure(self, path: str | os.PathLike[str], caption: str = "") -> Chapter:
        """Embed a PNG file (base64) with a caption."""
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        self.blocks.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Chapter:
        """Add a table; numbers are right-aligned and floats shown with 3 decimals."""

        def cell(v: Any) -> str:
            if isinstance(v, float):
                return f'<td class="num">{v:,.3f}</td>'
            if isinstance(v, int):
                return f'<td class="num">{v:,}</td>'
            return f"<td>{html.escape(str(v))}</td>"

        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows)
        self.blocks.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self


@dataclass
class HtmlReport:
    """Chapters rendered into one HTML file that needs nothing else to open."""

    title: str
    lede: str = ""
    chapters: list[Chapter] = field(default_factory=list)

    def chapter(self, title: str) -> Chapter:
        """Start a new chapter and return it for adding blocks."""
        ch = Chapter(title)
        self.chapters.append(ch)
        return ch

    def render(self) -> str:
        """The whole page as a string."""
        toc = "".join(
            f'<li><a href="#ch{i}">{html.escape(c.title)}</a></li>'
            for i, c in enumerate(self.chapters, 1)
        )
        body = "".join(
            f'<section id="ch{i}"><h2>{i}. {html.escape(c.title)}</h2>{"".join(c.blocks)}</section>'
            for i, c in enumerate(self.chapters, 1)
        )
        return (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1><p class=lede>{html.escape(self.lede)}</p>"
            f"<nav><ol>{toc}</ol></nav>{body}</body></html>\n"
        )

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report atomically."""
        return atomic_write_text(path, self.render())
