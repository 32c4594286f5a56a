"""What every part of the extras shares: the generator's name in the records, sizes, the
lists' names, progress callbacks, the error.
"""

from __future__ import annotations

from collections.abc import Callable

from tsela.domain.permits import PermitStatus

S = PermitStatus
Advance = Callable[[int], None]
ProgressFactory = Callable[[str, int], Advance]

# Who did it, in the permit history and the audit log: the generator, not a person.
ACTOR_NAME = "synth"
# Permits are written one application at a time through the services; beyond a few
# thousand (benchmark-size populations) they cost minutes and add nothing to a demo.
MAX_HOLDERS = 2500
PENDING = 20
SOURCE = "Tsela synthetic demo data: fictional entries and synthetic travellers, not a real list"

WANTED_LIST = "SAPS wanted persons"
PROTECT_LIST = "Counter-trafficking: persons to protect"
DOCUMENT_LIST = "Lost and stolen travel documents (SLTD-like)"


class ExtrasError(ValueError):
    """The population cannot be given extras (e.g. it is not in the store)."""
