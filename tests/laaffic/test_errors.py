"""Every platform status code becomes a sentence a team lead can act on (platform-api.md §2)."""

from __future__ import annotations

import pytest

from bot.laaffic.errors import (
    ACTIONS,
    PlatformAuthError,
    PlatformClockError,
    PlatformError,
    PlatformOutcomeUnknown,
    PlatformUnavailable,
    endpoint_key,
    error_for,
    explain,
)

# §2.1 (global table) and §2.2 (call-center codes), each with an endpoint it is documented on
# (or, for the SMS-era global codes, any endpoint).
DOCUMENTED: dict[str, str] = {
    **{str(-n): "/v3/cc/seatGroup/addGroup" for n in range(1, 33)},
    "-34": "/v3/cc/seat/updateSeat",
    "-36": "/v3/cc/seat/addSeatList",
    "-38": "/v3/cc/preview/upload",
    "-39": "/v3/cc/preview/upload",
    "-40": "/v3/cc/preview/upload",
    "-41": "/v3/cc/preview/resendTask",
    "-42": "/v3/cc/preview/resendTask",
    "-43": "/v3/cc/preview/submitTask",
    "-63": "/v3/cc/seatGroup/deleteGroup",
    "-64": "/v3/cc/seatGroup/deleteGroup",
    "-65": "/v3/cc/seat/updateSeat",
    "-66": "/v3/cc/seat/updateSeat",
    "-67": "/v3/cc/seat/batchingSeat",
    "-68": "/v3/cc/seat/batchingSeat",
    "-69": "/v3/cc/seatGroup/deleteGroup",
    "-70": "/v3/cc/seatGroup/deleteGroup",
    "-74": "/v3/cc/preview/submitTask",
    "-75": "/v3/cc/seatGroup/addGroup",
    "-77": "/v3/cc/preview/submitTask",
}

UNKNOWN_MARK = "which the bot does not know"


@pytest.mark.parametrize(("code", "endpoint"), sorted(DOCUMENTED.items()))
def test_every_documented_code_has_its_own_sentence(code: str, endpoint: str) -> None:
    sentence = explain(code, endpoint, "some reason")
    assert UNKNOWN_MARK not in sentence
    assert sentence.startswith(f"Could not {ACTIONS[endpoint_key(endpoint)]}: ")
    assert sentence.endswith(".")
    assert "some reason" not in sentence  # the platform's words go in str(err), not the sentence


def test_documented_codes_do_not_share_sentences() -> None:
    sentences = {code: explain(code, "/v3/cc/seat/query") for code in DOCUMENTED}
    assert len(set(sentences.values())) == len(sentences)


@pytest.mark.parametrize(
    ("code", "endpoint", "words"),
    [
        (
            "-1",
            "/v3/cc/seatGroup/query",
            ["authentication failed", "API_KEY", "API_SECRET", "APP_ID"],
        ),
        ("-2", "/v3/cc/seatGroup/query", ["IP address", "whitelist", "console"]),
        ("-31", "/v3/cc/seatGroup/query", ["IP address", "whitelist", "console"]),
        ("-16", "/v3/cc/seatGroup/query", ["clock"]),
        ("-18", "/v3/cc/seatGroup/addGroup", ["not valid JSON", "bug"]),
        ("-36", "/v3/cc/seat/addSeatList", ["agent quota is used up"]),
        ("-40", "/v3/cc/preview/upload", ["100,000", "Split"]),
        ("-10", "/v3/cc/preview/submitTask", ["balance", "Top up"]),
        ("-20", "/v3/cc/seatGroup/addGroup", ["group with this name already exists"]),
        ("-64", "/v3/cc/seatGroup/deleteGroup", ["still has agents"]),
        ("-64", "/v3/cc/seat/updateSeat", ["letters and digits"]),
        ("-36", "/v3/cc/preview/agent/editTask", ["call-out rate"]),
        ("-63", "/v3/cc/seatGroup/addGroup", ["WorkSpace", "LAAFFIC_APP_ID"]),
        ("-74", "/v3/cc/preview/submitTask", ["does not belong", "LAAFFIC_APP_ID"]),
    ],
)
def test_key_sentences_say_what_to_do(code: str, endpoint: str, words: list[str]) -> None:
    sentence = explain(code, endpoint)
    for word in words:
        assert word in sentence, sentence


