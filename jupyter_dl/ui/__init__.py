"""Views: progress display, summary and figures (IPython display; widgets in later issues)."""
