"""Importing and exporting people as CSV: a preview first, then one all-or-nothing change."""
