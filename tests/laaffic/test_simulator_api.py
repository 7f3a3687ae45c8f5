"""The simulator's request checks and answers, over real HTTP, as the platform docs describe them."""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import httpx
import pytest
import xlsxwriter
import xlwt

from bot.laaffic import limits
from tests.fakes.simulator import RunningSimulator, SignedClient, signed_headers

APP = "HsiT9A6d"
OTHER_APP = "Xq7Lm2Pa"


@pytest.fixture
def platform(simulator: RunningSimulator) -> Iterator[SignedClient]:
    client = SignedClient(simulator)
    yield client
    client.close()


def add_group(platform: SignedClient, name: str, app_id: str = APP) -> int:
    platform.data("/v3/cc/seatGroup/addGroup", {"appId": app_id, "groupName": name})
    records = platform.data(
        "/v3/cc/seatGroup/query", {"current": 1, "size": 100, "params": {"groupName": name}}
    )["records"]
    return next(r["voiceGroupId"] for r in records if r["groupName"] == name)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def csv_bytes(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def upload(platform: SignedClient, data: bytes, file_name: str) -> dict:
    return platform.post("/v3/cc/preview/upload", {"fileName": file_name, "file": b64(data)})


# --- authentication, clock, body ---------------------------------------------------------------------


def test_a_correct_signature_is_accepted_in_any_case(platform: SignedClient) -> None:
    headers = platform.running.headers()
    headers["Sign"] = headers["Sign"].upper()
    answer = platform.http.get("/v3/getBalance", headers=headers).json()
    assert answer == {
        "status": "0",
        "reason": "success",
        "balance": "100.0000",
        "gift": "0.0000",
        "credit": "0.0000",
    }


@pytest.mark.parametrize(
    "change",
    [
        {"Sign": "0" * 32},
        {"Api-Key": "someoneElse"},
        {"Sign": ""},
    ],
)
def test_bad_credentials_answer_minus_1_with_http_200(platform: SignedClient, change: dict) -> None:
    headers = {**platform.running.headers(), **change}
    response = platform.http.post(
        "/v3/cc/seatGroup/addGroup", json={"appId": APP, "groupName": "nobody"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["status"] == "-1"
    assert (
        platform.data("/v3/cc/seatGroup/query", {"current": 1, "size": 10, "params": {}})["total"]
        == 0
    )


def test_a_signature_made_with_the_wrong_secret_is_minus_1(platform: SignedClient) -> None:
    headers = signed_headers(platform.running.config.api_key, "wrongSecret")
    assert platform.http.get("/v3/getBalance", headers=headers).json()["status"] == "-1"


def test_a_stale_timestamp_is_minus_16_and_every_answer_carries_the_platform_clock(
    platform: SignedClient, simulator: RunningSimulator
) -> None:
    stale = platform.http.get("/v3/getBalance", headers=simulator.headers(int(time.time()) - 301))
    assert stale.json()["status"] == "-16"
    assert abs(parsedate_to_datetime(stale.headers["Date"]).timestamp() - time.time()) < 5

    simulator.call(setattr, simulator.simulator, "clock_offset_s", 3600.0)
    skewed = platform.http.get("/v3/getBalance", headers=simulator.headers())
    assert skewed.json()["status"] == "-16"
    platform_time = parsedate_to_datetime(skewed.headers["Date"]).timestamp()
    assert abs(platform_time - (time.time() + 3600)) < 5
    # A client that corrects its clock from Date gets through.
    fixed = platform.http.get("/v3/getBalance", headers=simulator.headers(int(platform_time)))
    assert fixed.json()["status"] == "0"


def test_a_timestamp_in_milliseconds_is_minus_16(
    platform: SignedClient, simulator: RunningSimulator
) -> None:
    answer = platform.http.get("/v3/getBalance", headers=simulator.headers(int(time.time() * 1000)))
    assert answer.json()["status"] == "-16"


def test_a_body_that_is_not_json_is_minus_18(
    platform: SignedClient, simulator: RunningSimulator
) -> None:
    response = platform.http.post(
        "/v3/cc/seatGroup/addGroup", content=b"groupName=abc", headers=simulator.headers()
    )
    assert response.status_code == 200
    assert response.json()["status"] == "-18"
    assert platform.post("/v3/cc/seatGroup/addGroup", [1, 2])["status"] == "-22"


# --- agent groups ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, status", [("abc", "-22"), ("abcd", "0"), ("x" * 32, "0"), ("x" * 33, "-22"), ("", "-22")]
)
def test_group_names_must_be_4_to_32_characters(
    platform: SignedClient, name: str, status: str
) -> None:
    answer = platform.post("/v3/cc/seatGroup/addGroup", {"appId": APP, "groupName": name})
    assert answer["status"] == status, answer
    if status != "0":
        assert "groupName" in answer["reason"]


def test_group_names_are_unique_within_an_application(platform: SignedClient) -> None:
    assert (
        platform.post("/v3/cc/seatGroup/addGroup", {"appId": APP, "groupName": "Sales A"})["data"]
        is None
    )
    assert (
        platform.post("/v3/cc/seatGroup/addGroup", {"appId": APP, "groupName": "Sales A"})["status"]
        == "-20"
    )
    assert (
        platform.post("/v3/cc/seatGroup/addGroup", {"appId": OTHER_APP, "groupName": "Sales A"})[
            "status"
        ]
        == "0"
    )
    second = add_group(platform, "Sales B")
    answer = platform.post(
        "/v3/cc/seatGroup/updateGroup", {"voiceGroupId": second, "groupName": "Sales A"}
    )
    assert answer["status"] == "-20"
    assert (
        platform.post(
            "/v3/cc/seatGroup/updateGroup", {"voiceGroupId": second, "groupName": "Sales C"}
        )["status"]
        == "0"
    )
    assert (
        platform.post(
            "/v3/cc/seatGroup/updateGroup", {"voiceGroupId": 999, "groupName": "Sales D"}
        )["status"]
        == "-24"
    )


def test_an_unknown_application_is_minus_32(platform: SignedClient) -> None:
    assert (
        platform.post("/v3/cc/seatGroup/addGroup", {"appId": "nope1234", "groupName": "abcd"})[
            "status"
        ]
        == "-32"
    )


def test_group_query_pages(platform: SignedClient) -> None:
    ids = [add_group(platform, f"group {i:02d}") for i in range(5)]
    assert ids == list(range(1000001, 1000006))
    page = platform.data("/v3/cc/seatGroup/query", {"current": 2, "size": 2, "params": {}})
    assert (page["total"], page["size"], page["current"], page["pages"]) == (5, 2, 2, 3)
    assert len(page["records"]) == 2
    assert set(page["records"][0]) == {
        "voiceGroupId",
        "callinStrategy",
        "countSeat",
        "groupName",
        "appName",
    }
    for size in (0, 101):
        assert (
            platform.post("/v3/cc/seatGroup/query", {"current": 1, "size": size, "params": {}})[
                "status"
            ]
            == "-22"
        )
    assert platform.post("/v3/cc/seatGroup/query", {"size": 10, "params": {}})["status"] == "-22"


def test_a_group_with_agents_cannot_be_deleted(platform: SignedClient) -> None:
    group = add_group(platform, "to delete")
    agents = platform.data("/v3/cc/seat/addSeatList", {"voiceGroupId": group, "size": 2})
    answer = platform.get("/v3/cc/seatGroup/deleteGroup", voiceGroupId=group)
    assert answer["status"] == "-64" and "agents exist" in answer["reason"]
    platform.data("/v3/cc/seat/batchingSeat", {"type": 2, "idList": [a["keyId"] for a in agents]})
    assert platform.get("/v3/cc/seatGroup/deleteGroup", voiceGroupId=group)["status"] == "0"
    assert platform.get("/v3/cc/seatGroup/deleteGroup", voiceGroupId=group)["status"] == "-24"
    assert platform.get("/v3/cc/seatGroup/deleteGroup")["status"] == "-22"


def test_group_settings_read_back_what_was_written(platform: SignedClient) -> None:
    group = add_group(platform, "settings")
    settings = platform.get("/v3/cc/seatGroup/basicSettingResp", voiceGroupId=group)["data"]
    assert settings["seatGroupId"] == settings["voiceGroupId"] == group
    change = {
        "voiceGroupId": group,
        "callinStrategy": 1,
        "wrapUpTime": 20,
        "timeoutIdle": "",
        "labelName": ["Intended", "Callback"],
        "displaySwitch": 0,
        "encryptNumber": 1,
        "fsNode": "USA_FS",
    }
    assert platform.data("/v3/cc/seatGroup/basicSetting", change) is None
    settings = platform.get("/v3/cc/seatGroup/basicSettingResp", voiceGroupId=group)["data"]
    assert (settings["callinStrategy"], settings["wrapUpTime"], settings["timeoutIdle"]) == (
        1,
        20,
        None,
    )
    assert settings["labelName"] == ["Intended", "Callback"] and settings["fsNode"] == "USA_FS"
    # An empty value clears; displaySwitch and encryptNumber are required.
    platform.data("/v3/cc/seatGroup/basicSetting", {**change, "wrapUpTime": ""})
    assert (
        platform.get("/v3/cc/seatGroup/basicSettingResp", voiceGroupId=group)["data"]["wrapUpTime"]
        is None
    )
    missing = {k: v for k, v in change.items() if k != "encryptNumber"}
    assert platform.post("/v3/cc/seatGroup/basicSetting", missing)["status"] == "-22"
    for bad in (
        {"callinStrategy": 5},
        {"labelName": ["x"] * 2},
        {"labelName": ["y" * 21]},
        {"fsNode": "EU_FS"},
    ):
        assert (
            platform.post("/v3/cc/seatGroup/basicSetting", {**change, **bad})["status"] == "-22"
        ), bad


# --- agents ------------------------------------------------------------------------------------------


def test_agents_are_created_in_batches_with_the_documented_fields(platform: SignedClient) -> None:
    group = add_group(platform, "agents")
    created = platform.data(
        "/v3/cc/seat/addSeatList",
        {"voiceGroupId": group, "size": 3, "displayNum": "1234", "ccode": "91"},
    )
    names = [a["name"] for a in created]
    prefix = names[0].rsplit("_", 1)[0]
    assert names == [f"{prefix}_001", f"{prefix}_002", f"{prefix}_003"]
    page = platform.data(
        "/v3/cc/seat/query", {"current": 1, "size": 10, "params": {"voiceGroupId": group}}
    )
    assert page["total"] == 3
    agent = page["records"][0]
    assert agent["keyId"] == created[0]["keyId"] and agent["account"] == agent["name"] == names[0]
    assert agent["password"].isalnum() and len(agent["password"]) >= 8
    assert (agent["enable"], agent["status"], agent["deleteFlag"], agent["groupName"]) == (
        0,
        2,
        0,
        "agents",
    )
    assert (agent["displayNum"], agent["ccode"], agent["appId"]) == ("1234", "91", APP)
    assert (agent["num"], agent["connectNum"], agent["connectRate"]) == (0, 0, "0.00%")
    window = {"strTime": "2025-01-01 00:00:00", "endTime": "2025-02-01 12:12:12"}
    assert (
        platform.post("/v3/cc/seat/query", {"current": 1, "size": 10, "params": window})["status"]
        == "0"
    )
    too_long = {**window, "endTime": "2025-02-03 00:00:00"}
    assert (
        platform.post("/v3/cc/seat/query", {"current": 1, "size": 10, "params": too_long})["status"]
        == "-25"
    )
    bad_time = {**window, "strTime": "01/01/2025"}
    assert (
        platform.post("/v3/cc/seat/query", {"current": 1, "size": 10, "params": bad_time})["status"]
        == "-11"
    )
    more = platform.data(
        "/v3/cc/seat/addSeatList", {"voiceGroupId": add_group(platform, "agents 2"), "size": 1}
    )
    assert more[0]["name"] == f"{prefix}_004"
    assert (
        platform.post("/v3/cc/seat/addSeatList", {"voiceGroupId": group, "size": 0})["status"]
        == "-22"
    )
    assert (
        platform.post("/v3/cc/seat/addSeatList", {"voiceGroupId": 42, "size": 1})["status"] == "-24"
    )


def test_the_agent_quota_is_minus_36_and_nothing_is_created(start_simulator) -> None:
    running = start_simulator(agent_quota_per_group=5)
    platform = SignedClient(running)
    group = add_group(platform, "quota")
    assert platform.get("/v3/cc/seat/querySipTotal", voiceGroupId=group)["data"] == {
        "total": 5,
        "remaining": 5,
    }
    platform.data("/v3/cc/seat/addSeatList", {"voiceGroupId": group, "size": 3})
    answer = platform.post("/v3/cc/seat/addSeatList", {"voiceGroupId": group, "size": 3})
    assert answer["status"] == "-36" and "2 of 5" in answer["reason"]
    assert platform.get("/v3/cc/seat/querySipTotal", voiceGroupId=group)["data"] == {
        "total": 5,
        "remaining": 2,
    }
    assert (
        platform.data("/v3/cc/seat/query", {"current": 1, "size": 10, "params": {}})["total"] == 3
    )
    platform.close()


def test_updating_an_agent_checks_job_number_password_and_application(
    platform: SignedClient,
) -> None:
    group = add_group(platform, "update")
    other_app_group = add_group(platform, "elsewhere", OTHER_APP)
    first, second = platform.data("/v3/cc/seat/addSeatList", {"voiceGroupId": group, "size": 2})
    base = {
        "keyId": first["keyId"],
        "voiceGroupId": str(group),
        "name": first["name"],
        "empNo": "E1",
    }
    assert (
        platform.post("/v3/cc/seat/updateSeat", {**base, "password": "abc123XY", "petName": "Ann"})[
            "status"
        ]
        == "0"
    )
    agent = platform.data(
        "/v3/cc/seat/query", {"current": 1, "size": 1, "params": {"name": first["name"]}}
    )["records"][0]
    assert (agent["empNo"], agent["petName"], agent["password"]) == ("E1", "Ann", "abc123XY")
    dup = {"keyId": second["keyId"], "voiceGroupId": group, "name": second["name"], "empNo": "E1"}
    assert platform.post("/v3/cc/seat/updateSeat", dup)["status"] == "-34"
    assert (
        platform.post("/v3/cc/seat/updateSeat", {**base, "password": "abc-123"})["status"] == "-64"
    )
    assert (
        platform.post("/v3/cc/seat/updateSeat", {**base, "voiceGroupId": other_app_group})["status"]
        == "-65"
    )
    assert platform.post("/v3/cc/seat/updateSeat", {**base, "ccode": "999"})["status"] == "-66"
    assert platform.post("/v3/cc/seat/updateSeat", {**base, "keyId": 1})["status"] == "-24"
    assert (
        platform.post("/v3/cc/seat/updateSeat", {k: v for k, v in base.items() if k != "empNo"})[
            "status"
        ]
        == "-22"
    )


def test_agents_are_disabled_enabled_and_deleted_in_batches(platform: SignedClient) -> None:
    group = add_group(platform, "batch")
    ids = [
        a["keyId"]
        for a in platform.data("/v3/cc/seat/addSeatList", {"voiceGroupId": group, "size": 3})
    ]

    def enabled() -> list[int]:
        records = platform.data(
            "/v3/cc/seat/query", {"current": 1, "size": 10, "params": {"enable": 0}}
        )["records"]
        return [r["keyId"] for r in records]

    platform.data("/v3/cc/seat/batchingSeat", {"type": 3, "idList": ids[:2]})
    assert enabled() == ids[2:]
    platform.data("/v3/cc/seat/batchingSeat", {"type": 4, "idList": [ids[0]]})
    assert enabled() == [ids[0], ids[2]]
    platform.data("/v3/cc/seat/batchingSeat", {"type": 2, "idList": [ids[1]]})
    assert platform.get("/v3/cc/seat/querySipTotal", voiceGroupId=group)["data"]["remaining"] == 48
    assert (
        platform.post("/v3/cc/seat/batchingSeat", {"type": 2, "idList": [ids[1]]})["status"]
        == "-24"
    )
    assert (
        platform.post("/v3/cc/seat/batchingSeat", {"type": 5, "idList": [ids[0]]})["status"]
        == "-22"
    )
    assert platform.post("/v3/cc/seat/batchingSeat", {"type": 3, "idList": []})["status"] == "-22"


# --- number files ------------------------------------------------------------------------------------


def test_a_csv_upload_counts_numbers_and_duplicates(platform: SignedClient) -> None:
    rows = [
        ["name", "Phone Number", "city"],
        ["Ann", "919800000001", "Pune"],
        ["Bob", "+91 98000 00002", "Goa"],
        ["Ann again", "919800000001", "Pune"],
        ["no number", "", "x"],
        ["Cid", "919800000003", ""],
    ]
    answer = upload(platform, csv_bytes(rows), "callees.csv")["data"]
    assert answer["numberTotalCount"] == 3 and answer["numberSameCount"] == 1
    assert answer["filePath"].startswith("/mnt/cc/upload/execl/") and answer["filePath"].endswith(
        ".csv"
    )
    headerless = upload(
        platform, csv_bytes([["919800000001"], ["919800000001"], ["919800000002"]]), "plain.csv"
    )["data"]
    assert (headerless["numberTotalCount"], headerless["numberSameCount"]) == (2, 1)


def test_xlsx_and_xls_uploads_are_read(platform: SignedClient) -> None:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["mobile", "name"])
    for i, number in enumerate([919800000001, 919800000002, 919800000001, 919800000004]):
        sheet.write_row(i + 1, 0, [number, f"n{i}"])
    book.close()
    answer = upload(platform, out.getvalue(), "numbers.xlsx")["data"]
    assert (answer["numberTotalCount"], answer["numberSameCount"]) == (3, 1)

    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("numbers")
    for i, number in enumerate(["919800000001", "919800000002", "919800000003", "919800000003"]):
        sheet.write(i, 0, number)
    out = io.BytesIO()
    workbook.save(out)
    answer = upload(platform, out.getvalue(), "234567.xls")["data"]
    assert (answer["numberTotalCount"], answer["numberSameCount"]) == (3, 1)
    assert answer["filePath"].endswith(".xls")


def test_a_file_that_is_not_a_spreadsheet_is_minus_39(platform: SignedClient) -> None:
    assert upload(platform, b"%PDF-1.4 not a spreadsheet\x00\x01", "numbers.xls")["status"] == "-39"
    assert upload(platform, b"PK\x03\x04broken zip", "numbers.xlsx")["status"] == "-39"
    assert upload(platform, b"919800000001\n", "numbers.txt")["status"] == "-39"
    bad_base64 = platform.post("/v3/cc/preview/upload", {"fileName": "numbers.csv", "file": "***"})
    assert bad_base64["status"] == "-22"


def test_file_name_must_be_5_to_32_characters(platform: SignedClient) -> None:
    data = csv_bytes([["919800000001"]])
    assert upload(platform, data, "a.cs")["status"] == "-22"
    assert upload(platform, data, "x" * 29 + ".csv")["status"] == "-22"
    assert upload(platform, data, "x" * 28 + ".csv")["status"] == "0"


def test_a_file_over_the_size_limit_is_minus_38(start_simulator) -> None:
    running = start_simulator(max_upload_bytes=1000)
    platform = SignedClient(running)
    small = csv_bytes([[f"9198000{i:05d}"] for i in range(50)])
    assert len(small) < 1000 and upload(platform, small, "small.csv")["status"] == "0"
    big = csv_bytes([[f"9198000{i:05d}"] for i in range(100)])
    answer = upload(platform, big, "big.csv")
    assert answer["status"] == "-38" and "1000" in answer["reason"]
    platform.close()


def test_more_than_100000_rows_is_minus_40(platform: SignedClient) -> None:
    rows = "".join(f"91{9000000000 + i}\n" for i in range(100_001)).encode()
    answer = upload(platform, rows, "huge.csv")
    assert answer["status"] == "-40"
    exactly = b"phone\n" + "".join(f"91{9000000000 + i}\n" for i in range(100_000)).encode()
    assert upload(platform, exactly, "limit.csv")["data"]["numberTotalCount"] == 100_000


# --- task submission checks --------------------------------------------------------------------------


def test_submit_task_checks_groups_files_and_headers(platform: SignedClient) -> None:
    mine = add_group(platform, "mine")
    theirs = add_group(platform, "theirs", OTHER_APP)
    path = upload(platform, csv_bytes([["phone", "name"], ["919800000001", "Ann"]]), "one.csv")[
        "data"
    ]["filePath"]
    task = {
        "filePath": path,
        "fileName": "one.csv",
        "type": 1,
        "voiceGroupId": [mine],
        "appId": APP,
        "calloutRate": 1,
    }

    answer = platform.post("/v3/cc/preview/submitTask", {**task, "voiceGroupId": [theirs]})
    assert answer["status"] == "-74"
    assert (
        platform.post("/v3/cc/preview/submitTask", {**task, "voiceGroupId": [mine, mine + 1]})[
            "status"
        ]
        == "-22"
    )
    assert (
        platform.post("/v3/cc/preview/submitTask", {**task, "voiceGroupId": []})["status"] == "-22"
    )
    assert (
        platform.post("/v3/cc/preview/submitTask", {**task, "calloutRate": None})["status"] == "-22"
    )
    assert platform.post("/v3/cc/preview/submitTask", {**task, "type": 2})["status"] == "-22"
    assert (
        platform.post("/v3/cc/preview/submitTask", {**task, "filePath": "/mnt/cc/nothing.xls"})[
            "status"
        ]
        == "-24"
    )
    assert (
        platform.post("/v3/cc/preview/submitTask", {**task, "maxRingingTime": 10})["status"]
        == "-22"
    )
    assert (
        platform.post("/v3/cc/preview/submitTask", {**task, "displayNum": "12-34"})["status"]
        == "-22"
    )
    repeated = upload(
        platform, csv_bytes([["phone", "name", "name"], ["919800000001", "a", "b"]]), "rep.csv"
    )
    assert (
        platform.post(
            "/v3/cc/preview/submitTask", {**task, "filePath": repeated["data"]["filePath"]}
        )["status"]
        == "-43"
    )

    task_id = platform.post("/v3/cc/preview/submitTask", task)["data"]
    assert isinstance(task_id, int) and task_id == 5000001


def test_the_simulator_refuses_just_past_every_limit_of_limits_py(platform: SignedClient) -> None:
    """The simulator reads the same limits as the client: the edge is accepted, one past it is -22."""
    group = add_group(platform, "limits group")
    path = upload(platform, csv_bytes([["919800000001"]]), "one.csv")["data"]["filePath"]
    task = {"filePath": path, "fileName": "one.csv", "type": 1, "voiceGroupId": [group],
            "appId": APP, "calloutRate": 1}  # fmt: skip

    def status(endpoint: str, body: dict) -> str:
        return platform.post(endpoint, body)["status"]

    submit = "/v3/cc/preview/submitTask"
    assert status(submit, {**task, "calloutRate": limits.CALLOUT_RATE_MAX + 1}) == "-22"
    assert status(submit, {**task, "remark": "x" * (limits.REMARK_MAX + 1)}) == "-22"
    assert status(submit, {**task, "displayNum": "1" * (limits.DISPLAY_NUM_MAX + 1)}) == "-22"
    assert status(submit, {**task, "maxRingingTime": limits.RINGING_TIME_MAX + 1}) == "-22"
    edge = {"calloutRate": limits.CALLOUT_RATE_MAX, "remark": "x" * limits.REMARK_MAX,
            "displayNum": "1" * limits.DISPLAY_NUM_MAX, "maxRingingTime": limits.RINGING_TIME_MAX}  # fmt: skip
    task_id = platform.data(submit, {**task, **edge})
    # Re-run and rate change refuse the same rate, before looking at the task's state.
    resend = {"taskId": task_id, "resendType": 3, **task}
    assert status("/v3/cc/preview/resendTask", {**resend, "calloutRate": limits.CALLOUT_RATE_MAX + 1}) == "-22"
    edit = {"taskId": task_id, "calloutRate": limits.CALLOUT_RATE_MAX + 1}
    assert status("/v3/cc/preview/agent/editTask", edit) == "-22"
    assert status("/v3/cc/preview/agent/editTask", {**edit, "calloutRate": limits.CALLOUT_RATE_MAX}) == "0"

    add = {"voiceGroupId": group, "size": limits.AGENT_BATCH_MAX + 1}
    assert status("/v3/cc/seat/addSeatList", add) == "-22"
    page = {"current": 1, "size": limits.PAGE_SIZE_MAX + 1, "params": {}}
    assert status("/v3/cc/seatGroup/query", page) == "-22"
    tags = [f"tag{i}" for i in range(limits.LABELS_MAX + 1)]
    settings = {"voiceGroupId": group, "displaySwitch": 1, "encryptNumber": 1}
    assert status("/v3/cc/seatGroup/basicSetting", {**settings, "labelName": tags}) == "-22"
    assert status("/v3/cc/seatGroup/basicSetting", {**settings, "labelName": tags[:-1]}) == "0"


def test_no_minimum_rate_configured_is_minus_77(start_simulator) -> None:
    running = start_simulator(no_minimum_rate=True)
    platform = SignedClient(running)
    path = upload(platform, csv_bytes([["919800000001"]]), "one.csv")["data"]["filePath"]
    answer = platform.post(
        "/v3/cc/preview/submitTask", {"filePath": path, "fileName": "one.csv", "type": 0}
    )
    assert answer["status"] == "-77"
    platform.close()


def test_unknown_paths_are_404_and_wrong_methods_405(
    platform: SignedClient, simulator: RunningSimulator
) -> None:
    assert (
        platform.http.post("/v3/cc/nothing", json={}, headers=simulator.headers()).status_code
        == 404
    )
    assert (
        platform.http.get("/v3/cc/seatGroup/addGroup", headers=simulator.headers()).status_code
        == 405
    )
    assert isinstance(platform.http, httpx.Client)