@pytest.mark.parametrize(
    ("code", "first", "second"),
    [
        ("-63", "/v3/cc/seatGroup/addGroup", "/v3/cc/seatGroup/deleteGroup"),
        ("-63", "/v3/cc/seatGroup/addGroup", "/v3/cc/seatGroup/updateGroup"),
        ("-64", "/v3/cc/seatGroup/deleteGroup", "/v3/cc/seat/updateSeat"),
        ("-36", "/v3/cc/seat/addSeatList", "/v3/cc/preview/agent/editTask"),
        ("-20", "/v3/cc/seatGroup/addGroup", "/v3/cc/preview/upload"),
        ("-23", "/v3/cc/seatGroup/addGroup", "/v3/cc/seat/addSeatList"),
    ],
)
def test_endpoint_dependent_codes_differ(code: str, first: str, second: str) -> None:
    one, other = explain(code, first), explain(code, second)
    assert one.split(": ", 1)[1] != other.split(": ", 1)[1]


@pytest.mark.parametrize(
    "endpoint",
    [
        "/v3/cc/seatGroup/addGroup",
        "seatGroup/addGroup",
        "addGroup",
        "https://api.laaffic.com/v3/cc/seatGroup/addGroup?x=1",
    ],
)
def test_endpoint_may_be_named_in_several_ways(endpoint: str) -> None:
    assert endpoint_key(endpoint) == "seatGroup/addGroup"
    assert explain("-20", endpoint) == explain("-20", "/v3/cc/seatGroup/addGroup")


def test_ambiguous_last_segment_is_not_guessed() -> None:
    assert endpoint_key("query") == "query"
    assert "complete the request (query)" in explain("-22", "query")


def test_codes_may_be_numbers() -> None:
    assert explain(-16, "/v3/getBalance") == explain("-16", "/v3/getBalance")


def test_unknown_code_gets_a_generic_sentence_with_the_code() -> None:
    sentence = explain("-999", "/v3/cc/preview/submitTask", "odd")
    assert UNKNOWN_MARK in sentence
    assert "-999" in sentence and "create the calling task" in sentence and "support" in sentence


def test_str_keeps_the_code_and_reason_for_support() -> None:
    err = error_for("-36", "exceeds the number that can be created", "/v3/cc/seat/addSeatList")
    assert err.code == "-36"
    assert err.reason == "exceeds the number that can be created"
    assert err.endpoint == "/v3/cc/seat/addSeatList"
    assert err.message == explain("-36", "/v3/cc/seat/addSeatList")
    assert str(err) == (
        f"{err.message} (platform code -36: exceeds the number that can be created)"
    )


@pytest.mark.parametrize("code", ["-1", "-2", "-13", "-29", "-30", "-31", "-32"])
def test_setup_problems_are_auth_errors(code: str) -> None:
    assert isinstance(error_for(code, "r", "/v3/getBalance"), PlatformAuthError)


def test_clock_and_plain_errors() -> None:
    assert isinstance(error_for(-16, "timestamp expires", "/v3/getBalance"), PlatformClockError)
    plain = error_for("-22", "bad", "/v3/getBalance")
    assert type(plain) is PlatformError


def test_unavailable_sentences_say_whether_it_may_have_happened() -> None:
    read = PlatformUnavailable(
        "/v3/cc/seatGroup/query", "no answer in time", may_have_taken_effect=False
    )
    maybe = PlatformUnavailable(
        "/v3/cc/seatGroup/deleteGroup",
        "no answer in time",
        may_have_taken_effect=True,
        is_write=True,
    )
    never = PlatformUnavailable(
        "/v3/cc/seatGroup/deleteGroup",
        "connection failed",
        may_have_taken_effect=False,
        is_write=True,
    )
    assert "Could not reach the Laaffic platform to list the agent groups" in read.message
    assert "may or may not have taken effect" in maybe.message and "check" in maybe.message
    assert "nothing changed" in never.message
    assert str(maybe).endswith("(no answer in time)")
    assert isinstance(maybe, PlatformError) and maybe.may_have_taken_effect


def test_outcome_unknown_tells_where_to_look() -> None:
    err = PlatformOutcomeUnknown("/v3/cc/preview/submitTask", "timeout", where="the task list")
    assert "create the calling task" in err.message
    assert "Check the task list in the Laaffic console before trying again" in err.message
