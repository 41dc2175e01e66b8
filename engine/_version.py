"""The installed version (one place: the distribution's metadata)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("footgrid")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
