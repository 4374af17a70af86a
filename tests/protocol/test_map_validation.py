"""Map constraints in Coral's wording: bad keys (values) reported once, at the map's path.

AWS words a Lambda environment variable named "A" (its key pattern needs two characters)
"Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy
constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]".
"""

from __future__ import annotations

from cloudlet.protocol import validate
from cloudlet.protocol.registry import get_protocol
from cloudlet.protocol.styles import style_for

_ENV_KEYS = (
    "Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: "
    "[Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"
)


def _lambda_error(operation: str, params: dict[str, object]) -> tuple[str, str]:
    shape = get_protocol("lambda").model.operation_model(operation).input_shape
    failures = validate.check(shape, params, style_for("lambda"))
    err = validate.to_error(style_for("lambda"), failures)
    return err.code, err.message


def _create(**extra: object) -> dict[str, object]:
    params: dict[str, object] = {
        "FunctionName": "f", "Role": "arn:aws:iam::123456789012:role/r", "Code": {"ZipFile": b"zip"},
    }
    params.update(extra)
    return params


def test_bad_environment_keys_are_reported_once_at_the_map_without_values() -> None:
    env = {"Environment": {"Variables": {"A": "secret-1", "B": "secret-2", "GOOD_ONE": "x"}}}
    code, message = _lambda_error("CreateFunction", _create(**env))
    assert code == "ValidationException"
    assert message == "1 validation error detected: " + _ENV_KEYS
    assert "secret" not in message  # the map is sensitive: its entries stay out of the message


def test_good_environment_keys_pass() -> None:
    shape = get_protocol("lambda").model.operation_model("CreateFunction").input_shape
    assert validate.check(shape, _create(Environment={"Variables": {"AB": "x", "c_1": ""}})) == []


def test_bad_tag_values_list_every_constraint_of_the_value_and_show_the_map() -> None:
    shape = get_protocol("logs").model.operation_model("CreateLogGroup").input_shape
    params = {"logGroupName": "g", "tags": {"k": "v" * 300, "j": "w" * 300, "ok": "fine"}}
    err = validate.to_error(style_for("logs"), validate.check(shape, params, style_for("logs")))
    assert err.code == "InvalidParameterException"
    assert err.message == (
        "1 validation error detected: Value '{k=" + "v" * 300 + ", j=" + "w" * 300 + ", ok=fine}' at 'tags' "
        "failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than "
        "or equal to 256, Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$]"
    )


def test_bad_keys_and_values_give_two_failures() -> None:
    shape = get_protocol("logs").model.operation_model("CreateLogGroup").input_shape
    failures = validate.check(shape, {"logGroupName": "g", "tags": {"k" * 200: "v" * 300}}, style_for("logs"))
    assert [f.constraint.split(":")[0] for f in failures] == ["Map keys must satisfy constraint", "Map value must satisfy constraint"]
    assert {".".join(f.path) for f in failures} == {"tags"}


def test_list_of_scalars_reported_once_for_the_whole_list() -> None:
    """Coral words a bad item of a list of enum strings at the list, with the item's constraints
    (AWS's recorded CreateFunction answer for Architectures=["X86_64"])."""
    from cloudlet.protocol.registry import get_protocol
    from cloudlet.protocol.styles import style_for
    from cloudlet.protocol.validate import check, to_error

    proto = get_protocol("lambda")
    shape = proto.model.operation_model("CreateFunction").input_shape
    params = {"FunctionName": "f", "Role": "arn:aws:iam::123456789012:role/r", "Code": {},
              "Architectures": ["X86_64"]}
    err = to_error(style_for("lambda"), check(shape, params, style_for("lambda")))
    assert err.message == (
        "1 validation error detected: Value '[X86_64]' at 'architectures' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], "
        "Member must not be null]")
