"""The journal of finished blocks of a store in progress: one append-only file per process."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np

#: Folder inside a store in progress that holds the journals of finished blocks: one
#: append-only file per writing process, one JSON line ``[label, sums]`` per block.
DONE_DIR = ".footgrid_done"


def journal_block(path: str, label: str, sums: list[float]) -> None:
    """Record that block ``label`` of the store in progress at ``path`` is written.

    One line is appended, in a single ``write``, to this process's journal (a file per host
    and process, so that no two processes share one on a network file system). A process
    killed mid-line leaves a line without its newline, which :func:`done_blocks` ignores;
    the block is then written again by ``--resume``. One journal instead of a marker file per
    block: creating files is the slow part of a file system (about 5 000 per run at 1 km).
    """
    # A leading newline ends any line a killed writer of the same file name left torn.
    line = ("\n" + json.dumps([label, sums]) + "\n").encode()
    name = os.path.join(path, DONE_DIR, f"{socket.gethostname()}-{os.getpid()}.jsonl")
    fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.write(fd, line) != len(line):
            raise OSError(f"short write to the journal {name}")
    finally:
        os.close(fd)


def done_blocks(path: Path) -> dict[str, np.ndarray]:
    """Blocks already written to a store in progress, with the sums their tasks returned."""
    out: dict[str, np.ndarray] = {}
    d = path / DONE_DIR
    if not d.is_dir():
        return out
    for journal in sorted(d.glob("*.jsonl")):
        for line in journal.read_bytes().split(b"\n")[:-1]:  # the last piece has no newline
            if not line:
                continue
            try:
                label, sums = json.loads(line)
            except ValueError:
                continue
            out[str(label)] = np.asarray(sums, dtype=np.float64)
    return out
