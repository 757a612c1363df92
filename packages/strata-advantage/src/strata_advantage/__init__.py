"""strata_advantage — stratified advantage normalisation (SAN) and classic group estimators.

    >>> import numpy as np
    >>> from strata_advantage import compute_advantages
    >>> r = np.array([1.0, 0.0, 1.0, 1.0, 0.2, 0.4])
    >>> compute_advantages(r, groups=[0, 0, 1, 1, 2, 2], domains=["math"] * 4 + ["mc"] * 2)
    array([ 1.41421356, -1.41421356,  0.        ,  0.        , -1.        ,  1.        ])

NumPy in, NumPy out; torch in, torch out on the same device. See ``docs/advantage.md``.
"""

from strata_advantage.api import AdvantageResult, DomainDiagnostics, compute_advantages, diagnose
from strata_advantage.batch import StratifiedBatch, make_batch
from strata_advantage.estimators import (
    Estimator,
    available_estimators,
    estimator_options,
    get_estimator,
    register_estimator,
)

__all__ = [
    "AdvantageResult",
    "DomainDiagnostics",
    "Estimator",
    "StratifiedBatch",
    "available_estimators",
    "compute_advantages",
    "diagnose",
    "estimator_options",
    "get_estimator",
    "make_batch",
    "register_estimator",
]
