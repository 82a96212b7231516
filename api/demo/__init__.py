"""``fundledger demo``: a synthetic province (Shanxi) with realistic, reproducible books.

:mod:`~api.demo.shanxi` holds the region data, :mod:`~api.demo.plan` the yearly figures drawn
from the seed, :mod:`~api.demo.generate` cuts them into postings (pure and lazy) and
:mod:`~api.demo.run` opens the funds and writes them; :mod:`~api.demo.summary` tells what was
done.
"""

from api.demo.run import run_demo
from api.demo.summary import CitySummary, DemoSummary

__all__ = ["CitySummary", "DemoSummary", "run_demo"]
