"""Exact splits of an amount of fen: the largest-remainder method with a fixed tie-break."""

from __future__ import annotations

from collections.abc import Sequence


def largest_remainder(total_fen: int, weights: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Split ``total_fen`` in proportion to ``weights``; the parts add up to ``total_fen``.

    Each part is first the floor of its exact share; the fen left over go one each to the
    largest remainders, ties broken by ``keys`` ascending (the fund id), so the same inputs
    always give the same split.
    """
    assert total_fen >= 0
    assert len(weights) == len(keys)
    assert all(w >= 0 for w in weights)
    weight_sum = sum(weights)
    if weight_sum == 0:
        assert total_fen == 0, "nothing to weigh a positive total by"
        return [0] * len(weights)
    floors = [total_fen * w // weight_sum for w in weights]
    remainders = [total_fen * w % weight_sum for w in weights]
    left = total_fen - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], keys[i]))
    for i in order[:left]:
        floors[i] += 1
    assert sum(floors) == total_fen
    return floors
