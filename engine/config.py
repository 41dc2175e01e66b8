"""The TOML config: schema, validation with clear errors, paths relative to the config file."""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from footgrid.errors import ConfigError
from footgrid.io.presets import apply_preset
from footgrid.mrio.attribution import ZERO_OUTPUT
from footgrid.mrio.consumers import CATEGORIES
from footgrid.mrio.tables import FORMATS, NEGATIVE_FINAL_DEMAND

# Schema: section -> key -> (accepted types, default). ``REQUIRED`` marks keys without default.
REQUIRED = object()
_NUM = (int, float)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "points": {
        "path": ((str,), REQUIRED),
        "lon": ((str,), "lon"),
        "lat": ((str,), "lat"),
        "x": ((str,), None),
        "y": ((str,), None),
        "crs": ((str, int), None),
        "emission": ((str,), "emission"),
        "sector": ((str,), "sector"),
        "region": ((str,), None),
        "id": ((str,), None),
        "preset": ((str,), None),
        "gas_column": ((str,), None),
        "gas": ((str,), None),
        "year_column": ((str,), None),
        "year": ((int,), None),
        "region_codes": ((str,), None),
    },
    "rasters": {  # an array of tables: [[rasters]], one per gridded source
        "path": ((str,), REQUIRED),
        "sector": ((str,), REQUIRED),
        "region": ((str,), None),
        "variable": ((str,), None),
        "band": ((int,), None),
        "units": ((str,), None),
        "crs": ((str, int), None),
        "nodata": (_NUM, None),
        "time": ((str, int), None),
    },
    "regions": {"path": ((str,), REQUIRED), "field": ((str,), REQUIRED)},
    "mrio": {
        "path": ((str,), REQUIRED),
        "format": ((str,), "auto"),
        "zero_output": ((str,), "error"),
        "negative_final_demand": ((str,), "error"),
        "cache": ((bool,), True),
    },
    "concordance": {"path": ((str,), REQUIRED)},
    "consumers": {
        "groups": ((str,), None),
        "categories": ((str,), "keep"),
        "home": ((str, list), None),
    },
    "grid": {
        "crs": ((str, int), "auto"),
        "resolution": ((*_NUM, list), 10_000),
        "bounds": ((str, list), "auto"),
        "tile": ((int,), 512),
    },
    "compute": {
        "scheduler": ((str,), "threads"),
        "worker_timeout": ((*_NUM,), 60),
        "workers": ((int,), None),
        "consumer_chunk": ((int,), 8),
        "larger_than_memory": ((bool,), False),
    },
    "output": {
        "path": ((str,), "footprint.zarr"),
        "overwrite": ((bool,), False),
        "geotiff": ((bool,), False),
        "cog": ((bool,), False),
        "netcdf": ((bool,), False),
        "export_crs": ((str,), None),
        "firm_table": ((bool, str), False),
        "dtype": ((str,), "float32"),
        "zarr_format": ((int,), 3),
        # Local folder a URL output (s3://...) is written in before its upload; "": <tmp>.
        "staging": ((str,), ""),
    },
    # One run per year / scenario (footgrid.batch): ``{year}`` / ``{scenario}`` in the text.
    "batch": {
        "years": ((list,), None),
        "scenarios": ((list,), None),
        "index": ((str,), "batch.json"),
    },
    "uncertainty": {
        "members": ((int,), 100),
        "seed": ((int,), 0),
        "quantiles": ((list,), [0.05, 0.5, 0.95]),
        "emission_rsd": ((*_NUM, dict, str), 0.0),
        "emission_correlation": ((str,), "source"),
        "mrio_rsd": ((*_NUM, str), 0.0),
    },
}
#: Value types of the stored rasters (``[output] dtype``).
DTYPES = ("float32", "float64")
#: Keys with a fixed set of values; each list is owned by the module that uses the value.
_CHOICES = {
    ("mrio", "format"): FORMATS,
    ("mrio", "zero_output"): ZERO_OUTPUT,
    ("mrio", "negative_final_demand"): NEGATIVE_FINAL_DEMAND,
    ("consumers", "categories"): CATEGORIES,
    ("output", "dtype"): DTYPES,
    ("uncertainty", "emission_correlation"): ("source", "sector"),
}
_PATH_KEYS = {
    ("points", "path"),
    ("rasters", "path"),
    ("regions", "path"),
    ("mrio", "path"),
    ("concordance", "path"),
    ("consumers", "groups"),
    ("output", "path"),
    ("batch", "index"),
}


