"""The UI: one module per page, plus ``ui`` (shared widgets and state). Pages only render and call services."""
