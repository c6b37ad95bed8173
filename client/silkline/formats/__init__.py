"""Wire formats of silkline: pure functions, no I/O."""
