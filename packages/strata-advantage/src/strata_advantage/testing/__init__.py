"""Test helpers for code that uses strata_advantage: Hypothesis strategies and a loop oracle.

Needs ``hypothesis`` (not a dependency of the package: install it in your test environment).
"""

__all__ = ["reference", "strategies"]