@dataclass(frozen=True)
class Config:
    """A validated footgrid configuration.

    Every section is a plain dict of its keys with defaults filled in; optional sections that
    were not given are ``None``. Paths are absolute (resolved against the config's folder).
    """

    points: dict[str, Any] | None
    grid: dict[str, Any]
    compute: dict[str, Any]
    output: dict[str, Any]
    regions: dict[str, Any] | None = None
    mrio: dict[str, Any] | None = None
    concordance: dict[str, Any] | None = None
    consumers: dict[str, Any] = field(default_factory=dict)
    rasters: tuple[dict[str, Any], ...] = ()
    uncertainty: dict[str, Any] | None = None
    batch: dict[str, Any] | None = None
    source: Path | None = None
    text: str = ""

    @property
    def has_mrio(self) -> bool:
        """Whether the config has an ``[mrio]`` section (needed by ``run``, not by ``grid``)."""
        return self.mrio is not None


def load_config(source: str | os.PathLike | Mapping[str, Any] | Config) -> Config:
    """Read and validate a config from a TOML file, a mapping, or pass a ``Config`` through.

    Parameters
    ----------
    source
        Path to a TOML file (paths inside are relative to its folder), or a mapping with the same
        structure (paths relative to the current directory).

    Raises
    ------
    ConfigError
        Missing file, TOML syntax error, unknown section or key (with the closest valid one),
        wrong type, value not among the choices.
    """
    if isinstance(source, Config):
        return source
    if isinstance(source, Mapping):
        return _validate(dict(source), Path.cwd(), None, _to_toml_text(source))
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad) is dropped
    except FileNotFoundError:
        raise ConfigError(
            "config file not found",
            file=path,
            fix="give the path of an existing TOML file",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config: {exc}", file=path) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"the config is not valid TOML: {exc}",
            file=path,
            fix="correct the TOML syntax",
        ) from None
    return _validate(raw, path.resolve().parent, path, text)


def _closest(name: object, options: list[str]) -> str:
    match = difflib.get_close_matches(str(name), options, n=1, cutoff=0.5)
    return f"did you mean '{match[0]}'?" if match else f"valid: {', '.join(options)}"


def _validate(raw: dict[str, Any], base: Path, path: Path | None, text: str) -> Config:
    sections: dict[str, dict[str, Any] | None] = {}
    for name, body in raw.items():
        if name not in SCHEMA:
            raise ConfigError(
                f"unknown config section [{name}]",
                file=path,
                key=name,
                fix=_closest(name, list(SCHEMA)),
            )
        if name == "rasters":
            if not (isinstance(body, list) and all(isinstance(b, dict) for b in body)):
                raise ConfigError(
                    "rasters must be an array of tables ([[rasters]] blocks)",
                    file=path,
                    key=name,
                    fix="write each gridded source as a [[rasters]] block",
                )
            continue
        if not isinstance(body, dict):
            raise ConfigError(
                f"[{name}] must be a table of keys, got {type(body).__name__}",
                file=path,
                key=name,
            )
    rasters = tuple(
        _section("rasters", body, SCHEMA["rasters"], base, path, f"rasters[{i}]")
        for i, body in enumerate(raw.get("rasters") or [])
    )
    for name, keys in SCHEMA.items():
        if name == "rasters":
            continue
        body = raw.get(name)
        if body is None:
            optional = name in ("regions", "mrio", "concordance", "uncertainty", "batch")
            if name == "points" and rasters:
                sections[name] = None
                continue
            if name == "points":
                raise ConfigError(
                    "the config has no [points] section",
                    file=path,
                    key="points",
                    fix='add [points] with at least path = "firms.parquet", or '
                    "[[rasters]] gridded sources",
                )
            if optional:
                sections[name] = None
                continue
            body = {}
        if name == "points":
            body = apply_preset(body, path)
        out = _section(name, body, keys, base, path, name)
        sections[name] = out
    _check_grid(sections["grid"], path)
    _check_compute(sections["compute"], path)
    if sections["points"] is not None:
        _check_points(sections["points"], path)
    if rasters and sections["compute"]["larger_than_memory"]:
        raise ConfigError(
            "[[rasters]] are not supported with [compute] larger_than_memory = true yet",
            file=path,
            key="compute.larger_than_memory",
            fix="set larger_than_memory = false (rasters are remapped in memory)",
        )
    _check_consumers(sections["consumers"], path)
    _check_output_path(sections, path)
    _check_output(sections["output"], path)
    if sections["batch"] is not None:
        _check_batch(sections["batch"], path)
    if sections["uncertainty"] is not None:
        _check_uncertainty(sections["uncertainty"], base, path)
        if sections["output"]["zarr_format"] == 2:
            raise ConfigError(
                "[uncertainty] ensembles are written as Zarr v3 only, but [output] zarr_format = 2",
                file=path,
                key="output.zarr_format",
                fix="remove zarr_format = 2 for the ensemble run, and export its rasters for "
                "old GDAL with [output] cog = true or netcdf = true",
            )
    return Config(
        points=sections["points"],
        grid=sections["grid"],
        compute=sections["compute"],
        output=sections["output"],
        regions=sections["regions"],
        mrio=sections["mrio"],
        concordance=sections["concordance"],
        consumers=sections["consumers"] or {},
        rasters=rasters,
        uncertainty=sections["uncertainty"],
        batch=sections["batch"],
        source=path.resolve() if path is not None else None,
        text=text,
    )


