"""Screen analysis on tables (no torch)."""
