"""Helpers for the command-line tools (``posyandu-anthro``): no Flask, no database."""