def _section(
    name: str, body: dict[str, Any], keys: dict, base: Path, path: Path | None, label: str
) -> dict[str, Any]:
    """One table's keys checked against ``keys`` (types, choices), defaults filled, paths
    resolved; ``label`` names the table in errors (``rasters[1]`` for the second block)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key not in keys:
            raise ConfigError(
                f"unknown config key '{key}' in [{label}]",
                file=path,
                key=f"{label}.{key}",
                fix=_closest(key, list(keys)),
            )
        types, _ = keys[key]
        if isinstance(value, bool) and bool not in types:
            ok = False
        else:
            ok = isinstance(value, types)
        if not ok:
            want = " or ".join(t.__name__ for t in types)
            raise ConfigError(
                f"[{label}] {key} must be {want}, got {value!r}",
                file=path,
                key=f"{label}.{key}",
            )
        choices = _CHOICES.get((name, key))
        if choices and value not in choices:
            raise ConfigError(
                f"[{label}] {key} = {value!r} is not one of {', '.join(choices)}",
                file=path,
                key=f"{label}.{key}",
                fix=_closest(str(value), list(choices)),
            )
        if (name, key) in _PATH_KEYS and value is not None:
            value = _resolve(base, value, path, f"{label}.{key}")
        out[key] = value
    for key, (_, default) in keys.items():
        if key not in out:
            if default is REQUIRED:
                raise ConfigError(
                    f"[{label}] needs the key '{key}'",
                    file=path,
                    key=f"{label}.{key}",
                )
            out[key] = (
                str((base / default).resolve())
                if (name, key) in _PATH_KEYS and default is not None
                else default
            )
    return out


def _is_url(value: str) -> bool:
    return "://" in value


def _resolve(base: Path, value: str, path: Path | None, key: str) -> str:
    if _is_url(value):
        return value
    try:
        return str((base / value).resolve())
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a long name, a link loop
        raise ConfigError(
            f"[{key.split('.')[0]}] {key.split('.')[1]} = {value!r} is not a usable path: {exc}",
            file=path,
            key=key,
            fix="give a plain file path (relative to the config file)",
        ) from None


def _check_output_path(sections: dict[str, dict[str, Any] | None], path: Path | None) -> None:
    """The output store must not be (or contain, or lie inside) an input or the config file."""
    out = Path(sections["output"]["path"])
    inputs = [
        (f"{s}.{k}", sections[s][k])
        for s, k in sorted(_PATH_KEYS)
        if s != "output" and sections.get(s) is not None
    ]
    if path is not None:
        inputs.append(("the config file", str(path.resolve())))
    for key, value in inputs:
        if value is None or _is_url(value):
            continue
        p = Path(value)
        if p == out or out in p.parents or p in out.parents:
            raise ConfigError(
                f"the output path {out} is the same as (or inside, or contains) the input "
                f"{key} ({p}); writing the store would destroy it",
                file=path,
                key="output.path",
                fix="write the store somewhere else: set [output] path to a new .zarr path",
            )


def _check_points(p: dict[str, Any], path: Path | None) -> None:
    if (p["x"] is None) != (p["y"] is None):
        raise ConfigError(
            "[points] needs both x and y, or neither (then lon and lat are used)",
            file=path,
            key="points.x" if p["x"] is None else "points.y",
        )
    if p["x"] is not None and p["crs"] is None:
        raise ConfigError(
            "[points] x/y columns need the CRS they are in",
            file=path,
            key="points.crs",
            fix='add crs = "EPSG:...." to [points]',
        )


def _check_grid(g: dict[str, Any], path: Path | None) -> None:
    res = g["resolution"]
    vals = res if isinstance(res, list) else [res]
    if len(vals) not in (1, 2) or not all(
        isinstance(v, _NUM) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in vals
    ):
        raise ConfigError(
            f"[grid] resolution must be a positive number (or [x, y]), got {res!r}",
            file=path,
            key="grid.resolution",
        )
    b = g["bounds"]
    if isinstance(b, str) and b != "auto":
        raise ConfigError(
            f'[grid] bounds must be "auto" or [xmin, ymin, xmax, ymax], got {b!r}',
            file=path,
            key="grid.bounds",
        )
    if isinstance(b, list) and (
        len(b) != 4
        or not all(isinstance(v, _NUM) and not isinstance(v, bool) and math.isfinite(v) for v in b)
    ):
        raise ConfigError(
            f"[grid] bounds must be four finite numbers [xmin, ymin, xmax, ymax], got {b!r}",
            file=path,
            key="grid.bounds",
        )
    if g["tile"] < 16:
        raise ConfigError(
            f"[grid] tile must be at least 16 cells, got {g['tile']}",
            file=path,
            key="grid.tile",
        )


def _check_batch(b: dict[str, Any], path: Path | None) -> None:
    """``[batch]``: non-empty lists of distinct years (integers) or scenario names (strings)."""
    for key, kind in (("years", int), ("scenarios", str)):
        v = b[key]
        if v is None:
            continue
        if not v or not all(isinstance(x, kind) and not isinstance(x, bool) for x in v):
            raise ConfigError(
                f"[batch] {key} must be a non-empty list of {kind.__name__}, got {v!r}",
                file=path,
                key=f"batch.{key}",
                fix="e.g. years = [2012, 2015, 2017]" if key == "years" else 'e.g. ["bau"]',
            )
        if len(set(v)) != len(v):
            raise ConfigError(
                f"[batch] {key} lists a value twice: {v!r}", file=path, key=f"batch.{key}"
            )
    if b["years"] is None and b["scenarios"] is None:
        raise ConfigError(
            "[batch] needs years or scenarios",
            file=path,
            key="batch.years",
            fix='add years = [2012, 2015] (used as "{year}" in paths)',
        )


def load_config_text(text: str, base: Path, source: Path | None = None) -> Config:
    """Validate a config given as TOML ``text`` whose paths are relative to ``base``.

    Used for the runs of a batch, whose text is the config's with placeholders filled in.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config is not valid TOML: {exc}", file=source) from None
    return _validate(raw, base, source, text)


