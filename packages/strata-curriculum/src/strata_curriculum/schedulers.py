"""Domain schedulers: how many of the next batch's prompts each domain gets.

All schedulers share one protocol (:class:`DomainScheduler`) and one way of turning weights into
whole prompt counts (:func:`apportion`): every domain first gets its floor, the rest goes by
largest remainder, ties broken by a seeded RNG. They differ only in their weights:

- :class:`UCBScheduler`: ``score_d = (1 - acc_d) + c * sqrt(ln N / n_d)``, ``acc_d`` an
  exponential moving average of the domain's rewards, ``n_d`` the rewards seen for ``d``,
  ``N`` their total; the weight is ``score_d ** sharpness``. Weak and rarely-seen domains score
  high. A domain never seen has an infinite bonus and shares the non-floor prompts with the
  other unseen ones.
- :class:`UniformScheduler`: equal weights.
- :class:`ProportionalScheduler`: fixed weights.

Departure from UCB1: a bandit pulls one arm per step; a GRPO batch must mix domains (SAN needs
several in a batch, and a starved domain is forgotten), so scores become shares of the batch
instead of an argmax.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

STATE_VERSION = 1


@runtime_checkable
class DomainScheduler(Protocol):
    """What the trainer needs from a scheduler."""

    @property
    def domains(self) -> tuple[str, ...]: ...

    def allocate(self, n_prompts: int) -> dict[str, int]:
        """Prompts per domain for the next batch; the counts sum to ``n_prompts``."""
        ...

    def update(self, domain: str, rewards: Iterable[float]) -> None:
        """Feed one step's rewards (in [0, 1]: correctness or normalised reward) of a domain."""
        ...

    def scores(self) -> dict[str, float]:
        """The weight each domain has now (for logging)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; loading it into a fresh scheduler continues exactly."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def apportion(weights: Sequence[float], n: int, floor: float, rng: random.Random) -> list[int]:
    """Whole counts summing to ``n``: a floor for each, the rest in proportion to ``weights``.

    Every index first gets ``min(ceil(floor * n), n // K)`` (its floor share, when ``n`` allows);
    the remainder is split by largest remainder (Hamilton), remainders tied to 1e-12 broken by
    ``rng``. Infinite weights share the remainder equally among themselves; all-zero weights
    share it equally among all.

    Args:
        weights: Shape: [K], each >= 0 (inf allowed).
        n: total, >= 0.
        floor: share guaranteed to each index, in [0, 1/K].
    """
    k = len(weights)
    if k == 0:
        raise ValueError("weights is empty: there is nothing to apportion among")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    bad = [i for i, w in enumerate(weights) if not w >= 0.0]  # also NaN
    if bad:
        raise ValueError(
            f"weights must be >= 0 (inf allowed); weights[{bad[0]}] = {weights[bad[0]]}"
        )
    base = min(math.ceil(floor * n - 1e-9), n // k) if n else 0
    counts = [base] * k
    rest = n - base * k
    if rest == 0:
        return counts
    if any(math.isinf(w) for w in weights):
        weights = [1.0 if math.isinf(w) else 0.0 for w in weights]
    total = math.fsum(weights)
    if total <= 0.0:
        weights, total = [1.0] * k, float(k)
    quotas = [rest * w / total for w in weights]
    whole = [math.floor(q) for q in quotas]
    counts = [c + w for c, w in zip(counts, whole, strict=True)]
    leftover = rest - sum(whole)
    tiebreak = [rng.random() for _ in range(k)]
    order = sorted(range(k), key=lambda i: (-round(quotas[i] - whole[i], 12), tiebreak[i]))
    for i in order[:leftover]:
        counts[i] += 1
    return counts


STATE_KEYS = ("version", "kind", "domains", "config", "accuracy", "seen", "rng")


def check_state_keys(state: Mapping[str, Any]) -> None:
    """Raise ValueError naming what a :meth:`state_dict` output lacks (a checkpoint of another
    program, or a truncated one), instead of a KeyError on the first missing key."""
    if not isinstance(state, Mapping):
        raise TypeError(f"a scheduler state is a mapping, got {type(state).__name__}")
    missing = [key for key in STATE_KEYS if key not in state]
    if missing:
        raise ValueError(
            f"not a scheduler's state_dict: it lacks {', '.join(missing)} "
            f"(has {', '.join(map(str, state)) or 'nothing'})"
        )


class _Scheduler:
    """Shared bookkeeping: domains, reward statistics, RNG, validation, state."""

    kind = "base"

    def __init__(
        self, domains: Sequence[str], *, floor: float, ema: float, seed: int | None
    ) -> None:
        if isinstance(domains, str):
            raise TypeError(
                f"domains must be a sequence of names, got the string {domains!r} "
                f"(a single domain is [{domains!r}])"
            )
        names = tuple(domains)
        if not names:
            raise ValueError("domains is empty: a scheduler needs at least one domain")
        if len(set(names)) != len(names):
            dupes = sorted({d for d in names if names.count(d) > 1})
            raise ValueError(f"domains must be unique; repeated: {dupes}")
        if not all(isinstance(d, str) and d for d in names):
            raise ValueError(f"domains must be non-empty strings, got {list(names)!r}")
        if not 0.0 <= floor <= 1.0 / len(names):
            raise ValueError(
                f"floor must lie in [0, 1/K] = [0, {1 / len(names):.4g}] for K={len(names)} "
                f"domains (each domain is guaranteed that share), got {floor}"
            )
        if not 0.0 < ema <= 1.0:
            raise ValueError(f"ema must lie in (0, 1] (weight of the newest step), got {ema}")
        self._domains = names
        self.floor = floor
        self.ema = ema
        self.seed = seed
        self._rng = random.Random(seed)
        self._acc: dict[str, float | None] = dict.fromkeys(names)
        self._seen: dict[str, int] = dict.fromkeys(names, 0)

    @property
    def domains(self) -> tuple[str, ...]:
        return self._domains

    def accuracy(self) -> dict[str, float | None]:
        """Running (exponential) mean reward per domain; ``None`` before its first update."""
        return dict(self._acc)

    def counts(self) -> dict[str, int]:
        """Rewards seen per domain."""
        return dict(self._seen)

    def _weights(self) -> list[float]:
        raise NotImplementedError

    def _allocation_weights(self) -> list[float]:
        return self._weights()

    def scores(self) -> dict[str, float]:
        return dict(zip(self._domains, self._weights(), strict=True))

    def allocate(self, n_prompts: int) -> dict[str, int]:
        if isinstance(n_prompts, bool) or not isinstance(n_prompts, int):
            raise TypeError(f"n_prompts must be an int, got {type(n_prompts).__name__}")
        if n_prompts < 0:
            raise ValueError(f"n_prompts must be >= 0, got {n_prompts}")
        counts = apportion(self._allocation_weights(), n_prompts, self.floor, self._rng)
        return dict(zip(self._domains, counts, strict=True))

    def update(self, domain: str, rewards: Iterable[float]) -> None:
        if domain not in self._acc:
            raise ValueError(f"unknown domain {domain!r}; known: {', '.join(self._domains)}")
        if isinstance(rewards, str | bytes) or not isinstance(rewards, Iterable):
            raise TypeError(
                f"rewards for {domain!r} must be an iterable of numbers, got {rewards!r}"
            )
        try:
            values = [float(r) for r in rewards]
        except (TypeError, ValueError) as err:
            raise TypeError(f"rewards for {domain!r} must be numbers: {err}") from None
        for i, r in enumerate(values):
            if not 0.0 <= r <= 1.0:  # also rejects NaN
                raise ValueError(
                    f"rewards for {domain!r} must lie in [0, 1] (correctness or a normalised "
                    f"reward); got {r} at index {i}"
                )
        if not values:
            return
        mean = math.fsum(values) / len(values)
        prev = self._acc[domain]
        self._acc[domain] = mean if prev is None else (1 - self.ema) * prev + self.ema * mean
        self._seen[domain] += len(values)

    def _config(self) -> dict[str, Any]:
        return {"floor": self.floor, "ema": self.ema, "seed": self.seed}

    def state_dict(self) -> dict[str, Any]:
        version, internal, gauss = self._rng.getstate()
        return {
            "version": STATE_VERSION,
            "kind": self.kind,
            "domains": list(self._domains),
            "config": self._config(),
            "accuracy": dict(self._acc),
            "seen": dict(self._seen),
            "rng": [version, list(internal), gauss],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        check_state_keys(state)
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"state version {state.get('version')!r} is not {STATE_VERSION}")
        if state.get("kind") != self.kind:
            raise ValueError(f"state is of a {state.get('kind')!r} scheduler, not {self.kind!r}")
        if tuple(state["domains"]) != self._domains:
            raise ValueError(
                f"state is for domains {state['domains']}, this scheduler has {list(self._domains)}"
            )
        for key, value in state["config"].items():  # floor, ema, seed, and c or weights
            setattr(self, key, value)
        self._acc = {d: state["accuracy"][d] for d in self._domains}
        self._seen = {d: int(state["seen"][d]) for d in self._domains}
        version, internal, gauss = state["rng"]
        self._rng.setstate((version, tuple(internal), gauss))


class UCBScheduler(_Scheduler):
    """Upper-confidence scheduler favouring weak and rarely-seen domains (see module doc).

    Args:
        domains: domain names, in a fixed order (the order of ``allocate``'s dict).
        c: exploration weight of the bonus ``sqrt(ln N / n_d)``; 0 = greedy on weakness.
        floor: share of every batch guaranteed to each domain, in [0, 1/K]; default
            ``min(0.1, 1/K)``.
        ema: weight of the newest step in the running accuracy, in (0, 1].
        sharpness: shares follow ``score ** sharpness``; 1 = in proportion to the scores, larger
            = more of the free prompts to the top scorers (toward UCB1's argmax). Proportional
            shares of close scores round to an even split in small batches (3 free prompts, 3
            domains: 1 each whatever the scores); the default 4 lets the curriculum act (it
            lifted the weakest domain most in ``benchmarks/curriculum_simulation.py``).
        seed: seeds the tie-breaking RNG; same seed, same calls -> same allocations.
    """

    kind = "ucb"

    def __init__(
        self,
        domains: Sequence[str],
        *,
        c: float = 0.5,
        floor: float | None = None,
        ema: float = 0.3,
        sharpness: float = 4.0,
        seed: int | None = None,
    ) -> None:
        if floor is None:
            floor = min(0.1, 1.0 / max(len(domains), 1))
        super().__init__(domains, floor=floor, ema=ema, seed=seed)
        if not (c >= 0.0 and math.isfinite(c)):
            raise ValueError(f"c must be a finite number >= 0, got {c}")
        if not (0.0 < sharpness <= 64.0):  # also rejects NaN; 64 already acts as an argmax
            raise ValueError(f"sharpness must lie in (0, 64], got {sharpness}")
        self.c = c
        self.sharpness = sharpness

    def _weights(self) -> list[float]:
        total = sum(self._seen.values())
        log_total = math.log(total) if total > 1 else 0.0
        out = []
        for d in self._domains:
            n, acc = self._seen[d], self._acc[d]
            if n == 0 or acc is None:
                out.append(math.inf)
            else:
                out.append((1.0 - acc) + self.c * math.sqrt(log_total / n))
        return out

    def _allocation_weights(self) -> list[float]:
        weights = self._weights()
        top = max(weights)
        if math.isinf(top) or top <= 0.0:
            return weights  # apportion gives the free prompts to the unseen domains
        # Relative to the top score: the same shares, and no overflow for large c or sharpness.
        return [(w / top) ** self.sharpness for w in weights]

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "c": self.c, "sharpness": self.sharpness}


class ProportionalScheduler(_Scheduler):
    """Fixed shares: ``weights[d] / sum(weights)`` of each batch (after the floor)."""

    kind = "proportional"

    def __init__(
        self,
        weights: Mapping[str, float],
        *,
        floor: float = 0.0,
        ema: float = 0.3,
        seed: int | None = None,
    ) -> None:
        if not isinstance(weights, Mapping):
            raise TypeError(
                f"weights must map each domain to its share, e.g. {{'a': 1.0, 'b': 2.0}}; got "
                f"{weights!r} (equal shares: UniformScheduler)"
            )
        super().__init__(list(weights), floor=floor, ema=ema, seed=seed)
        bad = {
            d: w
            for d, w in weights.items()
            if isinstance(w, bool)
            or not isinstance(w, numbers.Real)
            or not (w >= 0.0 and math.isfinite(w))
        }
        if bad:
            raise ValueError(f"weights must be finite numbers >= 0; got {bad}")
        if not any(weights.values()):
            raise ValueError("weights are all zero: no domain would get a prompt")
        self.weights = {d: float(weights[d]) for d in self._domains}

    def _weights(self) -> list[float]:
        return [self.weights[d] for d in self._domains]

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "weights": dict(self.weights)}


class UniformScheduler(ProportionalScheduler):
    """Equal shares; leftover prompts go to domains drawn by the seeded RNG."""

    kind = "uniform"

    def __init__(
        self, domains: Sequence[str], *, ema: float = 0.3, seed: int | None = None
    ) -> None:
        _Scheduler.__init__(self, domains, floor=0.0, ema=ema, seed=seed)
        self.weights = dict.fromkeys(self._domains, 1.0)
