"""The open-data release in SDMX 2.1 (issue 22, item 2), written and read back with sdmx1.

One structure message (``sdmx/structure.xml``) holds the concepts, a code list per
dimension (the union of the values every table uses; the totals are the SDMX convention
``_T``), the confidentiality status code list, and one data structure definition (DSD) per
table, annotated with the disclosure control applied. Each table is a structure-specific
data message (``sdmx/<table>.xml``). A cell the disclosure control suppressed carries no
value and the confidentiality status ``C`` (primary) or ``D`` (secondary), as the SDMX
code list CL_CONF_STATUS defines them; every published cell is ``F`` (free).

``check`` reads every file back with the library against its own DSD and compares it
with the tables: the release is not published unless the SDMX says what the CSV says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sdmx
from sdmx.message import DataMessage, Header, StructureMessage
from sdmx.model import common
from sdmx.model import v21 as m

from tsela import __version__
from tsela.observatory.sdc import TOTAL, CountTable

AGENCY_ID = "TSELA"
VERSION = "1.0"
TOTAL_CODE = "_T"
MEASURE = "OBS_VALUE"
CONF = "CONF_STATUS"
# SDMX's CL_CONF_STATUS codes used here.
FREE, PRIMARY, SECONDARY = "F", "C", "D"
CONF_WORDS = {
    FREE: "Free (published)",
    PRIMARY: "Confidential: fewer contributors than the threshold (primary suppression)",
    SECONDARY: "Confidential: suppressed so that a primary cell cannot be recovered "
    "(secondary suppression)",
}
STRUCTURE_FILE = "structure.xml"


class SdmxError(Exception):
    """The SDMX written does not say what the tables say (a bug: nothing is published)."""


def code_id(label: str) -> str:
    """An SDMX code id for a category label (ids allow letters, digits, _ @ $ -)."""
    if label == TOTAL:
        return TOTAL_CODE
    return re.sub(r"[^A-Za-z0-9_@$-]", "_", label.replace("+", "PLUS")) or "_"


def dimension_id(name: str) -> str:
    return name.upper()


def _dsd_id(table: CountTable) -> str:
    return f"DSD_{table.name.upper()}"


def structure(tables: Sequence[CountTable], period_label: str, disclosure: str) -> StructureMessage:
    """Concepts, code lists and one DSD per table."""
    agency = common.Agency(id=AGENCY_ID, name="Tsela migration observatory")
    concepts = common.ConceptScheme(
        id="CS_TSELA", maintainer=agency, version=VERSION, name="Tsela release concepts"
    )
    labels: dict[str, dict[str, str]] = {}
    for t in tables:
        for dim, values in ((t.row_dim, t.rows), (t.col_dim, t.cols)):
            into = labels.setdefault(dimension_id(dim), {})
            into.update({code_id(v): v for v in values})
    for did in labels:
        concepts.append(common.Concept(id=did, name=did.replace("_", " ").capitalize()))
    concepts.append(common.Concept(id=MEASURE, name="Observation value"))
    concepts.append(common.Concept(id=CONF, name="Confidentiality status"))
    codelists: dict[str, common.Codelist] = {}
    for did, codes in labels.items():
        cl = common.Codelist(id=f"CL_{did}", maintainer=agency, version=VERSION, name=did)
        for cid, name in sorted(codes.items()):
            cl.append(common.Code(id=cid, name=name))
        cl.append(common.Code(id=TOTAL_CODE, name=TOTAL))
        codelists[did] = cl
    conf = common.Codelist(
        id="CL_CONF_STATUS", maintainer=agency, version=VERSION, name="Confidentiality status"
    )
    for cid, words in CONF_WORDS.items():
        conf.append(common.Code(id=cid, name=words))
    msg = StructureMessage(header=_header(agency, f"{period_label} structure"))
    for cl in [*codelists.values(), conf]:
        msg.add(cl)
    msg.add(concepts)
    for t in tables:
        dsd = m.DataStructureDefinition(
            id=_dsd_id(t),
            maintainer=agency,
            version=VERSION,
            name=t.title,
            # Also in the description: readers (sdmx1 among them) may drop annotations.
            description=f"{t.description} Period: {period_label}. Disclosure control: {disclosure}",
        )
        dsd.annotations.append(common.Annotation(id="DISCLOSURE_CONTROL", text=disclosure))
        dsd.annotations.append(common.Annotation(id="PERIOD", text=period_label))
        dsd.annotations.append(common.Annotation(id="MEASURE", text=t.measure))
        for dim in (t.row_dim, t.col_dim):
            did = dimension_id(dim)
            dsd.dimensions.getdefault(
                did,
                concept_identity=concepts.get(did),
                local_representation=common.Representation(enumerated=codelists[did]),
            )
        dsd.measures.getdefault(MEASURE, concept_identity=concepts.get(MEASURE))
        dsd.attributes.getdefault(
            CONF,
            concept_identity=concepts.get(CONF),
            local_representation=common.Representation(enumerated=conf),
            related_to=m.PrimaryMeasureRelationship(),
            usage_status=common.UsageStatus.mandatory,
        )
        msg.add(dsd)
    return msg


def _header(agency: common.Agency, what: str) -> Header:
    return Header(
        id=f"TSELA-{re.sub(r'[^A-Za-z0-9]', '-', what)}"[:50],
        sender=agency,
        source={"en": f"Tsela {__version__}"},
    )


def _status(table: CountTable, i: int, j: int) -> str:
    if not table.suppressed[i, j]:
        return FREE
    return PRIMARY if table.primary[i, j] else SECONDARY


def data(table: CountTable, dsd: m.DataStructureDefinition) -> DataMessage:
    """The table's cells, margins included, as observations."""
    measure = dsd.measures.get(MEASURE)
    attribute = dsd.attributes.get(CONF)
    representation = attribute.local_representation
    conf = representation.enumerated if representation else None
    if not isinstance(conf, common.Codelist):
        raise SdmxError(f"{dsd.id}: {CONF} has no code list")
    ds = m.StructureSpecificDataSet(structured_by=dsd)
    observations = []
    rows, cols = [*table.rows, TOTAL], [*table.cols, TOTAL]
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            key = dsd.make_key(
                common.Key,
                {
                    dimension_id(table.row_dim): code_id(row),
                    dimension_id(table.col_dim): code_id(col),
                },
            )
            status = _status(table, i, j)
            observations.append(
                m.Observation(
                    dimension=key,
                    value=None if status != FREE else int(table.values[i, j]),
                    value_for=measure,
                    attached_attribute={
                        CONF: common.AttributeValue(value=conf[status], value_for=attribute)
                    },
                )
            )
    ds.add_obs(observations)
    agency = dsd.maintainer or common.Agency(id=AGENCY_ID)
    return DataMessage(header=_header(agency, table.name), data=[ds])


