"""The chat routes described in OpenAPI 3.1, for ``/docs`` pages and API fuzzers.

The request schema is pydantic's schema of the two bodies the parser takes (``ChatRequest``
with ``messages``, ``LastMessageRequest`` with ``message``: one of them), so it cannot
drift from the parser, with the rules the parser checks in code written in where JSON Schema can say
them (``request_schemas``). The rest stay in code only (``__proto__`` keys, nesting depth,
index bounds, ``.`` and ``..`` as chat ids): a body the schema accepts may still get a
422, never the other way round.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final, cast

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from uiwire.protocol.chat_request import ChatRequest, LastMessageRequest
from uiwire.protocol.encode import UI_MESSAGE_STREAM_HEADERS
from uiwire.protocol.ui_message import (
    APPROVAL_ANSWERS,
    REQUIRED,
    STATE_DEPENDENT,
    STATE_FIELDS,
    not_null,
)
from uiwire.resume.store import CHAT_ID_PATTERN

__all__ = ["chat_openapi", "merge_openapi", "request_schemas"]

_REF: Final = "#/components/schemas/{model}"

_CHAT_ID: Final = f"^{CHAT_ID_PATTERN}$"
"""``check_chat_id`` as a JSON Schema pattern; ``.`` and ``..`` match it and are still
refused."""

_ERROR: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "fields"],
            "properties": {
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message", "type"],
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                            "type": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}

_EVENT: Final[dict[str, Any]] = {
    "description": (
        "One server-sent event: ``data`` is a UI message chunk as JSON, or ``[DONE]`` last. "
        "Comment lines (keep-alives) carry no event."
    ),
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
}

_REFUSALS: Final = {
    "401": "the app's ``identify`` hook knows no signed-in user",
    "403": "``authorize`` refused this caller",
    "404": (
        "the message to continue is not this chat's last answer waiting for an answer, an "
        "approval id was never asked, or the paused run is gone"
    ),
    "409": (
        "the chat changed since it was read (another tab or worker), or its answer is "
        "still being written: reload and retry"
    ),
    "408": "the body did not arrive within ``RequestLimits.body_timeout``",
    "413": "the body is over a limit: bytes, JSON values, messages or parts (``RequestLimits``)",
    "415": "the body is not ``application/json``",
    "422": "the body breaks a rule; ``fields`` names each bad field",
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="ChatError")}}},
    }


def _stream(description: str) -> dict[str, Any]:
    headers = {
        name: {"schema": {"type": "string", "const": value}}
        for name, value in UI_MESSAGE_STREAM_HEADERS.items()
        if name.startswith("x-")
    }
    return {
        "description": description,
        "headers": headers,
        "content": {"text/event-stream": {"schema": _EVENT}},
    }


def _chat_id_parameter() -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The chat id (``.`` and ``..`` are refused).",
        "schema": {"type": "string", "pattern": _CHAT_ID},
    }


class _WireSchema(GenerateJsonSchema):
    """pydantic's schema, closer to what the parser takes: a key that may be omitted but
    not ``null`` (zod's ``.optional()``) has no ``null`` in its schema."""

    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        inner = schema["schema"]
        if schema["function"].get("function") is not_null and inner["type"] == "nullable":
            return self.generate_inner(cast("core_schema.NullableSchema", inner)["schema"])
        return super().function_before_schema(schema)

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        generated = super().default_schema(schema)
        if generated.get("default", ...) is None:
            del generated["default"]  # "absent", not a null the parser would refuse
        return generated


_FILE_PARTS: Final = ("FileUIPart", "ReasoningFileUIPart", "SteeringFileUIPart")
_WIRE_NAMES: Final = {"error_text": "errorText"}


def _state_rules() -> list[dict[str, Any]]:
    """``STATE_FIELDS`` and ``APPROVAL_ANSWERS`` as ``if``/``then`` per tool state."""
    rules: list[dict[str, Any]] = []
    for state, fields in STATE_FIELDS.items():
        then: dict[str, Any] = {"properties": {}, "required": []}
        for name in STATE_DEPENDENT:
            wire = _WIRE_NAMES.get(name, name)
            rule = fields.get(name)
            if rule == REQUIRED:
                then["required"].append(wire)
            elif rule is None:
                then["properties"][wire] = False  # must be absent
        answers = APPROVAL_ANSWERS.get(state)
        if answers is not None and "approval" not in then["properties"]:
            approval: dict[str, Any]
            if answers:
                approval = {
                    "properties": {"approved": {"enum": sorted(answers)}},
                    "required": ["approved"],
                }
            else:
                approval = {"properties": {"approved": False, "reason": False}}
            then["properties"]["approval"] = approval
        if state == "input-streaming":
            then["properties"]["rawInput"] = {"type": "string"}
        rules.append(
            {"if": {"properties": {"state": {"const": state}}, "required": ["state"]}, "then": then}
        )
    return rules


def _any_case(scheme: str) -> str:
    return "".join(
        f"[{c.lower()}{c.upper()}]" if c.isalpha() else f"\\{c}" if c in "+." else c for c in scheme
    )


_BODIES: Final = {
    "DefaultChatRequest": (ChatRequest, "message", "The default body: the whole conversation."),
    "LastMessageChatRequest": (
        LastMessageRequest,
        "messages",
        "The last-message body (``prepareSendMessagesRequest``): only the new message.",
    ),
}
"""The two bodies ``ChatRequest`` is one of: schema name -> (model, the other form's key,
which it must not have, description)."""


def request_schemas(*, url_schemes: Collection[str], chat_ids: bool) -> dict[str, Any]:
    """``ChatRequest`` (one of the two bodies) and the schemas it refers to, by name, with
    the rules the parser checks in code written into them where JSON Schema can say
    them: every part names its ``type``; user and system messages have parts; file URLs
    use ``url_schemes``; the chat id follows ``check_chat_id`` when ``chat_ids``
    (resumable chats); a body has ``messages`` or ``message``, never both."""
    _, generated = models_json_schema(
        [(model, "validation") for model, _, _ in _BODIES.values()],
        by_alias=True,
        ref_template=_REF,
        schema_generator=_WireSchema,
    )
    schemas: dict[str, Any] = generated["$defs"]
    bodies: list[dict[str, Any]] = []
    for name, (model, other_key, description) in _BODIES.items():
        body = schemas.pop(model.__name__)
        body["title"], body["description"] = name, description
        body["properties"][other_key] = False  # both keys: refused
        if chat_ids:
            body["properties"]["id"]["pattern"] = _CHAT_ID
        schemas[name] = body
        bodies.append({"$ref": _REF.format(model=name)})
    schemas["ChatRequest"] = {
        "title": "ChatRequest",
        "description": "What ``useChat`` POSTs: the default body or the last-message body.",
        "oneOf": bodies,
    }
    for name, definition in schemas.items():
        properties: dict[str, Any] = definition.get("properties", {})
        if name.endswith("UIPart") and "type" in properties:
            properties["type"].pop("default", None)
            required: list[str] = definition.get("required", [])
            definition["required"] = ["type", *(field for field in required if field != "type")]
    for name in ("ToolUIPart", "DynamicToolUIPart"):
        schemas[name]["allOf"] = _state_rules()
    schemas["UICitationSource"]["allOf"] = [
        {
            "if": {"properties": {"sourceType": {"const": kind}}, "required": ["sourceType"]},
            "then": {"required": needed},
        }
        for kind, needed in (("url", ["url"]), ("document", ["mediaType", "title"]))
    ]
    schemas["UIMessage"]["if"] = {"properties": {"role": {"enum": ["user", "system"]}}}
    schemas["UIMessage"]["then"] = {"properties": {"parts": {"minItems": 1}}}
    alternatives = "|".join(_any_case(scheme) for scheme in sorted(url_schemes))
    for name in _FILE_PARTS:
        url = schemas[name]["properties"]["url"]
        url["pattern"] = f"^({alternatives}):" if alternatives else "(?!)"
    return schemas


def chat_openapi(
    path: str,
    *,
    url_schemes: Collection[str],
    chat_ids: bool,
    history: str | None,
    json_stop: bool,
) -> dict[str, Any]:
    """``{"paths": ..., "components": {"schemas": ...}}`` for the chat routes, and the
    history routes at ``history`` (None: the endpoint keeps no conversations);
    ``json_stop``: the stop route takes a JSON object (it does with an identity)."""
    schemas = request_schemas(url_schemes=url_schemes, chat_ids=chat_ids)
    schemas["ChatError"] = _ERROR
    unavailable = _error(
        "the stream store or the chat store is unavailable; retry after ``retry-after``"
    )
    unavailable["headers"] = {"retry-after": {"schema": {"type": "string"}}}
    not_found = _error("no such chat of the caller's (another owner's is the same)")
    post = {
        "summary": "Answer a useChat request",
        "description": (
            "What ``DefaultChatTransport`` POSTs; answers with a UI message stream. Errors "
            "during the answer arrive inside the stream (an ``error`` chunk, then "
            "``[DONE]``), not as an HTTP status."
        ),
        "operationId": "chat",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="ChatRequest")}}},
        },
        "responses": {
            "200": _stream("The answer, as a UI message stream"),
            **{status: _error(text) for status, text in _REFUSALS.items()},
            "503": unavailable,
        },
    }
    resume = {
        "summary": "Resume the chat's active answer",
        "description": "Replays the answer being generated from its first byte, then follows it.",
        "operationId": "resumeChat",
        "parameters": [_chat_id_parameter()],
        "responses": {
            "200": _stream("The active answer, replayed then followed"),
            "204": {"description": "Nothing is being generated for this chat"},
            "401": _error(_REFUSALS["401"]),
            "403": _error(_REFUSALS["403"]),
            "404": not_found,
            "422": _error("the chat id breaks its rules"),
            "503": unavailable,
        },
    }
    stop: dict[str, Any] = {
        "summary": "Stop the chat's active answer",
        "description": "Cancels the answer on whichever worker runs it; it ends with ``abort``.",
        "operationId": "stopChat",
        "parameters": [_chat_id_parameter()],
        "responses": {
            "202": {
                "description": (
                    "The stop is on its way to the running answer (recorded, so it arrives "
                    "even if a notification is lost)"
                )
            },
            "204": {"description": "Nothing is being generated for this chat any more"},
            "401": _error(_REFUSALS["401"]),
            "403": _error(_REFUSALS["403"]),
            "404": not_found,
            "415": _error(_REFUSALS["415"]),
            "422": _error("the chat id breaks its rules"),
            "503": unavailable,
        },
    }
    if json_stop:
        stop["requestBody"] = {
            "required": True,
            "description": "A JSON object (``{}``): a page on another site cannot send one",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
        stop["responses"]["408"] = _error(_REFUSALS["408"])
        stop["responses"]["413"] = _error("the body is over 1 KiB")
    paths: dict[str, Any] = {
        path: {"post": post},
        f"{path}/{{id}}/stream": {"get": resume},
        f"{path}/{{id}}/stop": {"post": stop},
        f"{path}/{{id}}/steer": {"post": _steer_operation(unavailable, not_found)},
    }
    if history is not None:
        schemas.update(_HISTORY_SCHEMAS)
        paths.update(_history_paths(history, unavailable, not_found))
    return {"paths": paths, "components": {"schemas": schemas}}


def _steer_operation(unavailable: dict[str, Any], not_found: dict[str, Any]) -> dict[str, Any]:
    """``POST {path}/{id}/steer``: its body is a user message's id and parts."""
    parts = [_REF.format(model=name) for name in ("SteeringTextUIPart", "SteeringFileUIPart")]
    body = {
        "type": "object",
        "required": ["parts"],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 128},
            "parts": {
                "type": "array",
                "minItems": 1,
                "items": {"oneOf": [{"$ref": ref} for ref in parts]},
            },
        },
    }
    return {
        "summary": "Steer the chat's running answer (AI SDK 7)",
        "description": (
            "A user message for the answer being written: its next model call gets it, "
            "and the answer shows it there as a ``steering-message`` part with its id."
        ),
        "operationId": "steerChat",
        "parameters": [_chat_id_parameter()],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "202": {
                "description": "On its way to the running answer",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["id"],
                            "properties": {"id": {"type": "string"}},
                        }
                    }
                },
            },
            **{status: _error(text) for status, text in _REFUSALS.items()},
            "404": not_found,
            "409": _error(
                "no answer is running, the target is not v7, or the agent takes no steering"
            ),
            "429": _error("16 steering messages already wait for the answer's next step"),
            "503": unavailable,
        },
    }


