"""Figures and the self-contained HTML report (no CDN: figures are embedded)."""
