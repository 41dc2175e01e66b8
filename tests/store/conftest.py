"""The CF checker's tables, offline: the entries the exports use, with CF's canonical units."""

from __future__ import annotations

import pytest

STANDARD_NAMES = {  # from CF standard name table v84
    "cell_area": "m2",
    "projection_x_coordinate": "m",
    "projection_y_coordinate": "m",
    "longitude": "degree_east",
    "latitude": "degree_north",
}


@pytest.fixture(scope="session")
def cf_tables(tmp_path_factory) -> list[str]:
    """``-s -a -r`` arguments of ``cfchecks`` pointing at local XML tables (no network here)."""
    d = tmp_path_factory.mktemp("cf")
    entries = "".join(
        f'<entry id="{k}"><canonical_units>{u}</canonical_units></entry>'
        for k, u in STANDARD_NAMES.items()
    )
    (d / "std.xml").write_text(
        "<standard_name_table><version_number>84</version_number>"
        f"<last_modified>2024-01-19T15:55:10Z</last_modified>{entries}</standard_name_table>"
    )
    (d / "area.xml").write_text(
        "<area_type_table><version_number>10</version_number><date>2022-01-01</date>"
        '<entry id="land"></entry></area_type_table>'
    )
    (d / "region.xml").write_text(
        "<standardized_region_list><version_number>4</version_number><date>2022-01-01</date>"
        '<entry id="global"></entry></standardized_region_list>'
    )
    return ["-s", str(d / "std.xml"), "-a", str(d / "area.xml"), "-r", str(d / "region.xml")]
