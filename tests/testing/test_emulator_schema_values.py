"""The schema-aware value generator: every value validates, prompt values are preferred."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from polyvox.testing import generate_value
from polyvox.testing.emulator.prompt_hints import Hints
from polyvox.testing.emulator.regex_sample import sample_regex

DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT7 = "http://json-schema.org/draft-07/schema#"
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}

CORPUS: list[dict[str, Any]] = [
    {"type": "string"},
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "null"},
    {},
    {"const": "fixed"},
    {"enum": ["red", "green", "blue"]},
    {"enum": [3, 5, 8]},
    {"type": ["string", "null"]},
    {"type": "integer", "minimum": 10, "maximum": 20},
    {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 3},
    {"$schema": DRAFT4, "type": "integer", "minimum": 5, "exclusiveMinimum": True, "maximum": 7},
    {"type": "integer", "minimum": 7, "multipleOf": 5},
    {"type": "integer", "maximum": -50},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": "number", "minimum": 2.5, "maximum": 2.75},
    {"type": "number", "multipleOf": 0.25, "minimum": 0.3},
    {"type": "string", "minLength": 500},
    {"type": "string", "maxLength": 3},
    {"type": "string", "minLength": 2, "maxLength": 2},
    {"type": "string", "pattern": "^[A-Z]{3}$"},
    {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
    {"type": "string", "pattern": "^(red|green)-[0-9]+$"},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "email"},
    {"type": "string", "format": "uuid"},
    {"type": "string", "format": "uri"},
    {"type": "array", "items": {"type": "string"}},
    {"type": "array", "items": {"type": "integer"}, "minItems": 4, "uniqueItems": True},
    {"type": "array", "items": {"type": "string"}, "minItems": 3, "uniqueItems": True},
    {"type": "array", "items": {"type": "integer"}, "maxItems": 0},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 2},
    {"$schema": DRAFT7, "type": "array", "items": [{"type": "boolean"}, {"type": "null"}]},
    PERSON,
    {"type": "object", "properties": {"p": PERSON}, "required": ["p"]},
    {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 2},
    {"type": "object", "required": ["x"], "additionalProperties": False, "properties": {}}
    | {"properties": {"x": {"type": "number"}}},
    {"type": "object", "properties": {}, "additionalProperties": False},
    {"anyOf": [{"type": "string"}, {"type": "null"}]},
    {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 3}]},
    {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "string", "minLength": 3}]},
    {"allOf": [PERSON, {"properties": {"email": {"type": "string", "format": "email"}}}]},
    {
        "$defs": {"Pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}}}},
        "type": "object",
        "properties": {"pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}, "minItems": 2}},
        "required": ["pets"],
    },
    {
        "definitions": {"Id": {"type": "integer", "minimum": 1}},
        "type": "object",
        "properties": {"id": {"$ref": "#/definitions/Id", "description": "the id"}},
        "required": ["id"],
    },
    {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
                },
                "required": ["value", "children", "next"],
            }
        },
        "$ref": "#/$defs/Node",
    },
    {
        "type": "object",
        "properties": {"level": {"type": "object", "nullable": True, "properties": {}}},
        "required": ["level"],
    },
    {
        "title": "Joke",
        "type": "object",
        "properties": {
            "setup": {"type": "string", "description": "question to set up a joke"},
            "punchline": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        "required": ["setup"],
    },
    {
        "type": "object",
        "properties": {
            "numerator": {"type": "number"},
            "denominator": {"type": "number"},
            "on_inf": {"default": "infinity", "enum": ["error", "infinity"], "type": "string"},
        },
        "required": ["numerator", "denominator"],
        "additionalProperties": False,
    },
]


@pytest.mark.parametrize("schema", CORPUS, ids=lambda s: str(s)[:60])
@pytest.mark.parametrize("prompt", ["", "What is 3 + 5? Call it 'ACME', use the tool."])
def test_generated_values_validate(schema: dict[str, Any], prompt: str) -> None:
    value = generate_value(schema, prompt)
    jsonschema.validate(value, schema)
    assert generate_value(schema, prompt) == value  # deterministic


def test_numbers_from_the_prompt_fill_parameters_in_order() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    assert generate_value(schema, "what is 3 + 5, use the tool") == {"a": 3, "b": 5}


def test_prompt_numbers_that_break_constraints_are_skipped() -> None:
    schema = {"type": "integer", "exclusiveMinimum": -1000, "exclusiveMaximum": 1000}
    assert generate_value(schema, "take 4000 or 3") == 3


def test_numeric_arrays_collect_every_prompt_number() -> None:
    schema = {"type": "array", "items": {"type": "number"}}
    assert generate_value(schema, "sum 1, 2.5 and 3") == [1, 2.5, 3]


def test_quoted_strings_and_mentioned_enums_are_preferred() -> None:
    schema = {
        "type": "object",
        "properties": {
            "customer_name": {"type": "string"},
            "tier": {"enum": ["basic", "gold"]},
            "city": {"type": "string"},
        },
        "required": ["customer_name", "tier", "city"],
    }
    text = "Create a customer named '你好啊集团' in \u201cLyon\u201d on the gold plan"
    value = generate_value(schema, text)
    assert value == {"customer_name": "你好啊集团", "tier": "gold", "city": "Lyon"}


def test_unquoted_strings_fall_back_to_the_prompt() -> None:
    assert generate_value({"type": "string"}, "  a Pirate greeting ") == "a Pirate greeting"
    assert generate_value({"type": "string"}, "") == "example"


def test_apostrophes_are_not_quotes() -> None:
    assert Hints("It's a house and it's big").take_string(lambda s: True) is None


def test_boolean_schema_and_false() -> None:
    assert generate_value(True, "x") == "x"
    assert generate_value(False) is None


@pytest.mark.parametrize(
    "pattern", [r"^[a-z]+$", r"\d{3}-\d{4}", r"^(?:ab|cd)+x?$", r"[^abc]", r"^\w+@\w+\.org$"]
)
def test_regex_samples_match(pattern: str) -> None:
    sample = sample_regex(pattern)
    assert sample is not None
    jsonschema.validate(sample, {"type": "string", "pattern": pattern})


def test_unparseable_regex_gives_none() -> None:
    assert sample_regex("(unclosed") is None
