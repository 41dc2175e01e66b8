"""Fuzzing the config parser and the points reader: only documented errors come out.

Random TOML texts, random mappings, random rows (NaN, inf, text, empty cells) and random bytes
must give either a valid result or a :class:`footgrid.errors.FootgridError` subclass with a
one-paragraph message -- never another exception. Each call is bounded in time (a hang fails).
"""

from __future__ import annotations

import io
import math
import os
import string
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from footgrid.config import SCHEMA, Config, load_config
from footgrid.errors import ConfigError, FootgridError, InputError
from footgrid.io.points import read_points
from footgrid.ledger import Ledger

#: Seconds one parse may take before it counts as a hang.
HANG_S = 20.0
FUZZ = settings(
    max_examples=int(os.environ.get("FOOTGRID_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory(prefix="footgrid-fuzz-") as d:
        yield Path(d)


def _bounded(fn: Callable[[], Any]) -> Any:
    """Call ``fn`` in a thread; a call that does not return within HANG_S fails the test."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # handed back to the test thread
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(HANG_S)
    if t.is_alive():
        pytest.fail(f"no answer within {HANG_S} s (a hang)")
    if "error" in out:
        raise out["error"]
    return out["value"]


def _only_documented(fn: Callable[[], Any], errors: tuple[type[FootgridError], ...]) -> Any:
    """The result of ``fn``, or None when it raised one of ``errors`` with a clear message."""
    try:
        return _bounded(fn)
    except errors as exc:
        msg = exc.message
        assert msg and msg.endswith(".") and "Traceback" not in msg
        return None


# ----------------------------------------------------------------------------- config parser
_names = st.sampled_from([*SCHEMA, "point", "grdi", "Output", "", "a b", "ü"])
_KEYS = sorted({k for keys in SCHEMA.values() for k in keys})
_keys = st.sampled_from([*_KEYS, "resolutoin", "pth", "", "tile ", "x.y", "ключ"])
_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "auto",
            "threads",
            "processes",
            "tcp://127.0.0.1:1",
            "EPSG:4326",
            "keep",
            "sum",
            "drop",
            "error",
            "float64",
            "firms.csv",
            "out.zarr",
            "../x",
            "a\x00b",
            "*.parquet",
        ]
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_configs = st.dictionaries(
    _names,
    st.one_of(st.dictionaries(_keys, _values, max_size=6), _values),
    max_size=5,
)


def _toml_key(k: str) -> str:
    if k and all(c in string.ascii_letters + string.digits + "_-" for c in k):
        return k
    return _toml_str(k)


def _toml_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


def _toml_text(cfg: dict) -> str:
    lines = []
    for name, body in cfg.items():
        if isinstance(body, dict):
            lines.append(f"[{_toml_key(name)}]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in body.items()]
        else:
            lines.insert(0, f"{_toml_key(name)} = {_toml_value(body)}")
    return "\n".join(lines) + "\n"


def _check_config(cfg: Config | None) -> None:
    if cfg is None:
        return
    assert isinstance(cfg, Config)
    assert Path(cfg.points["path"]).is_absolute() or "://" in cfg.points["path"]
    assert cfg.grid["tile"] >= 16


@FUZZ
@given(cfg=_configs)
def test_config_from_random_toml_text(cfg, folder):
    path = folder / "fuzz.toml"
    path.write_text(_toml_text(cfg), encoding="utf-8")
    _check_config(_only_documented(lambda: load_config(path), (ConfigError,)))


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_config_from_random_bytes(raw, folder):
    path = folder / "fuzz.toml"
    path.write_bytes(raw)
    _check_config(_only_documented(lambda: load_config(path), (ConfigError,)))


_any_keys = st.one_of(_keys, st.integers(), st.none(), st.tuples(st.integers()))


@FUZZ
@given(
    cfg=st.dictionaries(
        st.one_of(_names, st.integers(), st.none()),
        st.one_of(st.dictionaries(_any_keys, _values, max_size=5), _values, st.none()),
        max_size=5,
    )
)
def test_config_from_random_mappings(cfg):
    _check_config(_only_documented(lambda: load_config(cfg), (ConfigError,)))


def test_config_fuzz_reaches_valid_configs(folder):
    # The strategies above can produce valid configs; this one is, and it round-trips.
    path = folder / "ok.toml"
    path.write_text(_toml_text({"points": {"path": "f.csv"}, "grid": {"resolution": 5.0}}))
    cfg = load_config(path)
    assert cfg.grid["resolution"] == 5.0 and cfg.points["path"] == str(folder / "f.csv")


# ----------------------------------------------------------------------------- points reader
_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from(["", " ", "abc", "1e5", "-0", "nan", "inf", "-inf", "1e400", "NULL", "true"]),
    st.none(),
)
_COLUMNS = ("lon", "lat", "emission", "sector", "region", "id")
_rows = st.lists(st.tuples(*[_cells] * len(_COLUMNS)), max_size=12)


def _points_cfg(path: Path, region: bool, ids: bool) -> dict:
    cfg = {"path": str(path)}
    if region:
        cfg["region"] = "region"
    if ids:
        cfg["id"] = "id"
    return load_config({"points": cfg}).points


def _read(path: Path, region: bool = True, ids: bool = True) -> None:
    ledger = Ledger()
    pts = _only_documented(
        lambda: read_points(_points_cfg(path, region, ids), ledger), (InputError,)
    )
    if pts is None:
        return
    # Nothing lost: kept + dropped == input; what is kept is valid.
    kept = float(pts.emission.sum())
    assert ledger.input_total == pytest.approx(kept + ledger.dropped_total, rel=1e-9, abs=1e-6)
    assert ledger.input_points == len(pts) + ledger.dropped_points
    assert np.isfinite(pts.emission).all() and (pts.emission >= 0).all()
    assert np.isfinite(pts.cx).all() and np.isfinite(pts.cy).all()
    assert (np.asarray(pts.sector.codes) >= 0).all()


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(_COLUMNS), dtype=object)


@FUZZ
@given(rows=_rows, region=st.booleans(), ids=st.booleans())
def test_points_csv_with_random_rows(rows, region, ids, folder):
    path = folder / "firms.csv"
    _frame(rows).to_csv(path, index=False)
    _read(path, region, ids)


@FUZZ
@given(rows=_rows, as_text=st.sets(st.sampled_from(_COLUMNS)), ids=st.booleans())
def test_points_parquet_with_random_rows(rows, as_text, ids, folder):
    df = _frame(rows)
    for c in df.columns:
        col = df[c]
        numeric = col.map(lambda v: v is None or isinstance(v, int | float)).all()
        if c in as_text or not numeric:
            df[c] = col.map(lambda v: None if v is None else str(v))
        else:
            df[c] = pd.to_numeric(col).astype("float64")
    path = folder / "firms.parquet"
    df.to_parquet(path, index=False)
    _read(path, True, ids)


_header = st.lists(st.sampled_from([*_COLUMNS, "x", "", "lon "]), min_size=1, max_size=8)
_token = st.sampled_from(["", "1", "-2.5", "abc", '"q"', '"', "nan", "200", "x,y", "é", "\t"])


@FUZZ
@given(header=_header, body=st.lists(st.lists(_token, max_size=9), max_size=6))
def test_points_csv_with_random_structure(header, body, folder):
    text = ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in body)
    path = folder / "firms.csv"
    path.write_text(text, encoding="utf-8")
    _read(path, region=False, ids=False)


def _valid_parquet() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame(
        {
            "lon": [110.0, 111.5, np.nan],
            "lat": [30.0, 31.0, 32.0],
            "emission": [1.0, 2.0, 3.0],
            "sector": ["A", "B", None],
            "region": ["R", "R", "S"],
            "id": ["a", "b", "c"],
        }
    ).to_parquet(buf, index=False)
    return buf.getvalue()


VALID_PARQUET = _valid_parquet()


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=600),
        st.binary(max_size=600).map(lambda b: b"PAR1" + b + b"PAR1"),
        st.integers(0, len(VALID_PARQUET)).map(lambda n: VALID_PARQUET[:n]),
        st.tuples(st.integers(0, len(VALID_PARQUET) - 1), st.integers(0, 255)).map(
            lambda t: VALID_PARQUET[: t[0]] + bytes([t[1]]) + VALID_PARQUET[t[0] + 1 :]
        ),
    ),
    suffix=st.sampled_from([".csv", ".parquet"]),
)
@example(raw=b"\x80\n", suffix=".csv")  # a header that is not UTF-8
def test_points_from_random_bytes(raw, suffix, folder):
    path = folder / f"bytes{suffix}"
    path.write_bytes(raw)
    _read(path)


def test_valid_parquet_seed_reads(folder):
    path = folder / "seed.parquet"
    path.write_bytes(VALID_PARQUET)
    ledger = Ledger()
    pts = read_points(_points_cfg(path, True, True), ledger)
    assert len(pts) == 2  # the last row: NaN lon (and no sector), dropped
    assert ledger.input_total == 6.0 and ledger.dropped_total == 3.0
