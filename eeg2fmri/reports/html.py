"""Rendering of the HTML reports (Jinja2 templates, figures inlined as base64)."""

import base64
import html as _html
from importlib import resources

import jinja2

__all__ = ["render", "data_uri", "table_html"]


def _environment():
    loader = jinja2.FunctionLoader(_load_template)
    env = jinja2.Environment(
        loader=loader, autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    return env


def _load_template(name):
    path = resources.files("eeg2fmri.reports").joinpath("templates", name)
    return path.read_text(encoding="utf-8")


def _fmt(value, digits=3):
    """Format a number for a table: ``n/a`` for missing values."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "n/a" if value is None else str(value)
    if value != value:  # NaN
        return "n/a"
    return f"{value:.{digits}f}"


def data_uri(data, fmt="png"):
    """``data:`` URI of a PNG or SVG figure (so the report opens offline)."""
    mime = "image/svg+xml" if fmt == "svg" else f"image/{fmt}"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def table_html(frame, digits=3, classes="table"):
    """A DataFrame as an HTML table (numbers formatted, ``n/a`` for missing)."""
    head = "".join(f"<th>{_html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if isinstance(value, float):
                text = _fmt(value, digits)
            else:
                text = "n/a" if value is None else str(value)
            cells.append(f"<td>{_html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def render(template, **context):
    """Render ``templates/<template>`` with ``context``."""
    return _environment().get_template(template).render(**context)
