"""PDF reports with reportlab: title, key figures, charts (reportlab.graphics bar
charts: one series, or several side by side with a legend) and the tables, each table
cut at ``max_rows`` with a note saying so (the CSV and JSON keep every row)."""

from __future__ import annotations

import io
import math
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from services.reporting.documents import Chart, Document
from services.reporting.documents import Table as DocumentTable

PALETTE = [colors.HexColor(c) for c in ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2")]
CHART_WIDTH = 170 * mm
CHART_HEIGHT = 75 * mm
MAX_LABELLED_BARS = 60
_TABLE_STYLE = TableStyle(
    [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _chart(chart: Chart) -> Drawing:
    drawing = Drawing(CHART_WIDTH, CHART_HEIGHT)
    drawing.add(String(0, CHART_HEIGHT - 12, chart.title, fontName="Helvetica-Bold", fontSize=10))
    bars = VerticalBarChart()
    bars.x, bars.y = 30, 35
    bars.width = CHART_WIDTH - (110 if len(chart.series) > 1 else 50)
    bars.height = CHART_HEIGHT - 60
    values = [list(series) or [0] for _, series in chart.series] or [[0]]
    bars.data = values
    bars.categoryAxis.categoryNames = list(chart.categories) or ["none"]
    bars.categoryAxis.labels.fontSize = 7
    bars.categoryAxis.labels.boxAnchor = "ne" if len(chart.categories) > 6 else "n"
    bars.categoryAxis.labels.angle = 30 if len(chart.categories) > 6 else 0
    bars.valueAxis.valueMin = 0
    peak = max((max(v) for v in values), default=0)
    bars.valueAxis.valueMax = max(1, peak * 1.15)
    # Counts: whole-number ticks, about five of them.
    bars.valueAxis.valueStep = max(1, math.ceil(bars.valueAxis.valueMax / 5))
    bars.valueAxis.labelTextFormat = "%d"
    bars.valueAxis.labels.fontSize = 7
    # Many bars leave no room for their labels: the axis and the tables give the values.
    labelled = sum(len(v) for v in values) <= MAX_LABELLED_BARS
    bars.barLabelFormat = chart.value_format if labelled else None
    bars.barLabels.fontSize = 6
    bars.barLabels.nudge = 5
    for index in range(len(values)):
        bars.bars[index].fillColor = PALETTE[index % len(PALETTE)]
    drawing.add(bars)
    if len(chart.series) > 1:
        legend = Legend()
        legend.x, legend.y = CHART_WIDTH - 70, CHART_HEIGHT - 30
        legend.fontSize = 7
        legend.colorNamePairs = [
            (PALETTE[i % len(PALETTE)], name) for i, (name, _) in enumerate(chart.series)
        ]
        drawing.add(legend)
    return drawing


def _table(table: DocumentTable, max_rows: int, styles: Any) -> list[Any]:
    rows = table.rows[:max_rows]
    cells = [table.columns, *[["" if v is None else str(v) for v in row] for row in rows]]
    flowables: list[Any] = [Paragraph(escape(table.title), styles["Heading3"])]
    if not rows:
        flowables.append(Paragraph("Nothing to show.", styles["BodyText"]))
        return flowables
    grid = LongTable(cells, repeatRows=1, hAlign="LEFT")
    grid.setStyle(_TABLE_STYLE)
    flowables.append(grid)
    if len(table.rows) > max_rows:
        note = f"First {max_rows} of {len(table.rows)} rows; the CSV and JSON have them all."
        flowables.append(Paragraph(note, styles["Italic"]))
    return flowables


def render_pdf(document: Document, meta: dict[str, Any], max_rows: int = 2000) -> bytes:
    """The document as a PDF with charts."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=document.title,
        author="Task platform reporting",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    story: list[Any] = [
        Paragraph(escape(document.title), styles["Title"]),
        Paragraph(escape(document.subtitle), styles["BodyText"]),
        Paragraph(f"Report {meta['id']}, generated {meta['generated_at']}", styles["BodyText"]),
        Spacer(1, 4 * mm),
        Paragraph("Key figures", styles["Heading2"]),
    ]
    figures = Table(
        [["figure", "value"], *[[label, str(value)] for label, value in document.figures]],
        hAlign="LEFT",
    )
    figures.setStyle(_TABLE_STYLE)
    story.append(figures)
    if document.charts:
        story.append(Paragraph("Charts", styles["Heading2"]))
        story.extend(KeepTogether([_chart(chart), Spacer(1, 3 * mm)]) for chart in document.charts)
    story.append(Paragraph("Tables", styles["Heading2"]))
    for table in document.tables:
        story.extend(_table(table, max_rows, styles))
        story.append(Spacer(1, 3 * mm))
    pdf.build(story)
    return buffer.getvalue()
