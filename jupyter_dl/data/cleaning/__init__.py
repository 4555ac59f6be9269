"""Relabel and remove images of a data set safely, with undo and a change log.

:class:`DatasetEditor` edits what a :class:`~jupyter_dl.data.catalog.Catalog`
describes, the way ``%finetune`` reads it next time. Nothing is ever deleted or
overwritten, and every change can be undone. One module per job:

- :mod:`.editor`: the API (relabel, remove, undo) and the change log;
- :mod:`.changes`: the record of one change and its change-log entry;
- :mod:`.checks`: the checks every back end makes before an edit;
- :mod:`.moves`: moving files without overwriting, all or nothing, and the trash folder;
- :mod:`.csv_document`: a CSV rewritten so that only the edited records' bytes change, undoably;
- :mod:`.folder`, :mod:`.csv_table`, :mod:`.frame_table`: the back ends for a
  folder per class, a CSV file and a DataFrame.

``%label`` writes its labels with the same machinery: :class:`LabelWriter` (:mod:`.labels`: assign,
undo, the change log and the provenance log) and :mod:`.label_backends` (into a class folder, a
CSV's empty label cells, a DataFrame's).
"""
from ..._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "Change": "changes", "ItemChange": "changes",
    "CHANGE_LOG": "editor", "EDITABLE_KINDS": "editor", "DatasetEditor": "editor",
    "SPLIT_DIR_NAMES": "folder", "TRASH_DIR": "moves",
    "Assignment": "labels", "HOWS": "labels", "LabelChange": "labels", "LabelWriter": "labels",
    "PROVENANCE_LOG": "labels", "read_provenance": "labels",
})
