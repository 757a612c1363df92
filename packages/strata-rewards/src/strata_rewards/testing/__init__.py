"""Test helpers for code that uses strata_rewards: Hypothesis strategies of completions.

Needs ``hypothesis`` (not a dependency of the package: install it in your test environment).
"""

__all__ = ["strategies"]
