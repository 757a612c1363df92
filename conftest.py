"""Workspace-wide pytest setup.

Hypothesis loads its built-in ``ci`` profile by itself when ``CI`` is set (derandomised, no
deadline); we leave that alone. Locally, the ``dev`` profile only drops the deadline, because
the first call into torch or a tokenizer is slow and would fail a timing we do not test.
"""

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None)
if not os.environ.get("CI"):
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
