"""The weekly planner report: read-side facts, pure sections, inline SVG charts, one HTML file plus CSVs."""
