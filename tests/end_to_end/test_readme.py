"""The README's Python examples run as written, on the demo bundle."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from footgrid.demo import write_bundle

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks(marker: str) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    found = [b for b in blocks if marker in b]
    assert found, f"no README python block contains {marker!r}"
    return found


def test_the_api_example_runs_on_the_demo_bundle(tmp_path: Path, monkeypatch) -> None:
    matplotlib.use("Agg")
    write_bundle(tmp_path, n_firms=10_000)
    monkeypatch.chdir(tmp_path)
    (code,) = _python_blocks('footgrid.run("config.toml")')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "report" / "index.html").is_file()
    run_ds, em = namespace["ds"], namespace["em"]
    assert "footprint" in run_ds.variables and "footprint" not in em.variables
    np.testing.assert_allclose(
        float(em["emissions"].sum()), float(em.attrs["gridded_total"]), rtol=1e-6
    )


def test_the_grid_array_example_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (code,) = _python_blocks("grid_array(")
    rng = np.random.default_rng(0)
    xmin, ymin, xmax, ymax = 0.0, 0.0, 50_000.0, 40_000.0

    def batch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n), rng.lognormal(size=n)

    batches = [batch(1000), batch(500)]
    years = {2012: batch(300), 2015: batch(200)}
    namespace = {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "crs": "EPSG:3857"}
    namespace |= {"batches": batches, "years": years}
    exec(compile(code, "README.md", "exec"), namespace)
    expected = sum(np.histogram2d(y, x, bins=(40, 50), range=((0, 4e4), (0, 5e4)))[0].sum()
                   for x, y, _ in batches)  # fmt: skip
    assert expected == 1500
    np.testing.assert_allclose(namespace["raster"].sum(), sum(t.sum() for *_, t in batches))
    last = np.load(tmp_path / "emissions_2015.npy")
    np.testing.assert_allclose(last.sum(), years[2015][2].sum())
    assert not pytest.approx(last.sum()) == years[2012][2].sum()
