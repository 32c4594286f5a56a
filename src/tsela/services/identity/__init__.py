"""Identity resolution (issue 17): batch resolution with Splink, people's review, reading an
identity. The pure model is ``tsela.domain.identity``; the tables ``tsela.store.identity``.
"""

from tsela.services.identity.resolve import ResolveReport, active_model, read_model_file, resolve
from tsela.services.identity.review import (
    IdentityView,
    PairView,
    QueuePage,
    RecordView,
    decide,
    link,
    pair,
    queue,
    show,
    unlink,
)

__all__ = [
    "IdentityView",
    "PairView",
    "QueuePage",
    "RecordView",
    "ResolveReport",
    "active_model",
    "decide",
    "link",
    "pair",
    "queue",
    "read_model_file",
    "resolve",
    "show",
    "unlink",
]
