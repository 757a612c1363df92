"""Test helpers for code that uses strata_rewards: Hypothesis strategies of completions
(``strategies``, needs ``hypothesis``, not a dependency of the package: install it in your test
environment) and fixed 100 kB adversarial completions (``adversarial``, no dependency).
"""

__all__ = ["adversarial", "strategies"]
