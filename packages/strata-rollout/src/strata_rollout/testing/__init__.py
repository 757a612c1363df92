"""Test helpers: a tiny random causal LM built from a config, for tests that need a real
transformers model but not a trained one."""

from strata_rollout.testing.tiny import tiny_causal_lm

__all__ = ["tiny_causal_lm"]
