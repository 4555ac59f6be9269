"""The snapshot of a live ``%browse`` output (see :mod:`jupyter_dl.ui.snapshot` for how it stands in).

It is the static rendering of :mod:`.static`: health, class chart, the first page of thumbnails of the
current filter; for a learner the confusion matrix and the per-class table. Redrawn after filters,
edits and the health check; not after page changes.
"""
from __future__ import annotations

from typing import Any

from ..ui.snapshot import snapshot_html

SHOWN_SIZE = 96      # thumbnails in the snapshot are shown at most this wide (CSS pixels)
# The grid's thumbnails are reused up to this size: no decoding, ~20 % more bytes than 96 px ones
# (48 on a page: 165 KB of HTML instead of 135 KB, drawn in 7 ms instead of 0.2 s).
REUSE_UP_TO = 128

SNAPSHOT_NOTE = ("Snapshot of a live %browse output, shown where its widget cannot be (the kernel is gone): "
                 "run the cell again to browse.")


def draw_snapshot(session: Any, lock: Any, token: str) -> dict:
    """The snapshot of a live browser ``session``: the first page of its current filter, its health and charts.

    What it shows is read under ``lock`` (the browser's). The thumbnails are the grid's own (in memory
    since the grid showed that page: no decoding) up to :data:`REUSE_UP_TO` pixels, else made at 96 px,
    outside the lock and in the background pool, so a page change in the meantime waits for neither.
    """
    from ..data.thumbnails import prefetch, thumbnails
    from .static import static_bundle

    made = session.size if session.size <= REUSE_UP_TO else SHOWN_SIZE
    with lock:
        items = session.state.page_items(0)
    prefetch(session.catalog, items, size=made).result()
    with lock:
        thumbs = thumbnails(session.catalog, items, size=made)     # made by now: from memory
        bundle = static_bundle(session.state, report=session.health, thumbs=thumbs, size=min(session.size, SHOWN_SIZE),
                               page=0, items=items)
    return {"text/html": snapshot_html(bundle["text/html"], token, SNAPSHOT_NOTE), "text/plain": bundle["text/plain"]}
