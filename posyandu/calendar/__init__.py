"""Posyandu session calendar: the monthly rule plus exceptions (moved, cancelled, extra)."""
