"""The grid: an immutable value that owns CRS, transform, shape, tiling and cell arithmetic."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyproj
from affine import Affine

from footgrid.errors import ConfigError
from footgrid.kernels import cell_index

#: Relative tolerance under which a CRS's areal scale counts as exactly 1 (equal-area).
_EQUAL_AREA_TOL = 1e-9


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid with square or rectangular cells, split into square tiles.

    Parameters
    ----------
    crs
        Coordinate reference system of the grid.
    xmin, ymax
        Upper-left corner in CRS units.
    res_x, res_y
        Cell size along x and y (positive, CRS units).
    nx, ny
        Columns and rows.
    tile
        Tile (chunk) edge in cells.

    Notes
    -----
    Cells are half-open ``[left, right) × [bottom, top)`` (as ``numpy.histogram2d``); a point on
    the far edges (``x == xmax`` or ``y == ymax``) belongs to the last cell. Rows count from the
    top: ``y`` coordinates descend, as GDAL, rasterio and QGIS expect.
    """

    crs: pyproj.CRS
    xmin: float
    ymax: float
    res_x: float
    res_y: float
    nx: int
    ny: int
    tile: int = 512

    def __post_init__(self) -> None:
        if self.nx < 1 or self.ny < 1:
            raise ConfigError(f"a grid needs at least one cell, got {self.ny} × {self.nx}")
        if not (self.res_x > 0 and self.res_y > 0):
            raise ConfigError(
                f"grid resolution must be positive, got ({self.res_x}, {self.res_y})",
                key="grid.resolution",
                fix="give a positive number of CRS units",
            )
        if self.tile < 1:
            raise ConfigError(
                f"grid tile must be a positive number of cells, got {self.tile}",
                key="grid.tile",
            )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_bounds(
        cls,
        bounds: tuple[float, float, float, float],
        resolution: float | tuple[float, float],
        crs: pyproj.CRS | str,
        tile: int = 512,
    ) -> Grid:
        """Grid covering ``bounds`` (xmin, ymin, xmax, ymax), snapped outward to whole cells.

        The edges are snapped to multiples of the resolution, so two grids of the same CRS and
        resolution share cell edges.
        """
        rx, ry = (resolution, resolution) if np.isscalar(resolution) else resolution
        rx, ry = float(rx), float(ry)
        xmin, ymin, xmax, ymax = (float(b) for b in bounds)
        if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)):
            raise ConfigError(f"grid bounds must be finite, got {bounds}", key="grid.bounds")
        if xmax < xmin or ymax < ymin:
            raise ConfigError(
                f"grid bounds must be [xmin, ymin, xmax, ymax] with xmin <= xmax and "
                f"ymin <= ymax, got {list(bounds)}",
                key="grid.bounds",
                fix="swap the values",
            )
        x0 = math.floor(xmin / rx) * rx
        y0 = math.floor(ymin / ry) * ry
        nx = max(1, math.ceil((xmax - x0) / rx))
        ny = max(1, math.ceil((ymax - y0) / ry))
        # ceil can fall one short when (xmax - x0) / rx rounds down; never lose the far edge.
        if x0 + nx * rx < xmax:
            nx += 1
        if y0 + ny * ry < ymax:
            ny += 1
        return cls(pyproj.CRS.from_user_input(crs), x0, y0 + ny * ry, rx, ry, nx, ny, int(tile))

    @staticmethod
    def auto_crs(lon: np.ndarray, lat: np.ndarray) -> pyproj.CRS:
        """An Albers equal-area conic fitted to the longitude/latitude extent of the data.

        Standard parallels sit at 1/6 and 5/6 of the latitude span (the classic rule of thumb of
        Snyder, *Map Projections: A Working Manual*, 1987); the central meridian and latitude of
        origin at the centre of the extent, all rounded to 0.5°.
        """
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        if not ok.any():
            raise ConfigError(
                "cannot fit an automatic CRS: no point has valid longitude/latitude",
                key="grid.crs",
                fix="check the lon/lat columns or set grid.crs explicitly",
            )
        lo0, lo1 = float(lon[ok].min()), float(lon[ok].max())
        la0, la1 = float(lat[ok].min()), float(lat[ok].max())
        span = max(la1 - la0, 1.0)
        mid = (la0 + la1) / 2

        def r(v: float) -> float:
            return round(v * 2) / 2

        lat1, lat2 = r(mid - span / 3), r(mid + span / 3)
        if lat1 == lat2:
            lat2 = lat1 + 0.5
        return pyproj.CRS.from_proj4(
            f"+proj=aea +lat_0={r(mid)} +lon_0={r((lo0 + lo1) / 2)} +lat_1={lat1} "
            f"+lat_2={lat2} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs"
        )

    # ------------------------------------------------------------------ geometry
    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx)."""
        return (self.ny, self.nx)

    @property
    def transform(self) -> Affine:
        """Affine transform from (col, row) to the upper-left corner of the cell."""
        return Affine(self.res_x, 0.0, self.xmin, 0.0, -self.res_y, self.ymax)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the outer cell edges."""
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    @property
    def xmax(self) -> float:
        """Right edge of the last column."""
        return self.xmin + self.nx * self.res_x

    @property
    def ymin(self) -> float:
        """Bottom edge of the last row."""
        return self.ymax - self.ny * self.res_y

    @property
    def axes(self) -> tuple[float, float, int, float, float, int]:
        """``(xmin, res_x, nx, ymin, res_y, ny)``: the binning kernels' description of the edges.

        The kernels compute edge ``i`` as ``xmin + res_x * i``, exactly as :attr:`xedges` does.
        """
        return (float(self.xmin), float(self.res_x), int(self.nx),
                float(self.ymin), float(self.res_y), int(self.ny))  # fmt: skip

    @property
    def xedges(self) -> np.ndarray:
        """Ascending x cell edges, ``nx + 1`` values."""
        return self.xmin + self.res_x * np.arange(self.nx + 1, dtype=np.float64)

    @property
    def yedges(self) -> np.ndarray:
        """Ascending y cell edges, ``ny + 1`` values."""
        return self.ymin + self.res_y * np.arange(self.ny + 1, dtype=np.float64)

    @property
    def x(self) -> np.ndarray:
        """Cell-centre x coordinates (ascending)."""
        return self.xmin + self.res_x * (np.arange(self.nx, dtype=np.float64) + 0.5)

    @property
    def y(self) -> np.ndarray:
        """Cell-centre y coordinates (descending, row 0 at the top)."""
        return self.ymax - self.res_y * (np.arange(self.ny, dtype=np.float64) + 0.5)

    @cached_property
    def is_equal_area(self) -> bool:
        """Whether the CRS preserves area (areal scale factor 1 across the grid)."""
        if not self.crs.is_projected:
            return False
        xs = np.linspace(self.xmin, self.xmax, 5)
        ys = np.linspace(self.ymin, self.ymax, 5)
        X, Y = np.meshgrid(xs, ys)
        lon, lat = pyproj.Transformer.from_crs(self.crs, 4326, always_xy=True).transform(X, Y)
        f = pyproj.Proj(self.crs).get_factors(lon.ravel(), lat.ravel())
        scale = np.asarray(f.areal_scale, dtype=np.float64)
        return bool(np.all(np.abs(scale - 1.0) < _EQUAL_AREA_TOL))

    def cell_area(self, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
        """Cell areas in m² of the window ``rows × cols`` (default: the whole grid), float64.

        Constant ``res_x * res_y`` for equal-area CRSs; geodesic area of each row's cell on the
        CRS's ellipsoid for geographic CRSs; for other projected CRSs the planar area divided by
        the projection's areal scale factor at the cell centre.
        """
        ys, xs = self.y[rows], self.x[cols]
        shape = (ys.size, xs.size)
        if self.crs.is_geographic:
            return np.broadcast_to(self._geodesic_row_areas()[rows][:, None], shape).copy()
        if self.is_equal_area:
            return np.full(shape, self.constant_cell_area)
        X, Y = np.meshgrid(xs, ys)
        lon, lat = pyproj.Transformer.from_crs(self.crs, 4326, always_xy=True).transform(X, Y)
        f = pyproj.Proj(self.crs).get_factors(lon.ravel(), lat.ravel())
        scale = np.asarray(f.areal_scale, dtype=np.float64).reshape(shape)
        return self.res_x * self.res_y * self._unit_m2() / scale

    @property
    def constant_cell_area(self) -> float | None:
        """The area of every cell in m² for equal-area grids, else None."""
        return self.res_x * self.res_y * self._unit_m2() if self.is_equal_area else None

    def _unit_m2(self) -> float:
        factor = self.crs.axis_info[0].unit_conversion_factor if self.crs.axis_info else 1.0
        return float(factor) ** 2

    def _geodesic_row_areas(self) -> np.ndarray:
        geod = self.crs.get_geod() or pyproj.Geod(ellps="WGS84")
        top = self.ymax - self.res_y * np.arange(self.ny)
        areas = np.empty(self.ny)
        for i, t in enumerate(top):
            b = t - self.res_y
            lons = [
                self.xmin,
                self.xmin + self.res_x,
                self.xmin + self.res_x,
                self.xmin,
            ]
            lats = [b, b, t, t]
            area, _ = geod.polygon_area_perimeter(lons, lats)
            areas[i] = abs(area)
        return areas

    # ------------------------------------------------------------------ tiling
    @property
    def n_tiles_y(self) -> int:
        """Tiles along y."""
        return -(-self.ny // self.tile)

    @property
    def n_tiles_x(self) -> int:
        """Tiles along x."""
        return -(-self.nx // self.tile)

    @property
    def n_tiles(self) -> int:
        """Tiles in all."""
        return self.n_tiles_y * self.n_tiles_x

    @property
    def chunks(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Dask chunks ((along y), (along x)) of a (ny, nx) array tiled by ``tile``."""

        def split(n: int) -> tuple[int, ...]:
            return tuple(min(self.tile, n - s) for s in range(0, n, self.tile))

        return split(self.ny), split(self.nx)

    def tile_slices(self, t: int) -> tuple[slice, slice]:
        """(row slice, column slice) of tile ``t`` (row-major tile numbering)."""
        ty, tx = divmod(t, self.n_tiles_x)
        r0, c0 = ty * self.tile, tx * self.tile
        return slice(r0, min(r0 + self.tile, self.ny)), slice(c0, min(c0 + self.tile, self.nx))

    def tiles(self) -> Iterator[tuple[int, slice, slice]]:
        """Yield (tile id, row slice, column slice) for every tile."""
        for t in range(self.n_tiles):
            yield (t, *self.tile_slices(t))

    # ------------------------------------------------------------------ points
    def cell_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat cell index (``row * nx + col``) of points in the grid CRS; -1 outside."""
        return cell_index(
            np.ascontiguousarray(x, dtype=np.float64),
            np.ascontiguousarray(y, dtype=np.float64),
            self.axes,
        )

    def __dask_tokenize__(self) -> tuple:
        return (Grid, self.crs.to_wkt(), self.xmin, self.ymax, self.res_x, self.res_y,
                self.nx, self.ny, self.tile)  # fmt: skip
