"""Rules between two funds: who may pay whom, in one atomic, paired posting.

Each rule is one function, named after what it refuses, with the seed it comes from.
"""

from __future__ import annotations

from domain.errors import PostingRefused
from domain.funds import FundId, Scheme
from domain.lines import Line, Purpose
from domain.regions import contains


def refuse_cross_subsidy_between_legacy_funds(paying: FundId, receiving: FundId) -> None:
    """Refuse any money moving between an urban-resident fund and an NCMS fund.

    Seed: Jilin 2016 (吉政办发〔2016〕84号), 整合过渡期: until the two legacy funds are merged,
    each one's gap is covered by its original government and the two may not subsidise
    each other (不得相互调剂).
    """
    if {paying.scheme, receiving.scheme} == {Scheme.URBAN_RESIDENT, Scheme.NCMS}:
        raise PostingRefused(
            f"{paying} and {receiving} are the two legacy funds, which may not subsidise "
            "each other during integration (Jilin 2016): cover a gap from the fund's "
            "original government instead",
            field="counterparty",
        )


def refuse_flow_back_into_legacy_fund(paying: FundId, receiving: FundId) -> None:
    """Refuse every route by which money could flow back into a legacy fund once merging began.

    Seed: Jilin 2016 (吉政办发〔2016〕84号): during integration each legacy fund's gap is its
    original government's (由原统筹地政府负责解决) and the two legacy funds may not subsidise
    each other. The direct pair is refused by :func:`refuse_cross_subsidy_between_legacy_funds`;
    this closes the two detours (issue 9): a legacy fund receives nothing from a merged
    ``resident`` fund (the merge has begun once the resident fund is registered, which any pair
    with it needs), so ``urban_resident`` → ``resident`` → ``ncms`` is refused at its second
    leg; and a legacy fund pays nothing into an adjustment fund (legacy funds pay no levy), so
    its money cannot come down again as the other fund's draw. A legacy fund still receives
    from a fund of its own scheme (a county NCMS fund's grant from its city's) and a draw.
    """
    if not receiving.is_legacy and not (paying.is_legacy and receiving.scheme is Scheme.ADJUSTMENT):
        return
    if receiving.is_legacy and paying.scheme is Scheme.RESIDENT:
        raise PostingRefused(
            f"{receiving} is a legacy fund being merged: it receives nothing from the merged "
            f"fund {paying}, so that no money of the other legacy fund flows back into it "
            "(Jilin 2016: a legacy fund's gap is covered by its original government)",
            field="counterparty",
        )
    if receiving.scheme is Scheme.ADJUSTMENT:
        raise PostingRefused(
            f"{paying} is a legacy fund being merged: it pays nothing into the adjustment fund "
            f"{receiving} (legacy funds pay no levy, and what it paid could come down again to "
            "the other legacy fund; Jilin 2016)",
            field="counterparty",
        )


def refuse_pair_across_provinces(paying: FundId, receiving: FundId) -> None:
    """Refuse a paired posting between two provinces' ledgers.

    Both sides of a pair are written in one atomic save, and each province's ledger is its
    own partition (it may live on its own server); a portability transfer to another
    province is posted as a plain ``transfer_out`` there and a ``transfer_in`` here.
    """
    if paying.province != receiving.province:
        raise PostingRefused(
            f"{paying} and {receiving} are in different provinces: post a transfer_out "
            "without counterparty here and a transfer_in on the other province's ledger",
            field="counterparty",
        )


def check_inter_level_direction(line: Line, paying: FundId, receiving: FundId) -> None:
    """A ``to_upper`` goes to a fund of a higher level, a ``to_lower`` to a lower one.

    docs/domain.md §2: inter-level money is a pair between levels; the adjustment fund of a
    region is above every pool of that region, so ``adjustment:140000`` receives levies
    from ``resident:140100`` and pays it draws.
    """
    if line is Line.TO_UPPER:
        upper, lower = receiving, paying
    elif line is Line.TO_LOWER:
        upper, lower = paying, receiving
    else:
        return
    same_region_adjustment = (
        upper.region == lower.region
        and upper.scheme is Scheme.ADJUSTMENT
        and lower.scheme is not Scheme.ADJUSTMENT
    )
    if not (contains(upper.region, lower.region) or same_region_adjustment):
        word = "higher" if line is Line.TO_UPPER else "lower"
        raise PostingRefused(
            f"a {line.value} from {paying} must go to a fund of a {word} level; {receiving} is not",
            field="counterparty",
        )


def check_adjustment_purpose(purpose: Purpose | None, paying: FundId, receiving: FundId) -> None:
    """A levy is paid into an adjustment fund (调剂金计提); a draw is paid out of one (调剂金拨付).

    Seeds: Shanxi 2024 draft (省级统筹调剂金, separately accounted).
    """
    if purpose is Purpose.ADJUSTMENT_LEVY and receiving.scheme is not Scheme.ADJUSTMENT:
        raise PostingRefused(
            f"an adjustment levy is paid into an adjustment fund, not {receiving}",
            field="counterparty",
        )
    if purpose is Purpose.ADJUSTMENT_DRAW and paying.scheme is not Scheme.ADJUSTMENT:
        raise PostingRefused(
            f"an adjustment draw is paid out of an adjustment fund, not {paying}", field="fund"
        )


def check_legacy_merge(paying: FundId, receiving: FundId) -> None:
    """A legacy fund's balance moves only into the merged resident fund of its area.

    Seeds: Guizhou 2019 (清算、划转、合并), Jilin 2016. The move is booked against the
    opening balance of both funds, not as income or expense, so that it does not inflate
    the merged fund's surplus rate (docs/domain.md §2).
    """
    if not paying.is_legacy:
        raise PostingRefused(
            f"only a legacy fund (urban_resident, ncms) is merged; {paying} is not",
            field="purpose",
        )
    area_matches = receiving.region == paying.region or contains(receiving.region, paying.region)
    if receiving.scheme is not Scheme.RESIDENT or not area_matches:
        raise PostingRefused(
            f"a legacy fund is merged into the resident fund of its own area, not {receiving}",
            field="counterparty",
        )


def check_pair(line: Line, purpose: Purpose | None, paying: FundId, receiving: FundId) -> None:
    """Every rule on a paired posting, in the order a finance officer would ask them."""
    refuse_pair_across_provinces(paying, receiving)
    refuse_cross_subsidy_between_legacy_funds(paying, receiving)
    refuse_flow_back_into_legacy_fund(paying, receiving)
    if purpose is Purpose.LEGACY_MERGE:
        check_legacy_merge(paying, receiving)
        return
    check_inter_level_direction(line, paying, receiving)
    check_adjustment_purpose(purpose, paying, receiving)
