"""strata_rewards — being built."""

__all__: list[str] = []
