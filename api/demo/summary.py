"""What ``fundledger demo`` did, told the way a provincial officer reads it.

The figures come from the funds' statements as the read models hold them (the CLI passes
``ReadModels.statement``), not from the plan, so the summary shows what was actually written,
including on a re-run that posted nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from domain.money import format_fen_grouped as yuan


@dataclass(frozen=True)
class CitySummary:
    """One pool's latest year, as its statement shows it (fen)."""

    fund: str
    name: str
    enrolled: int
    income_subtotal_fen: int
    expense_subtotal_fen: int
    current_surplus_fen: int
    closing_balance_fen: int

    @property
    def surplus_fen(self) -> int:
        """Income subtotal − expense subtotal: negative is the year's deficit (当期缺口)."""
        return self.income_subtotal_fen - self.expense_subtotal_fen


@dataclass(frozen=True)
class DemoSummary:
    """The demo province as written: funds, postings and each pool's latest year."""

    province: str
    province_name: str
    seed: int
    scale: int
    years: tuple[int, ...]
    cities: tuple[CitySummary, ...]
    funds: int
    funds_opened: int
    posted: int
    duplicates: int
    seconds: float
    adjustment_fund: str
    adjustment_levies_fen: int
    adjustment_closing_fen: int

    @property
    def latest_year(self) -> int:
        return self.years[-1]

    @property
    def deficits(self) -> tuple[CitySummary, ...]:
        """Pools whose latest year spent more than its income."""
        return tuple(c for c in self.cities if c.surplus_fen < 0)

    def print(self, console: Console) -> None:
        """A short table and the lines that say what was done and what comes next."""
        first, latest = self.years[0], self.latest_year
        console.print(
            f"[bold]{self.province_name} {self.province}[/] demo (seed {self.seed}, "
            f"scale {self.scale}): {len(self.cities)} city pools and {self.adjustment_fund}, "
            f"books {first}-{latest}"
        )
        console.print(self._table())
        deficits = "、".join(c.name for c in self.deficits) or "none"
        console.print(f"deficit in {latest}: {len(self.deficits)} pool(s): {deficits}")
        levies, closing = self.adjustment_levies_fen, self.adjustment_closing_fen
        console.print(
            f"{self.adjustment_fund}: levies received in {latest} {yuan(levies)}, "
            f"closing balance {yuan(closing)}"
        )
        console.print(
            f"funds: {self.funds_opened} opened, {self.funds - self.funds_opened} already open; "
            f"postings: {self.posted} posted, {self.duplicates} duplicates skipped "
            f"in {self.seconds:.1f} s"
        )
        console.print(
            f"Who bears each {latest} gap (the counties at fault, the adjustment fund, the "
            "pool's accumulated balance, the government) under the province's clearing policy:"
        )

    def _table(self) -> Table:
        table = Table(title=f"{self.latest_year}, yuan (income and expense are subtotals)")
        for header in ("city", "name", "enrolled", "income", "expense", "surplus/deficit"):
            table.add_column(header, justify="left" if header in ("city", "name") else "right")
        table.add_column("closing", justify="right")
        for city in self.cities:
            gap = yuan(city.surplus_fen)
            table.add_row(
                city.fund.partition(":")[2],
                city.name,
                f"{city.enrolled:,}",
                yuan(city.income_subtotal_fen),
                yuan(city.expense_subtotal_fen),
                f"[red]{gap}[/]" if city.surplus_fen < 0 else gap,
                yuan(city.closing_balance_fen),
            )
        table.add_section()
        table.add_row(
            self.province,
            "total",
            f"{sum(c.enrolled for c in self.cities):,}",
            yuan(sum(c.income_subtotal_fen for c in self.cities)),
            yuan(sum(c.expense_subtotal_fen for c in self.cities)),
            yuan(sum(c.surplus_fen for c in self.cities)),
            yuan(sum(c.closing_balance_fen for c in self.cities)),
        )
        return table