def write(
    tables: Sequence[CountTable], out_dir: Path, period_label: str, disclosure: str
) -> list[str]:
    """``structure.xml`` and one data file per table under ``out_dir``; their names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    msg = structure(tables, period_label, disclosure)
    (out_dir / STRUCTURE_FILE).write_bytes(sdmx.to_xml(msg, pretty_print=True))
    names = [STRUCTURE_FILE]
    for t in tables:
        name = f"{t.name}.xml"
        (out_dir / name).write_bytes(
            sdmx.to_xml(data(t, msg.structure[_dsd_id(t)]), pretty_print=True)
        )
        names.append(name)
    return names


def read(out_dir: Path, table_name: str) -> dict[tuple[str, str], tuple[int | None, str]]:
    """One table as written: (row code, column code) -> (value or None, confidentiality)."""
    structures = sdmx.read_sdmx(out_dir / STRUCTURE_FILE)
    if not isinstance(structures, StructureMessage):
        raise SdmxError(f"{STRUCTURE_FILE} is not a structure message")
    dsd = structures.structure[f"DSD_{table_name.upper()}"]
    message = sdmx.read_sdmx(out_dir / f"{table_name}.xml", structure=dsd)
    if not isinstance(message, DataMessage):
        raise SdmxError(f"{table_name}.xml is not a data message")
    out: dict[tuple[str, str], tuple[int | None, str]] = {}
    for obs in message.data[0].obs:
        key = obs.key.get_values()
        value: Any = obs.value
        present = value is not None and value == value  # NaN is "no value"
        status = str(obs.attached_attribute[CONF].value)
        out[(str(key[0]), str(key[1]))] = (int(value) if present else None, status)
    return out


def check(tables: Sequence[CountTable], out_dir: Path) -> None:
    """Read every table back against its DSD; it must say exactly what the table says."""
    for t in tables:
        back = read(out_dir, t.name)
        rows, cols = [*t.rows, TOTAL], [*t.cols, TOTAL]
        expected = {
            (code_id(r), code_id(c)): (
                None if t.suppressed[i, j] else int(t.values[i, j]),
                _status(t, i, j),
            )
            for i, r in enumerate(rows)
            for j, c in enumerate(cols)
        }
        if back != expected:
            wrong = sorted(k for k in expected.keys() | back.keys()
                           if expected.get(k) != back.get(k))[:5]  # fmt: skip
            raise SdmxError(f"the SDMX of {t.name} does not match the table at {wrong}")
