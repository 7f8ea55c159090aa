"""Stages people earn: where each stage comes from, who may host, and the verification queue."""
