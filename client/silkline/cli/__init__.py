"""Command-line interface of silkline: one module per verb group."""
