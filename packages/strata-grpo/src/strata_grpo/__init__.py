"""strata_grpo — not built yet: its issue is open. The package installs and imports so that the
workspace resolves; it exports nothing until it is built."""

__all__: list[str] = []
