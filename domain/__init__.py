"""The fund ledger's domain: money, regions, funds, ledger lines, the fund aggregate.

Nothing here imports from ``projections``, ``clearing`` or ``api`` (an import-linter
contract in ``pyproject.toml`` keeps it so).
"""
