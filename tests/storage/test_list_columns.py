"""Lists kept as JSON text in a column, read back (storage.models.json_strings)."""

from storage.models import json_strings


def test_a_stored_list_reads_back_as_strings_with_or_without_its_empty_entries() -> None:
    assert json_strings('["1001", 1002, ""]') == ["1001", "1002", ""]
    assert json_strings('["1001", 1002, ""]', skip_empty=True) == ["1001", "1002"]


def test_a_value_that_is_not_a_json_list_reads_as_no_entries() -> None:
    assert json_strings(None) == json_strings("") == []
    assert json_strings("not json") == json_strings('{"sip": "1001"}') == json_strings("7") == []