_SUMMARY_PROPERTIES: Final[dict[str, Any]] = {
    "id": {"type": "string"},
    "title": {"type": "string"},
    "createdAt": {"type": "string", "format": "date-time"},
    "updatedAt": {"type": "string", "format": "date-time"},
}

_HISTORY_SCHEMAS: Final[dict[str, Any]] = {
    "ChatSummary": {
        "type": "object",
        "required": list(_SUMMARY_PROPERTIES),
        "properties": _SUMMARY_PROPERTIES,
    },
    "ChatList": {
        "type": "object",
        "required": ["chats", "nextCursor"],
        "properties": {
            "chats": {"type": "array", "items": {"$ref": _REF.format(model="ChatSummary")}},
            "nextCursor": {
                "description": "``before`` for the next page; null on the last page",
                "anyOf": [{"type": "string"}, {"type": "null"}],
            },
        },
    },
    "StoredChat": {
        "type": "object",
        "required": [*_SUMMARY_PROPERTIES, "messages", "resumable", "interrupted"],
        "properties": {
            **_SUMMARY_PROPERTIES,
            "messages": {"type": "array", "items": {"$ref": _REF.format(model="UIMessage")}},
            "resumable": {
                "type": "boolean",
                "description": "an answer is being written: mount useChat with resume",
            },
            "interrupted": {
                "type": "array",
                "items": {"type": "string"},
                "description": "answers cut off before they were saved (their worker died)",
            },
        },
    },
}


