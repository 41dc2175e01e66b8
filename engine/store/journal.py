"""The journal of finished blocks of a store in progress: one append-only file per process.

A line records a block's label, the sums its task returned and every chunk file it wrote (key,
size, CRC-32 of the compressed bytes), followed by a CRC-32 of the line itself. On ``--resume``
a block is reused only if its line is intact and each of its chunk files is still there with
the recorded size and checksum; any other block is computed and written again.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import zlib
from pathlib import Path

import numpy as np

from footgrid.store.chunks import chunk_matches

log = logging.getLogger("footgrid")

#: Folder inside a store in progress that holds the journals of finished blocks: one
#: append-only file per writing process, one line per block.
DONE_DIR = ".footgrid_done"


def journal_block(
    path: str, label: str, sums: list[float], chunks: list[list] | None = None
) -> None:
    """Record that block ``label`` of the store in progress at ``path`` is written.

    One line is appended, in a single ``write``, to this process's journal (a file per host
    and process, so that no two processes share one on a network file system). A process
    killed mid-line leaves a line without its newline or with a wrong checksum, which
    :func:`done_blocks` ignores; the block is then written again by ``--resume``. One journal
    instead of a marker file per block: creating files is the slow part of a file system
    (about 5 000 per run at 1 km).

    Parameters
    ----------
    path
        The store in progress.
    label
        The block's label (``e_<tile>``, ``f_<chunk>_<tile>``).
    sums
        The float64 sums the block's task returned.
    chunks
        ``[key, size, crc32]`` of each chunk file the block wrote (from
        :func:`footgrid.store.chunks.write_block`).
    """
    line = journal_line(label, sums, chunks)
    name = os.path.join(path, DONE_DIR, f"{socket.gethostname()}-{os.getpid()}.jsonl")
    fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.write(fd, line) != len(line):
            raise OSError(f"short write to the journal {name}")
    finally:
        os.close(fd)


def journal_line(label: str, sums: list[float], chunks: list[list] | None = None) -> bytes:
    """One journal line: newline, ``[label, sums, chunks]`` as JSON, a tab, its CRC-32, newline.

    The leading newline ends any line a killed writer of the same file name left torn.
    """
    body = json.dumps([label, sums, chunks or []], separators=(",", ":"))
    return f"\n{body}\t{zlib.crc32(body.encode()):08x}\n".encode()


def _parse(line: bytes) -> tuple[str, list, list] | None:
    body, sep, crc = line.rpartition(b"\t")
    if not sep or len(crc) != 8:
        return None
    try:
        if int(crc, 16) != zlib.crc32(body):
            return None
        label, sums, chunks = json.loads(body)
        sums = [float(v) for v in sums]
        chunks = [(str(k), int(n), int(c)) for k, n, c in chunks]
    except (ValueError, TypeError):
        return None
    return str(label), sums, chunks


def done_blocks(path: Path, verify: bool = True) -> dict[str, np.ndarray]:
    """Blocks already written to a store in progress, with the sums their tasks returned.

    Lines that are torn or fail their checksum are skipped (and counted in a warning); with
    ``verify``, so is a block any of whose chunk files is missing or differs from what its
    line recorded. Skipped blocks are recomputed by the caller.
    """
    out: dict[str, np.ndarray] = {}
    d = path / DONE_DIR
    if not d.is_dir():
        return out
    bad = stale = 0
    for journal in sorted(d.glob("*.jsonl")):
        for line in journal.read_bytes().split(b"\n")[:-1]:  # the last piece has no newline
            if not line:
                continue
            parsed = _parse(line)
            if parsed is None:
                bad += 1
                continue
            label, sums, chunks = parsed
            if verify and not all(chunk_matches(path, k, n, c) for k, n, c in chunks):
                stale += 1  # a later line of the same block (another journal) may be intact
                continue
            out[label] = np.asarray(sums, dtype=np.float64)
    if bad:
        log.warning("%d unreadable journal lines in %s; their blocks are computed again", bad, d)
    if stale:
        log.warning(
            "%d written blocks have missing or changed chunk files in %s; computing them again",
            stale,
            path,
        )
    return out