def _check_uncertainty(u: dict[str, Any], base: Path, path: Path | None) -> None:
    """``[uncertainty]``: members >= 1, quantiles in [0, 1], relative deviations >= 0."""

    def bad(key: str, msg: str, fix: str | None = None) -> ConfigError:
        return ConfigError(
            f"[uncertainty] {key} {msg}", file=path, key=f"uncertainty.{key}", fix=fix
        )

    def rsd_ok(v: Any) -> bool:
        return isinstance(v, _NUM) and not isinstance(v, bool) and math.isfinite(v) and v >= 0

    if u["members"] < 1:
        raise bad("members", f"must be >= 1, got {u['members']}")
    if u["seed"] < 0:
        raise bad("seed", f"must be >= 0, got {u['seed']}")
    q = u["quantiles"]
    if not q or not all(isinstance(v, _NUM) and not isinstance(v, bool) and 0 <= v <= 1 for v in q):
        raise bad("quantiles", f"must be a list of numbers in [0, 1], got {q!r}",
                  "e.g. quantiles = [0.05, 0.5, 0.95]")  # fmt: skip
    rsd = u["emission_rsd"]
    if isinstance(rsd, dict):
        for sector, v in rsd.items():
            if not rsd_ok(v):
                raise bad("emission_rsd", f"of sector {sector!r} must be a number >= 0, got {v!r}")
    elif not isinstance(rsd, str) and not rsd_ok(rsd):
        raise bad("emission_rsd", f"must be >= 0, got {rsd!r}",
                  "give a relative standard deviation such as 0.2, a {sector = rsd} table "
                  "or the name of a points column")  # fmt: skip
    m = u["mrio_rsd"]
    if isinstance(m, str):
        u["mrio_rsd"] = _resolve(base, m, path, "uncertainty.mrio_rsd")
    elif not rsd_ok(m):
        fix = "give a relative standard deviation or a folder of standard deviations"
        raise bad("mrio_rsd", f"must be >= 0, got {m!r}", fix)


def _check_consumers(c: dict[str, Any], path: Path | None) -> None:
    home = c["home"]
    if isinstance(home, list) and not all(isinstance(h, str) for h in home):
        raise ConfigError(
            f"[consumers] home must be a consumer label or a list of labels, got {home!r}",
            file=path,
            key="consumers.home",
            fix='write the labels as strings, e.g. home = ["CN"]',
        )


