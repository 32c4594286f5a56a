"""The port client's words for a full disk, in English and Sesotho (by code; chosen at the edge).

The rest of the port client still speaks English only; these are the first of its messages
with a Sesotho version. The Sesotho was written by the Tsela developers (Lesotho orthography,
the terms of the web pages' catalogue: "moeti" traveller, "ho tšela" crossing, "mola" queue)
and is to be reviewed by a native Sesotho-speaking officer, like the web pages' catalogue.
"""

from __future__ import annotations

LANGUAGES: dict[str, str] = {"en": "English", "st": "Sesotho"}

# What stopped, by the operation the disk filled up in (``DiskFull.doing``).
DISK_FULL: dict[str, dict[str, str]] = {
    "check": {
        "en": "The disk of this port computer is full: the crossing of this traveller was NOT "
        "recorded.",
        "st": "Disk ea k'homphieutha ena ea heke ea moeli e tletse: ho tšela ha moeti enoa HA "
        "hoa ngoloa.",
    },
    "check_queued": {
        "en": "The disk of this port computer is full. The crossing of this traveller WAS "
        "queued and will be uploaded, but the local copy could not keep it: do not check "
        "this traveller again.",
        "st": "Disk ea k'homphieutha ena ea heke ea moeli e tletse. Ho tšela ha moeti enoa HO "
        "KENTSOE moleng 'me ho tla romelloa, empa kopi ea k'homphieutha ena ha ea ka ea ho "
        "boloka: u se ke ua hlahloba moeti enoa hape.",
    },
    "upload": {
        "en": "The disk of this port computer is full: the upload stopped.",
        "st": "Disk ea k'homphieutha ena ea heke ea moeli e tletse: ho romela ho emisitsoe.",
    },
    "sync": {
        "en": "The disk of this port computer is full: the new lists were not all loaded (offline "
        "checks use the lists loaded before).",
        "st": "Disk ea k'homphieutha ena ea heke ea moeli e tletse: manane a macha ha aa kenngoa "
        "kaofela (ho hlahloba ntle le marang-rang ho sebelisa manane a neng a le teng pele).",
    },
    "decision": {
        "en": "The disk of this port computer is full: your decision on the queued crossing was "
        "not saved.",
        "st": "Disk ea k'homphieutha ena ea heke ea moeli e tletse: qeto ea hao ka ho tšela ho "
        "moleng ha ea bolokoa.",
    },
}
NOTHING_LOST = {
    "en": "Nothing already queued is lost ({queued} crossing(s) wait to be uploaded).",
    "st": "Ha ho letho le neng le se le le moleng le lahlehileng (ho tšela ho {queued} ho ntse "
    "ho emetse ho romelloa).",
}
WHAT_TO_DO = {
    "check": {
        "en": "Free space on the disk that holds {home} (delete files that are not needed there, "
        "or call the IT office), then check this traveller again.",
        "st": "Lokolla sebaka ho disk e nang le {home} (hlakola lifaele tse sa hlokahaleng moo, "
        "kapa u letsetse ofisi ea IT), ebe u hlahloba moeti enoa hape.",
    },
    "check_queued": {
        "en": "Free space on the disk that holds {home} (delete files that are not needed there, "
        "or call the IT office) before checking the next traveller.",
        "st": "Lokolla sebaka ho disk e nang le {home} (hlakola lifaele tse sa hlokahaleng moo, "
        "kapa u letsetse ofisi ea IT) pele u hlahloba moeti ea latelang.",
    },
    "other": {
        "en": "Free space on the disk that holds {home} (delete files that are not needed there, "
        "or call the IT office), then try again.",
        "st": "Lokolla sebaka ho disk e nang le {home} (hlakola lifaele tse sa hlokahaleng moo, "
        "kapa u letsetse ofisi ea IT), ebe u leka hape.",
    },
}


def check_language(lang: str) -> str:
    lang = lang.strip().lower()
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    return lang


def disk_full(doing: str, lang: str, *, home: str, queued: int | None) -> str:
    """What happened, that nothing queued is lost, and what to do, in one language."""
    lang = check_language(lang)
    parts = [DISK_FULL[doing][lang]]
    if queued is not None:  # unknown only when the queue itself cannot be read
        parts.append(NOTHING_LOST[lang].format(queued=queued))
    parts.append(WHAT_TO_DO.get(doing, WHAT_TO_DO["other"])[lang].format(home=home))
    return " ".join(parts)
