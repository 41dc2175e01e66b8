"""The offline demo: a seeded generator of a realistic national input bundle.

``footgrid demo`` calls :func:`write_bundle` (firms around real Chinese cities, a synthetic
nested MRIO calibrated to the national shares of Yang et al. (2020, Nat. Commun. 11:2237) and
built, as in the study, by nesting a provincial table into a global one (:mod:`.chain`),
concordance, consumer groups, province polygons and ``config.toml``), then runs the pipeline
and the report on the bundle. ``footgrid demo --world`` calls
:func:`footgrid.demo.world_bundle.write_world_bundle` instead (every nation a producer and a
consumer: :mod:`~footgrid.demo.world_geography`, :mod:`~footgrid.demo.world_mrio`) and
:func:`footgrid.demo.run.run_world`.
"""

from __future__ import annotations

from footgrid.demo.bundle import DEFAULT_FIRMS, expected_shares, write_bundle
from footgrid.demo.mrio import TARGETS

__all__ = ["DEFAULT_FIRMS", "TARGETS", "expected_shares", "write_bundle"]