def _history_paths(
    history: str, unavailable: dict[str, Any], not_found: dict[str, Any]
) -> dict[str, Any]:
    refusals = {"401": _error(_REFUSALS["401"]), "403": _error(_REFUSALS["403"])}
    listing = {
        "summary": "The caller's chats",
        "description": "Most recently updated first, ``limit`` at a time.",
        "operationId": "listChats",
        "parameters": [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
            },
            {
                "name": "before",
                "in": "query",
                "required": False,
                "description": "The previous page's ``nextCursor``",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {
                "description": "A page of chats",
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model="ChatList")}}
                },
            },
            **refusals,
            "422": _error("``limit`` or ``before`` breaks its rules"),
            "503": unavailable,
        },
    }
    one = {
        "summary": "One of the caller's chats, with its messages",
        "operationId": "getChat",
        "parameters": [_chat_id_parameter()],
        "responses": {
            "200": {
                "description": "The chat, ready for ``useChat({ id, messages, resume })``",
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model="StoredChat")}}
                },
            },
            **refusals,
            "404": not_found,
            "503": unavailable,
        },
    }
    delete = {
        "summary": "Delete one of the caller's chats",
        "description": "Stops its running answer, then deletes the chat and its messages.",
        "operationId": "deleteChat",
        "parameters": [_chat_id_parameter()],
        "responses": {
            "204": {"description": "Deleted"},
            **refusals,
            "404": not_found,
            "503": unavailable,
        },
    }
    return {history: {"get": listing}, f"{history}/{{id}}": {"get": one, "delete": delete}}


def merge_openapi(document: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """Add ``fragment``'s paths and schemas to ``document`` (in place); return it.

    A name already in ``document`` is an error rather than silently replaced.
    """
    paths: dict[str, Any] = document.setdefault("paths", {})
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    merges = (
        ("path", paths, fragment["paths"]),
        ("schema", schemas, fragment["components"]["schemas"]),
    )
    for kind, target, new in merges:  # all checked first: a refusal changes nothing
        taken = sorted(set(target) & set(new))
        if taken:
            raise ValueError(f"the OpenAPI document already has the {kind} {taken[0]!r}")
    for _, target, new in merges:
        target.update(new)
    return document
