"""strata_curriculum — being built."""

__all__: list[str] = []
