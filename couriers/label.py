"""The printable return label for self-ship or store drop: the RMA as a
Code 128 barcode, where the parcel goes, and the units in it (reportlab)."""

from __future__ import annotations

from io import BytesIO

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A6, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas


def label_pdf(*, rma: str, to_lines: list[str], from_lines: list[str], units: list[str]) -> bytes:
    buffer = BytesIO()
    width, height = landscape(A6)
    pdf = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=0)
    pdf.setTitle(f"Return label {rma}")
    barcode = Code128(rma, barHeight=16 * mm, barWidth=0.5 * mm, humanReadable=True)
    barcode.drawOn(pdf, 8 * mm, height - 26 * mm)
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawString(8 * mm, height - 34 * mm, f"RETURN {rma}")
    y = height - 42 * mm
    pdf.setFont("Helvetica-Bold", 9)
    pdf.drawString(8 * mm, y, "Deliver to:")
    pdf.drawString(width / 2, y, "From:")
    pdf.setFont("Helvetica", 9)
    for n, line in enumerate(to_lines[:6]):
        pdf.drawString(8 * mm, y - (n + 1) * 4 * mm, line[:48])
    for n, line in enumerate(from_lines[:6]):
        pdf.drawString(width / 2, y - (n + 1) * 4 * mm, line[:48])
    y -= 30 * mm
    pdf.setFont("Helvetica-Bold", 9)
    pdf.drawString(8 * mm, y, f"Units ({len(units)}):")
    pdf.setFont("Helvetica", 8)
    for n, line in enumerate(units[:6]):
        pdf.drawString(8 * mm, y - (n + 1) * 3.5 * mm, line[:90])
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
