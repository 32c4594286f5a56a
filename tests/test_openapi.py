"""/openapi.json describes every answer: each operation's success answers have a schema that
says what is in them, field by field (api/schemas), and files declare their media type.

(``test_fuzz_api.py`` then holds the server to these schemas with generated requests.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from tsela.api.app import create_app
from tsela.api.exchange import create_exchange_app
from tsela.config import Settings

METHODS = ("get", "post", "put", "patch", "delete")
# Answers that are files, each with the media types it is declared with.
FILES = {
    ("get", "/v1/permits", "200"): {"application/json", "text/csv"},
    ("get", "/v1/permits/revocations", "200"): {"application/jwt"},
    ("get", "/v1/permits/{ref}/qr.{kind}", "200"): {"image/png", "image/svg+xml"},
    ("get", "/v1/governance/report", "200"): {"text/html", "application/pdf"},
    ("get", "/v1/refusals/{refusal_id}/notice", "200"): {"text/html", "application/pdf"},
    ("get", "/v1/cases/export", "200"): {"application/json", "text/csv"},
}


def _settings(tmp: Path) -> Settings:
    return Settings(database_url="sqlite://", node="LS", var_dir=tmp)


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
    return schema


def untyped(schema: dict[str, Any], doc: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """The places in ``schema`` that allow any value: an empty schema, an object with
    neither properties nor a schema for its values, an array without one for its items."""
    ref = schema.get("$ref")
    if ref is not None:
        if ref in seen:
            return []
        seen = seen | {ref}
    schema = _resolve(schema, doc)
    if not schema or set(schema) <= {"title", "description", "default", "examples"}:
        return [f"{where}: any value"]
    problems: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for i, part in enumerate(schema.get(key, [])):
            problems += untyped(part, doc, f"{where}.{key}[{i}]", seen)
    if schema.get("type") == "object":
        values = schema.get("additionalProperties")
        properties = schema.get("properties", {})
        if not properties and not isinstance(values, dict):
            problems.append(f"{where}: an object of anything")
        for name, field in properties.items():
            problems += untyped(field, doc, f"{where}.{name}", seen)
        if isinstance(values, dict):
            problems += untyped(values, doc, f"{where}.*", seen)
    if schema.get("type") == "array":
        if "items" not in schema:
            problems.append(f"{where}: a list of anything")
        else:
            problems += untyped(schema["items"], doc, f"{where}[]", seen)
    return problems


def success_answers(doc: dict[str, Any]) -> tuple[int, list[tuple[str, str, str, str, Any]]]:
    """(number of operations, every (method, path, status, media type, schema) of a 2xx)."""
    operations = 0
    found = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            operations += 1
            for status, answer in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                content = answer.get("content") or {"(none)": {}}
                for media, body in content.items():
                    found.append((method, path, status, media, body.get("schema")))
    return operations, found


def test_every_success_answer_has_a_schema_field_by_field(tmp_path: Path) -> None:
    doc = create_app(_settings(tmp_path), create_engine("sqlite://")).openapi()
    operations, answers = success_answers(doc)
    problems = []
    json_answers = set()
    for method, path, status, media, schema in answers:
        key = (method, path, status)
        if media == "application/json":
            json_answers.add(key)
            problems += untyped(schema or {}, doc, f"{method.upper()} {path} {status}", set())
        elif key in FILES and media in FILES[key]:
            assert schema and schema.get("type") == "string", (key, media, schema)
        else:
            problems.append(f"{method.upper()} {path} {status}: undeclared {media}")
    assert problems == []
    for key, expected in FILES.items():
        declared = {media for m, p, s, media, _ in answers if (m, p, s) == key}
        assert declared == expected, key
    # Every operation answers success with a body (no 204 here), and as JSON but for the
    # four that answer only with a file (revocation list, QR code, report, refusal notice);
    # three answer a retry with 200 beside their 201.
    assert operations == 107
    assert len({(m, p) for m, p, _ in json_answers}) == 107 - 4
    assert len(json_answers) == 107 - 4 + 3
    # Retries that answer 200 with the first answer are declared beside their 201.
    assert {p for m, p, s in json_answers if s == "200" and (m, p, "201") in json_answers} == {
        "/v1/crossings",
        "/v1/port/crossings",
        "/v1/port/discards",
    }


def test_the_exchange_feed_declares_its_signed_batch(tmp_path: Path) -> None:
    app = create_exchange_app(_settings(tmp_path), create_engine("sqlite://"))
    doc = app.openapi()
    operations, answers = success_answers(doc)
    # the feed and the audit checkpoints the partner keeps for the caller (JSON lines)
    assert operations == 2
    ((method, path, status, media, schema),) = [a for a in answers if a[1] == "/v1/exchange/feed"]
    assert (method, path, status, media) == ("get", "/v1/exchange/feed", "200", "application/json")
    assert _resolve(schema, doc)["title"] == "FeedBatchOut"
    assert untyped(schema, doc, path, set()) == []


def test_the_walk_finds_what_is_not_described() -> None:
    """The checker itself: it must object to the shapes the answers had before."""
    doc: dict[str, Any] = {"components": {"schemas": {"Open": {"type": "object"}}}}
    assert untyped({}, doc, "x", set()) == ["x: any value"]
    assert untyped({"type": "object", "additionalProperties": True}, doc, "x", set())
    assert untyped(
        {"type": "array", "items": {"$ref": "#/components/schemas/Open"}}, doc, "x", set()
    )
    assert untyped(
        {"type": "object", "properties": {"a": {"type": "object", "additionalProperties": True}}},
        doc,
        "x",
        set(),
    ) == ["x.a: an object of anything"]
    assert (
        untyped({"type": "object", "additionalProperties": {"type": "integer"}}, doc, "x", set())
        == []
    )
