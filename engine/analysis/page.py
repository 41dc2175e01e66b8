"""Tables as CSV / Markdown / HTML, and the self-checking HTML page of a report.

The page is one static ``index.html`` with relative image links, inline CSS and a tiny inline
script that, after load, writes ``data-images-ok="N/M"`` (images with ``naturalWidth > 0``)
and ``data-tables-ok="N/M"`` (tables with rows and a non-zero rendered height) onto
``<body>``: a browser self-check that the tests read back from headless Chromium.
"""

from __future__ import annotations

import html
import math
import os
import pathlib
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["Page", "format_frame", "markdown_table", "safe_name", "write_table"]

_SHARE = re.compile(r"(^|_)share($|_)|_share_|^share")


def _is_share(column: str) -> bool:
    return bool(_SHARE.search(column)) or column.startswith("area_share")


def _number(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v == 0:
            return "0"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(value)


def _percent(value: object) -> str:
    if value is None or not isinstance(value, (float, np.floating, int, np.integer)):
        return _number(value)
    v = float(value)
    if math.isnan(v):
        return "–"
    return f"{100 * v:.3g} %" if abs(v) < 0.01 else f"{100 * v:.1f} %"


def format_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Strings for display: shares as percentages, other numbers with thousands separators.

    Parameters
    ----------
    frame
        Any table; columns whose name contains ``share`` are shown as percentages.

    Returns
    -------
    pandas.DataFrame
        Same shape, object dtype.
    """
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        fmt = _percent if _is_share(str(column)) else _number
        out[column] = [fmt(v) for v in frame[column].tolist()]
    return out


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no ``tabulate`` dependency).

    Parameters
    ----------
    frame
        Table to show (formatted with ``format_frame``).

    Returns
    -------
    str
    """
    shown = format_frame(frame)
    header = [str(c) for c in shown.columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in shown.itertuples(index=False):
        cells = [str(v).replace("|", "\\|") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_table(frame: pd.DataFrame, out_dir: pathlib.Path, name: str) -> pathlib.Path:
    """Write ``frame`` as ``<out_dir>/<name>.csv`` (full precision, no index).

    Parameters
    ----------
    frame
        Table.
    out_dir
        Folder.
    name
        File stem.

    Returns
    -------
    pathlib.Path
        The CSV path.
    """
    path = out_dir / f"{name}.csv"
    frame.to_csv(path, index=False, float_format="%.10g")
    return path


def safe_name(label: str, taken: set[str]) -> str:
    """A file-name-safe, unique stem for a label (consumer names may hold any character)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "layer"
    name, i = stem, 2
    while name.lower() in taken:
        name, i = f"{stem}_{i}", i + 1
    taken.add(name.lower())
    return name


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em;
     border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
pre { background: #f7f7f7; padding: 0.8em; white-space: pre-wrap; overflow-wrap: anywhere; }
.note { color: #555; } figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
"""

_CHECK = """
window.footgridErrors = 0;
window.addEventListener("error", function () { window.footgridErrors++; }, true);
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; }
  }
  var tables = document.querySelectorAll("table"), shown = 0;
  for (var j = 0; j < tables.length; j++) {
    if (tables[j].rows.length > 1 && tables[j].offsetHeight > 0) { shown++; }
  }
  document.body.setAttribute("data-images-ok", ok + "/" + imgs.length);
  document.body.setAttribute("data-errors", String(window.footgridErrors));
  document.body.setAttribute("data-load-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-tables-ok", shown + "/" + tables.length);
});
"""


class Page:
    """Accumulates a report as HTML and Markdown in parallel.

    Parameters
    ----------
    title
        Page title.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._html: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        self._md: list[str] = [f"# {title}", ""]

    def heading(self, text: str) -> None:
        """A section heading."""
        self._html.append(f"<h2>{html.escape(text)}</h2>")
        self._md += [f"## {text}", ""]

    def paragraph(self, text: str, *, css: str | None = None) -> None:
        """A paragraph of plain text."""
        cls = f' class="{css}"' if css else ""
        self._html.append(f"<p{cls}>{html.escape(text)}</p>")
        self._md += [text, ""]

    def preformatted(self, text: str) -> None:
        """Monospaced text (the headline)."""
        self._html.append(f"<pre>{html.escape(text)}</pre>")
        self._md += ["```", text, "```", ""]

    def table(
        self, frame: pd.DataFrame, *, caption: str | None = None, csv: str | None = None
    ) -> None:
        """A table (shown formatted; ``csv`` is the relative link to the full CSV)."""
        if caption:
            self._html.append(f"<p>{html.escape(caption)}</p>")
            self._md += [caption, ""]
        self._html.append(format_frame(frame).to_html(index=False, escape=True, border=0))
        self._md += [markdown_table(frame), ""]
        if csv:
            self._html.append(f'<p class="note">Full table: <a href="{csv}">{csv}</a></p>')
            self._md += [f"Full table: [{csv}]({csv})", ""]

    def image(self, src: str, *, caption: str) -> None:
        """An image by relative path, with a caption."""
        esc = html.escape(caption)
        self._html.append(
            f'<figure><img src="{html.escape(src)}" alt="{esc}"><figcaption>{esc}</figcaption>'
            "</figure>"
        )
        self._md += [f"![{caption}]({src})", ""]

    def links(self, items: Iterable[tuple[str, str]]) -> None:
        """A list of links (label, relative href)."""
        entries = "".join(
            f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>'
            for label, href in items
        )
        self._html.append(f"<ul>{entries}</ul>")

    def write(self, out_dir: pathlib.Path) -> pathlib.Path:
        """Write ``index.html`` and ``report.md`` into ``out_dir``; return the HTML path."""
        body = "\n".join(self._html)
        page = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n"
            f"<script>{_CHECK}</script>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
        )
        path = out_dir / "index.html"
        path.write_text(page, encoding="utf-8")
        (out_dir / "report.md").write_text("\n".join(self._md) + "\n", encoding="utf-8")
        return path


def ensure_dir(out_dir: str | os.PathLike) -> pathlib.Path:
    """Create the output folder (and parents) and return it as a Path."""
    path = pathlib.Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path
