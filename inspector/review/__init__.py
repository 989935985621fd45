"""Operator review of rejected welds: queries, verdicts, overlays and export to training."""
