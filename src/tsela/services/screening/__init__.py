"""Watchlist use cases: import a list (CSV or FollowTheMoney), screen a person, check a document.

An import replaces a list atomically: the new version is written unpublished in short
transactions (other writers, such as border checks, get their turn in between, even on
SQLite) and published in one short transaction; readers see the old version or the new one,
never a mixture (``store.watchlists``). Bad rows are reported with their line numbers and the
good rows load, unless the file would lose too much of the list: more than
``MAX_BAD_ROW_SHARE`` of its rows bad, or the list shrinking by more than
``MAX_SHRINK_SHARE``. Such an import is refused (``ImportNeedsConfirmation``, naming what
would be dropped, and audited) unless the importer confirms it. A file that cannot be read
at all, or has no good row, changes nothing.

Screening uses a ``ScreeningIndex`` cached per database engine and remade when any person
list's version changes. The versions are read with one small query at most once every
``SIGNATURE_TTL_S`` per process (an import in this process takes effect at once; one in
another server process within that time): at a hundred checks a second, the query on every
screening was a tenth of the check's statements. With ``keep_index_on_disk`` (the server
does it) the index is built once per set of list versions, saved under the var dir and
memory-mapped by every process (``store.index_files``): a restart loads it in seconds. A
process whose index is out of date keeps answering with it while the new one is loaded or
built in the background; a hit is answered from the index alone (list, version, category
and reason travel in each entry's payload), so the version it was built from can serve.

- ``files``: the CSV and FollowTheMoney readers;
- ``versions``: writing and publishing a list version;
- ``importing``: ``import_watchlist`` and its safeguards;
- ``index_cache``: the index per engine, on disk and in memory;
- ``lookup``: ``screen``, ``check_document``, ``list_watchlists``.
"""

from tsela.services.screening.files import (
    DOCUMENT_FIELDS,
    FORMATS,
    LIST_SEPARATOR,
    MAX_ROW_ERRORS_KEPT,
    PERSON_FIELDS,
    REQUIRED,
    DocumentRow,
    ImportFileError,
    PersonRow,
    RowProblem,
    country_code,
    parse_mapping,
    read_documents_csv,
    read_people_csv,
    read_people_ftm,
)
from tsela.services.screening.importing import (
    DROPPED_SHOWN,
    MAX_BAD_ROW_SHARE,
    MAX_SHRINK_SHARE,
    ImportNeedsConfirmation,
    ImportReport,
    import_watchlist,
    losses,
)
from tsela.services.screening.index_cache import (
    INDEX_DIR_NAME,
    SIGNATURE_TTL_S,
    IndexState,
    cached_index,
    current_index,
    forget_index,
    index_is_current,
    index_state,
    keep_index_on_disk,
    lists_changed,
)
from tsela.services.screening.lookup import (
    DocumentHit,
    WatchlistHit,
    WatchlistSummary,
    check_document,
    list_watchlists,
    screen,
)
from tsela.services.screening.versions import (
    CHUNK_ROWS,
    SQLITE_PAUSE_S,
    STALE_UNPUBLISHED,
    UNPUBLISHED_NAME,
)

__all__ = [
    "CHUNK_ROWS",
    "DOCUMENT_FIELDS",
    "DROPPED_SHOWN",
    "FORMATS",
    "INDEX_DIR_NAME",
    "LIST_SEPARATOR",
    "MAX_BAD_ROW_SHARE",
    "MAX_ROW_ERRORS_KEPT",
    "MAX_SHRINK_SHARE",
    "PERSON_FIELDS",
    "REQUIRED",
    "SIGNATURE_TTL_S",
    "SQLITE_PAUSE_S",
    "STALE_UNPUBLISHED",
    "UNPUBLISHED_NAME",
    "DocumentHit",
    "DocumentRow",
    "ImportFileError",
    "ImportNeedsConfirmation",
    "ImportReport",
    "IndexState",
    "PersonRow",
    "RowProblem",
    "WatchlistHit",
    "WatchlistSummary",
    "cached_index",
    "check_document",
    "country_code",
    "current_index",
    "forget_index",
    "import_watchlist",
    "index_is_current",
    "index_state",
    "keep_index_on_disk",
    "list_watchlists",
    "lists_changed",
    "losses",
    "parse_mapping",
    "read_documents_csv",
    "read_people_csv",
    "read_people_ftm",
    "screen",
]
