"""One labelling session, without any widget: pages, suggestions, labels written safely, undo.

:class:`LabelSession` is what ``%label`` drives (the widget in :mod:`.widget` is a view of it, and its
Python surface is the same). It holds the pool (:mod:`jupyter_dl.data.label_pool`), writes every label
through :class:`~jupyter_dl.data.cleaning.labels.LabelWriter` (files moved or table rows written
atomically, undo, change log, provenance line), keeps one embedding per image
(:mod:`.embeddings`, cached by file) and the suggestions made from them (:mod:`.suggestions`) or from
a fine-tuned model (:mod:`.retrain`), and decides which images the next page shows.

A page is a fixed list of item keys: labelling one of them updates the suggestions of the others
(milliseconds) but never reshuffles the page under the user's eyes. :meth:`accept` labels every
image left on the page with its suggestion and turns the page; :meth:`undo` takes the last change back
and shows the page it was made on again.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UserInputError
from .suggestions import Suggestions, from_probabilities, suggest

if TYPE_CHECKING:
    from ..data.label_pool import LabelPool, PoolItem

PAGE_SIZE = 24


@dataclass(frozen=True)
class Suggestion:
    """What the labeller proposes for one image: a class, how sure, and which model said so."""

    label: str
    confidence: float
    model: str          # "embeddings:prototype", "embeddings:linear" or "fine-tuned:<run name>"


@dataclass(frozen=True)
class Outcome:
    """One label given while a suggestion was shown: was the suggestion right? (The accuracy chart.)"""

    labels_before: int  # how many images were labelled when it was given
    right: bool
    model: str


class LabelSession:
    """Label the unlabelled images of ``pool``, a page at a time, with suggestions from a model.

    ``vectors``: one embedding per item key already made (tests, benchmarks); by default every image
    is embedded with ``arch``'s pretrained body at ``size`` (see :func:`~jupyter_dl.labelling.embed`).
    ``page_size``: images per page; ``strategy``: the order (see :func:`~jupyter_dl.labelling.suggest`).
    Every method raises :class:`~jupyter_dl.errors.UserInputError` (one sentence) on bad input and then
    has changed nothing.
    """

    def __init__(self, pool: LabelPool, *, arch: Any = None, size: int | None = None, page_size: int = PAGE_SIZE,
                 strategy: str = "mixed", seed: int = 0, device: str = "auto", namespace: dict | None = None,
                 quiet: bool = False, vectors: dict[int, np.ndarray] | None = None) -> None:
        from ..data.cleaning.labels import LabelWriter

        if not 1 <= page_size <= 200:
            raise UserInputError(f"--page-size must be between 1 and 200 images, not {page_size}.")
        self.pool = pool
        self.writer = LabelWriter(pool)
        self.page_size = int(page_size)
        self.strategy = strategy
        self.seed = seed
        self.arch = arch
        self.lock = threading.RLock()
        self.skipped: list[tuple[Any, str]] = []   # (file, why it could not be read): never shown, never moved
        self._on_change: list[Callable[[], None]] = []
        self.retrainer: Any = None   # the background fine-tunes (a retrain.Retrainer; label() sets one up)
        self.size: int | None = size   # the embedding's input size (None: vectors given, size unknown)
        if vectors is None:
            vectors, self.size = self._embed(arch=arch, size=size, device=device, namespace=namespace, quiet=quiet)
        self._keys = np.array(sorted(vectors), dtype=np.int64)   # row -> item key
        self._row = {int(key): row for row, key in enumerate(self._keys)}
        self.vectors = (np.stack([vectors[int(key)] for key in self._keys]).astype(np.float32, copy=False)
                        if len(self._keys) else np.zeros((0, 0), dtype=np.float32))
        if not any(item.label is None for item in self._items()):
            raise UserInputError(f"Nothing to label: none of the images in {pool.description or 'the pool'} "
                                 "could be read (see .skipped); put readable images in the pool.")
        self._model: tuple[str, np.ndarray, list[str]] | None = None   # (name, probabilities by row, its classes)
        self._pass_over: set[int] = set()      # skipped this session: shown again only after the rest
        self._left_open: set[int] = set()      # shown on a page that was turned without labelling them
        self._changes: list[tuple[Any, list[int]]] = []   # (LabelChange, the page it was made on)
        self.outcomes: list[Outcome] = []
        self.found: Suggestions | None = None
        self.page: list[int] = []
        self.refresh()
        self.turn_page()

    # ------------------------------------------------------------------ reading
    def _items(self) -> list[PoolItem]:
        return [self.pool.item(int(key)) for key in self._keys]

    @property
    def classes(self) -> list[str]:
        """The classes a label can take (the pool's, including any added in this session)."""
        return list(self.pool.classes)

    @property
    def counts(self) -> dict[str, int]:
        """Labelled images per class (every labelled image of the data set, not only this session's)."""
        counts = dict.fromkeys(self.pool.classes, 0)
        for item in self.pool.items:
            if item.label is not None:
                counts[item.label] = counts.get(item.label, 0) + 1
        return counts

    @property
    def n_labelled(self) -> int:
        """How many images of the data set have a label."""
        return sum(item.label is not None for item in self.pool.items)

    @property
    def n_unlabelled(self) -> int:
        """How many readable images are still to label."""
        return sum(item.label is None for item in self._items())

    @property
    def model_name(self) -> str:
        """Which model makes the suggestions now."""
        if self._model is not None:
            return self._model[0]
        return f"embeddings:{self.found.method}" if self.found is not None else "embeddings"

    def key_classes(self) -> list[tuple[str, str]]:
        """Which key labels which class: the digit keys in class order ("1" the first class ... "9"), or,
        where every class is named by a single digit (digits 0-9), each class's own digit."""
        classes = self.pool.classes
        if classes and all(len(name) == 1 and name.isdigit() for name in classes):
            return [(name, name) for name in sorted(classes)]
        return [(str(number), name) for number, name in enumerate(classes[:9], 1)]

    def suggestion(self, key: int) -> Suggestion | None:
        """The suggested label of item ``key`` (None before the first labels, or for an unreadable image)."""
        row = self._row.get(int(key))
        found = self.found
        if row is None or found is None or found.labels[row] < 0:
            return None
        classes = self._model[2] if self._model is not None else self.pool.classes
        return Suggestion(classes[int(found.labels[row])], float(found.confidence[row]), self.model_name)

    def open_on_page(self) -> list[int]:
        """The page's images still without a label, in page order (skipped ones included)."""
        return [key for key in self.page if self.pool.item(key).label is None]

    def on_change(self, callback: Callable[[], None]) -> None:
        """``callback()`` after anything the view shows changed (also from the background fine-tune's thread)."""
        self._on_change.append(callback)

    def changed(self) -> None:
        """Tell the views (see :meth:`on_change`)."""
        for callback in list(self._on_change):
            callback()

    # ------------------------------------------------------------------ actions
    def label(self, key: int, label: str | int) -> Any:
        """Give image ``key`` the class ``label`` (a class name, or its number 1..9 as on the keyboard)."""
        with self.lock:
            label = self._class_name(label)
            change = self._assign([(int(key), label)])
        self.changed()
        return change

    def accept(self, keys: Sequence[int] | None = None) -> Any:
        """Label ``keys`` (default: every unlabelled image on the page that is not skipped) with their
        suggestions, as one change, then turn the page. None when there was nothing to accept."""
        with self.lock:
            if keys is None:
                keys = [key for key in self.open_on_page() if key not in self._pass_over]
            chosen = [(int(key), found.label) for key in keys if (found := self.suggestion(key)) is not None]
            if keys and not chosen:
                raise UserInputError("There are no suggestions yet: label a few images of each class first "
                                     "(keys 1-9), then accept the suggestions with `a`.")
            change = self._assign(chosen) if chosen else None
            self.turn_page()
        self.changed()
        return change

    def skip(self, key: int) -> None:
        """Leave image ``key`` for later: it stays unlabelled and comes back after the others."""
        with self.lock:
            if self.pool.item(int(key)).label is not None:
                raise UserInputError(f"Image {key} is already labelled: undo (u) to take its label back.")
            self._pass_over.add(int(key))
        self.changed()

    def undo(self) -> Any:
        """Take back the last labels given in this session and show their page again (None: nothing to undo)."""
        with self.lock:
            if not self._changes:
                return None
            undone = self.writer.undo()
            change, page = self._changes.pop()
            keys = {item.key for item in change.items}
            self.outcomes = [o for o in self.outcomes if o.labels_before < self.n_labelled]
            self.page = page
            self._pass_over -= keys
            self.refresh()
        self.changed()
        return undone

    def add_class(self, name: str) -> str:
        """A new class that labels can take from now on (its folder is made with its first image)."""
        with self.lock:
            name = self.writer.add_class(name)
            self.refresh()
        self.changed()
        return name

    def turn_page(self) -> list[int]:
        """Show the next page: the most useful unlabelled images not shown yet, then those left open on
        earlier pages, skipped ones last; [] when all are done."""
        with self.lock:
            found = self.found
            order = found.order.tolist() if found is not None else []
            keys = [int(self._keys[row]) for row in order]
            # "Next page" means other images: the ones a turned page left open come after those not yet
            # shown (and before the skipped ones), so a page never comes back unchanged.
            self._left_open |= set(self.open_on_page()) - self._pass_over
            fresh = [key for key in keys if key not in self._pass_over and key not in self._left_open]
            seen = [key for key in keys if key in self._left_open and key not in self._pass_over]
            later = [key for key in keys if key in self._pass_over]
            if not fresh:  # every image was shown once: start over with the ones left open
                self._left_open.clear()
            page = (fresh + seen + later)[:self.page_size]
            # Grouped by suggested class, so a wrong suggestion stands out among its neighbours.
            position = {key: i for i, key in enumerate(page)}
            self.page = sorted(page, key=lambda key: (self._suggested_index(key), position[key]))
        return self.page

    def _suggested_index(self, key: int) -> int:
        row = self._row.get(key)
        return int(self.found.labels[row]) if self.found is not None and row is not None else -1

    # ------------------------------------------------------------------ suggestions
    def refresh(self) -> Suggestions:
        """Suggestions for every image from the labels so far (or the fine-tuned model's predictions)."""
        with self.lock:
            items = self._items()
            index = {name: i for i, name in enumerate(self.pool.classes)}
            rows = [row for row, item in enumerate(items) if item.label is not None and item.label in index]
            unlabelled = np.array([row for row, item in enumerate(items) if item.label is None], dtype=np.int64)
            rng = np.random.default_rng(self.seed + len(rows))
            if self._model is not None:
                self.found = from_probabilities(self._model[1], unlabelled, "model", strategy=self.strategy,
                                                rng=rng, page=self.page_size)
            else:
                labels = [index[items[row].label] for row in rows]  # type: ignore[index]
                found = suggest(self.vectors, rows, labels, max(len(self.pool.classes), 1), strategy=self.strategy,
                                seed=self.seed + len(rows), page=self.page_size)
                # suggest() orders every row it was not told is labelled; a labelled image outside the
                # known classes (none yet) must not come back on a page.
                found.order = found.order[np.isin(found.order, unlabelled)]
                self.found = found
            return self.found

    def use_model(self, name: str, probabilities: np.ndarray, classes: Sequence[str]) -> None:
        """Take suggestions from a fine-tuned model from now on: ``probabilities`` has one row per image
        key in :attr:`keys` order (the rows of labelled images are not used)."""
        with self.lock:
            self._model = (name, np.asarray(probabilities, dtype=np.float32), list(classes))
            self.refresh()
        self.changed()

    @property
    def passed_over(self) -> set[int]:
        """The images skipped in this session (they come back after the others)."""
        return set(self._pass_over)

    @property
    def keys(self) -> list[int]:
        """The item keys of the readable images, in the order of :attr:`vectors`' rows."""
        return self._keys.tolist()

    # ------------------------------------------------------------------ internals
    def _class_name(self, label: Any) -> str:
        classes = self.pool.classes
        keys = self.key_classes()
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            # A number means what its key does: the n-th class, or the class named by that digit.
            by_key = dict(keys) if keys and all(key == name for key, name in keys) else {
                str(n): name for n, name in enumerate(classes, 1)}
            if str(int(label)) not in by_key:
                raise UserInputError(f"There is no class number {label}: the classes are "
                                     f"{_numbered(keys, classes)}; add one with the + field (or .add_class(name)).")
            return by_key[str(int(label))]
        if label not in classes:
            raise UserInputError(f"{label!r} is not one of the classes ({_numbered(keys, classes)}): add it first "
                                 "with the + field (or .add_class(name)).")
        return str(label)

    def _assign(self, chosen: list[tuple[int, str]]) -> Any:
        from ..data.cleaning.labels import Assignment

        before = self.n_labelled
        assignments = []
        outcomes = []
        for key, label in chosen:
            if key not in self._row:
                raise UserInputError(f"Image {key} is not one this labeller shows (it could not be read, or it "
                                     "is not in the pool): pick an image on the page.")
            found = self.suggestion(key)
            if found is None:
                assignments.append(Assignment(key=key, label=label, how="typed"))
                continue
            how = "accepted" if found.label == label else "corrected"
            assignments.append(Assignment(key=key, label=label, how=how, model=found.model, suggested=found.label,
                                          confidence=round(found.confidence, 4)))
            outcomes.append(Outcome(before, found.label == label, found.model))
        change = self.writer.assign(assignments)
        self.outcomes.extend(outcomes)
        self._changes.append((change, list(self.page)))
        self._pass_over -= {key for key, _ in chosen}
        self.refresh()
        return change

    def _embed(self, **options: Any) -> tuple[dict[int, np.ndarray], int]:
        from ..ui.decode_progress import DecodeProgress
        from .embeddings import auto_size, embed_files

        items = list(self.pool.items)
        paths = [item.path for item in items]
        size = options.pop("size") or auto_size(paths)
        quiet = options.pop("quiet")
        with DecodeProgress(quiet=quiet, verb="Embedding", past="Embedded") as line:
            vectors, kept, skipped = embed_files(paths, size=size, progress=line, **options)
        self.skipped = list(skipped)
        return {items[i].key: vectors[row] for row, i in enumerate(kept)}, size


def key_names(keys: Sequence[tuple[str, str]], classes: Sequence[str]) -> list[str]:
    """Each class with its key, as the buttons show it: "1 red", or just "0" for a class named by its digit."""
    key_of = {name: key for key, name in keys}
    return [name if key_of.get(name, name) == name else f"{key_of[name]} {name}" for name in classes]


def _numbered(keys: Sequence[tuple[str, str]], classes: Sequence[str]) -> str:
    return ", ".join(key_names(keys, classes)) or "none yet"
