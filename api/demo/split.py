"""Integer splits of an amount of fen: the parts always add up to the whole, to the fen.

Money never passes through a float (docs/domain.md §6: every figure exact to the fen), so every
share, seasonal weight and jitter in the demo is an integer weight, and an amount is cut by
the largest-remainder method.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random


def split_exact(total: int, weights: Sequence[int]) -> list[int]:
    """Cut ``total`` in proportion to ``weights``; the parts add up to ``total`` exactly.

    Each part first gets the floor of its exact share; the units left over go one each to
    the largest remainders, ties to the earlier weight, so the same inputs give the same
    parts on every machine.
    """
    whole = sum(weights)
    assert total >= 0, total
    assert whole > 0, weights
    assert all(w >= 0 for w in weights), weights
    parts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        parts[index] += 1
    assert sum(parts) == total
    return parts


def split_even(total: int, count: int) -> list[int]:
    """Cut ``total`` into ``count`` near-equal positive parts (fewer when ``total`` is smaller).

    This is the ``--scale`` split: the first ``total % count`` parts carry one fen more.
    """
    count = max(1, min(count, total))
    base, extra = divmod(total, count)
    return [base + 1 if index < extra else base for index in range(count)]


def permille_of(amount: int, permille: int) -> int:
    """``amount × permille / 1000``, rounded down (a rate applied to fen)."""
    return amount * permille // 1000


def jittered(rng: Random, weights: Sequence[int], low: int, high: int) -> list[int]:
    """Each weight multiplied by a random per-mille factor in ``[low, high]``."""
    return [weight * rng.randint(low, high) for weight in weights]