def _check_output(o: dict[str, Any], path: Path | None) -> None:
    if o["zarr_format"] not in (2, 3):
        raise ConfigError(
            f"[output] zarr_format = {o['zarr_format']!r} is not 2 or 3",
            file=path,
            key="output.zarr_format",
            fix="use 3 (the default) or 2 (read by GDAL before 3.11)",
        )
    ft = o["firm_table"]
    if isinstance(ft, str) and ft not in ("parquet", "geoparquet"):
        raise ConfigError(
            f"[output] firm_table = {ft!r} is not true, false, parquet or geoparquet",
            file=path,
            key="output.firm_table",
            fix=_closest(ft, ["parquet", "geoparquet"]),
        )
    if o["geotiff"]:  # the older name of the COG export
        o["cog"] = True
    if _is_url(o["path"]):
        check_url(o["path"], path)
        extra = [k for k in ("cog", "netcdf", "firm_table") if o[k]]
        if extra:
            raise ConfigError(
                f"[output] {extra[0]} is written next to a local store; the output path "
                f"{o['path']!r} is a URL",
                file=path,
                key=f"output.{extra[0]}",
                fix=f"set [output] {extra[0]} = false, or write the store to a local path "
                "(and upload it with its exports yourself)",
            )


def check_url(url: str, file: Path | None = None, key: str = "output.path") -> None:
    """Check that fsspec can write the URL output ``url``: a known protocol, its package
    installed (see :mod:`footgrid.store.remote`).

    Raises
    ------
    ConfigError
        Naming ``key``: the protocol is unknown, or its package (s3fs, gcsfs, adlfs...) is
        missing.
    """
    # lazy: only URL outputs need fsspec's registry
    import fsspec

    protocol = url.split("://", 1)[0]
    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise ConfigError(
            f"unknown protocol {protocol!r} in the output URL {url!r}",
            file=file,
            key=key,
            fix="use a local path, or an fsspec URL such as s3://bucket/run.zarr, "
            "gs://..., memory://run.zarr or file:///abs/path/run.zarr",
        ) from None
    except ImportError as exc:
        raise ConfigError(
            f"the output URL {url!r} needs a package that is not installed ({exc})",
            file=file,
            key=key,
            fix=f"install the fsspec implementation of {protocol}:// (for s3://: pip install "
            "s3fs), or write to a local path",
        ) from None


def _check_compute(c: dict[str, Any], path: Path | None) -> None:
    s = c["scheduler"]
    if s not in ("threads", "processes", "synchronous", "default") and not s.startswith("tcp://"):
        raise ConfigError(
            f"[compute] scheduler = {s!r} is not threads, processes, default (the active "
            "dask-distributed client) or tcp://host:port",
            file=path,
            key="compute.scheduler",
            fix=_closest(s, ["threads", "processes"]),
        )
    if s.startswith("tcp://"):
        host, sep, port = s[len("tcp://") :].rpartition(":")
        if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(
                f"[compute] scheduler = {s!r} is not a dask scheduler address tcp://host:port "
                "(a host and a port number from 1 to 65535)",
                file=path,
                key="compute.scheduler",
                fix='give the address the scheduler prints, e.g. "tcp://10.0.0.5:8786"',
            )
    if not c["worker_timeout"] > 0:
        raise ConfigError(
            f"[compute] worker_timeout must be > 0 seconds, got {c['worker_timeout']}",
            file=path,
            key="compute.worker_timeout",
        )
    for key in ("workers", "consumer_chunk"):
        if c[key] is not None and c[key] < 1:
            raise ConfigError(
                f"[compute] {key} must be >= 1, got {c[key]}",
                file=path,
                key=f"compute.{key}",
            )


def _to_toml_text(mapping: Mapping[str, Any]) -> str:
    lines = []
    for name, body in mapping.items():
        if isinstance(body, list) and body and all(isinstance(b, Mapping) for b in body):
            for table in body:  # an array of tables ([[rasters]])
                lines.append(f"[[{name}]]")
                lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items())
                lines.append("")
            continue
        if not isinstance(body, Mapping):  # rejected by the validation; keep the text total
            lines.append(f"{name} = {_toml_value(body)}")
            continue
        lines.append(f"[{name}]")
        for key, value in body.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        items = (f"{_toml_value(str(k))} = {_toml_value(x)}" for k, x in v.items())
        return "{" + ", ".join(items) + "}"
    return repr(v)
