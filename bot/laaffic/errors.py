"""Platform failures as exceptions that carry a sentence a team lead can act on.

Every status code in platform-api.md §2 has its own sentence. Codes that mean different things on
different endpoints (-20, -23, -24, -36, -63, -64 …) are explained per endpoint (§2.2 note).
`str(err)` keeps the platform's code and reason for support: "<sentence> (platform code -N: reason)".
"""

from __future__ import annotations

from bot.laaffic.limits import (
    GROUP_NAME_MAX,
    GROUP_NAME_MIN,
    UPLOAD_FILE_NAME_MAX,
    UPLOAD_FILE_NAME_MIN,
    UPLOAD_ROWS_MAX,
)

# What the bot was trying to do, per endpoint, for "Could not <action>: …".
ACTIONS: dict[str, str] = {
    "seatGroup/addGroup": "create the agent group",
    "seatGroup/updateGroup": "rename the agent group",
    "seatGroup/deleteGroup": "delete the agent group",
    "seatGroup/query": "list the agent groups",
    "seatGroup/basicSettingResp": "read the agent group's settings",
    "seatGroup/basicSetting": "change the agent group's settings",
    "seat/addSeatList": "create the agents",
    "seat/query": "list the agents",
    "seat/querySipTotal": "read the agent quota",
    "seat/updateSeat": "update the agent",
    "seat/batchingSeat": "enable, disable or delete the agents",
    "preview/upload": "upload the number file",
    "preview/submitTask": "create the calling task",
    "preview/resendTask": "re-run the calling task",
    "preview/query": "list the calling tasks",
    "preview/queryTaskDetail": "read the task's numbers",
    "preview/agent/editTask": "change the task's call-out rate",
    "preview/agent/cancelTask": "cancel the task",
    "record/query": "read the call records",
    "voice/ccRecordQuery": "read the call records",
    "getBalance": "read the account balance",
}

_CHECK_VALUES = "Check the values you entered and try again."
_BUG = "This is a bug in the bot: report it with the time it happened."

# code -> (what happened, what to do). §2.1 global table plus §2.2 call-center codes.
_MEANINGS: dict[str, tuple[str, str]] = {
    "0": ("the platform reported success", "Nothing to do."),
    "-1": (
        "the platform did not accept the bot's API credentials (authentication failed)",
        "Check LAAFFIC_API_KEY, LAAFFIC_API_SECRET and LAAFFIC_APP_ID against Home → Developers "
        "in the Laaffic console.",
    ),
    "-2": (
        "the platform does not accept requests from this server's IP address",
        "Add this server's public IP address to the API IP whitelist in the Laaffic console.",
    ),
    "-3": (
        "the text contains words the platform treats as sensitive",
        "Remove those words and try again.",
    ),
    "-4": ("the message text is empty", "Add the text and try again."),
    "-5": ("the message text is too long", "Shorten it and try again."),
    "-6": (
        "the text does not match an approved template",
        "Use an approved template, or have the template approved in the console first.",
    ),
    "-7": ("too many phone numbers were sent at once", "Send fewer numbers per request."),
    "-8": ("no phone number was given", "Add the phone numbers and try again."),
    "-9": (
        "a phone number is not valid",
        "Check the numbers (country code plus number, digits only) and try again.",
    ),
    "-10": (
        "the account balance is too low",
        "Top up the Laaffic account, then try again.",
    ),
    "-11": ("a date or time was in a format the platform does not accept", _BUG),
    "-12": (
        "the platform failed to submit it on its side",
        "Try again in a few minutes; if it keeps failing, contact Laaffic support.",
    ),
    "-13": (
        "the Laaffic account is locked",
        "Ask Laaffic support or your account manager to unlock it.",
    ),
    "-14": (
        "a required value was empty or an ID was not valid",
        "Check the IDs and values you entered and try again.",
    ),
    "-15": ("too many queries were made in a short time", "Wait a minute, then try again."),
    "-16": (
        "the platform rejected the request's timestamp as expired, which means this server's "
        "clock is off",
        "Set the server's clock right (turn on NTP time sync), then try again.",
    ),
    "-17": ("the message template is empty", "Choose a template and try again."),
    "-18": (
        "the platform could not read the request (it reports a system error, usually because the "
        "request was not valid JSON)",
        _BUG,
    ),
    "-19": (
        "the price for this destination has not been confirmed yet",
        "Ask your Laaffic account manager to confirm the pricing.",
    ),
    "-20": (
        "this already exists on the platform",
        "Use a different name, or use the existing one.",
    ),
    "-21": ("the platform's data check failed", _CHECK_VALUES),
    "-22": ("the platform did not accept one of the values (parameter error)", _CHECK_VALUES),
    "-23": (
        "the account has reached its limit for these",
        "Delete ones you no longer use, or ask Laaffic to raise the limit.",
    ),
    "-24": (
        "it does not exist on the platform",
        "Check the ID; it may have been deleted already.",
    ),
    "-25": (
        "the time range is outside what the platform allows",
        "Use a shorter or more recent time range.",
    ),
    "-26": (
        "the platform could not work out the price",
        "Try again later; if it keeps failing, contact Laaffic support.",
    ),
    "-27": (
        "the sending limit for this period has been reached",
        "Wait for the next period, or ask Laaffic to raise the limit.",
    ),
    "-28": (
        "the limit per phone number for this period has been reached",
        "Wait for the next period before contacting the same numbers again.",
    ),
    "-29": (
        "the WorkSpace is disabled",
        "Ask the Laaffic account administrator to enable the WorkSpace in the console.",
    ),
    "-30": (
        "the API key is disabled",
        "Enable the key in the console (Home → Developers), or create a new key and update "
        "LAAFFIC_API_KEY and LAAFFIC_API_SECRET.",
    ),
    "-31": (
        "this server's IP address is not on the platform's IP whitelist",
        "Add this server's public IP address to the whitelist in the Laaffic console.",
    ),
    "-32": (
        "the API key is not allowed to use this voice application",
        "Check LAAFFIC_APP_ID, or allow the key for this application in the Laaffic console.",
    ),
    "-34": (
        "this job number (empNo) is already used by another agent",
        "Choose a different job number.",
    ),
    "-36": (
        "the agent quota is used up, so no more agents can be created",
        "Delete agents you no longer need, or ask Laaffic for more seats.",
    ),
    "-38": ("the number file is too large", "Split it into smaller files and upload each one."),
    "-39": (
        "the file is not in a format the platform accepts",
        "Upload an Excel file (.xls or .xlsx) laid out like the platform's number template.",
    ),
    "-40": (
        f"the file has more than {UPLOAD_ROWS_MAX:,} numbers",
        f"Split it into files of at most {UPLOAD_ROWS_MAX:,} numbers and upload each one.",
    ),
    "-41": (
        "the task is in a state that does not allow this",
        "Check the task's status (it may still be running or already cancelled), then try again.",
    ),
    "-42": (
        "there are no numbers to call again for the chosen option",
        "Pick another re-run option (failed, not called, or all numbers).",
    ),
    "-43": (
        "the callee-information columns in the file have repeated header names",
        "Give every column in the file's header row a different name, upload it again and "
        "submit the new file.",
    ),
    "-63": (
        "the request does not belong to this account's WorkSpace",
        "Check the group ID and LAAFFIC_APP_ID.",
    ),
    "-64": (
        "the platform refused because of data linked to it",
        "Check the values you entered and try again.",
    ),
    "-65": (
        "the agent's group does not belong to the bot's voice application",
        "Check the group ID and LAAFFIC_APP_ID.",
    ),
    "-66": (
        "the country code does not exist on the platform",
        "Use a country calling code such as 91 or 62.",
    ),
    "-67": ("the agent is on a call right now", "Try again once the call has ended."),
    "-68": (
        "some of the agents are in a running group-call task and cannot be deleted until it "
        "finishes",
        "Wait for the task to finish (or cancel it), then try again.",
    ),
    "-69": (
        "the group is bound to a team leader",
        "Unbind the team leader from the group in the Laaffic console, then try again.",
    ),
    "-70": (
        "the group is bound to a SIP trunk",
        "Unbind the SIP trunk from the group in the Laaffic console, then try again.",
    ),
    "-74": (
        "the agent group does not belong to the bot's voice application",
        "Check the group ID and LAAFFIC_APP_ID.",
    ),
    "-75": (
        "the platform requires your salesperson to enable this first",
        "Contact your Laaffic salesperson or account manager.",
    ),
    "-77": (
        "no minimum call rate is set up for the voice application",
        "Ask your Laaffic account manager to configure a rate for the application.",
    ),
}

# (code, endpoint) -> (what happened, what to do), where a code means something else there.
_PER_ENDPOINT: dict[tuple[str, str], tuple[str, str]] = {
    ("-20", "seatGroup/addGroup"): (
        "an agent group with this name already exists in the application",
        "Choose another name, or use the existing group.",
    ),
    ("-20", "seatGroup/updateGroup"): (
        "another agent group already has this name",
        "Choose another name.",
    ),
    ("-20", "preview/upload"): (
        "a file with this name was already uploaded",
        "Rename the file and upload it again.",
    ),
    ("-20", "preview/submitTask"): (
        "this task was already created",
        "Look at the task list before creating it again.",
    ),
    ("-22", "seatGroup/addGroup"): (
        "the platform did not accept the group name or application ID",
        f"Use a group name of {GROUP_NAME_MIN} to {GROUP_NAME_MAX} characters and check "
        "LAAFFIC_APP_ID.",
    ),
    ("-22", "seatGroup/updateGroup"): (
        "the platform did not accept the group ID or the new name",
        f"Use a group name of {GROUP_NAME_MIN} to {GROUP_NAME_MAX} characters and check the "
        "group ID.",
    ),
    ("-22", "preview/upload"): (
        "the platform did not accept the file or its name",
        f"Use a file name of {UPLOAD_FILE_NAME_MIN} to {UPLOAD_FILE_NAME_MAX} characters and a "
        "file laid out like the number template.",
    ),
    ("-23", "seatGroup/addGroup"): (
        "the application already has as many agent groups as it may have",
        "Delete groups you no longer use, or ask Laaffic to raise the limit.",
    ),
    ("-23", "seat/addSeatList"): (
        "the account already has as many agents as it may have",
        "Delete agents you no longer need, or ask Laaffic for more seats.",
    ),
    ("-24", "seatGroup/deleteGroup"): (
        "there is no agent group with this ID (it may have been deleted already)",
        "List the groups to check the ID.",
    ),
    ("-36", "preview/agent/editTask"): (
        "the new call-out rate is higher than the platform allows for this task",
        "Choose a lower call-out rate.",
    ),
    ("-63", "seatGroup/addGroup"): (
        "the voice application (appId) does not belong to this account's WorkSpace",
        "Check LAAFFIC_APP_ID against the application list in the Laaffic console.",
    ),
    ("-63", "seatGroup/updateGroup"): (
        "the agent group belongs to another WorkSpace",
        "Check the group ID; list the groups to find the right one.",
    ),
    # zh docs: WorkSpace mismatch; EN docs: agents still in the group. Say both.
    ("-63", "seatGroup/deleteGroup"): (
        "the group belongs to another WorkSpace, or it still has agents in it",
        "Check the group ID, and delete the group's agents first.",
    ),
    ("-64", "seatGroup/deleteGroup"): (
        "the group still has agents in it",
        "Delete the group's agents first, then delete the group.",
    ),
    ("-64", "seat/updateSeat"): (
        "the SIP password may contain only letters and digits",
        "Choose a password made of letters and digits only.",
    ),
}

# Codes that mean the bot's own set-up (credentials, IP, account) is wrong.
AUTH_CODES = frozenset({"-1", "-2", "-13", "-29", "-30", "-31", "-32"})
CLOCK_CODE = "-16"


def endpoint_key(endpoint: str) -> str:
    """'/v3/cc/seatGroup/addGroup?x=1', 'seatGroup/addGroup' and 'addGroup' → 'seatGroup/addGroup'."""
    path = endpoint.split("?", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
    path = path.strip("/")
    for prefix in ("v3/cc/", "v3/", "cc/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    if path in ACTIONS:
        return path
    last = path.rsplit("/", 1)[-1]
    matches = [key for key in ACTIONS if key.rsplit("/", 1)[-1] == last]
    return matches[0] if len(matches) == 1 else path


def normalise_code(code: str | int) -> str:
    text = str(code).strip()
    try:
        return str(int(float(text)))
    except ValueError:
        return text


def action(endpoint: str) -> str:
    """What a request to `endpoint` does, as in "Could not <action>"."""
    return ACTIONS.get(endpoint_key(endpoint), f"complete the request ({endpoint})")


def explain(code: str | int, endpoint: str, reason: str = "") -> str:
    """The plain sentence for a platform status `code` on `endpoint`: what happened, what to do."""
    code = normalise_code(code)
    key = endpoint_key(endpoint)
    meaning = _PER_ENDPOINT.get((code, key)) or _MEANINGS.get(code)
    if code == "0":
        return "The platform accepted the request."
    if meaning is None:
        said = f' and said "{reason}"' if reason else ""
        return (
            f"Could not {action(endpoint)}: the platform answered with code {code}{said}, "
            "which the bot does not know. Contact Laaffic support and give them this code."
        )
    what, todo = meaning
    return f"Could not {action(endpoint)}: {what}. {todo}"


class PlatformError(Exception):
    """The platform refused or failed a request. `message` is the sentence for people."""

    code: str
    reason: str
    endpoint: str
    message: str

    def __init__(self, code: str | int, reason: str, endpoint: str, message: str | None = None):
        self.code = normalise_code(code)
        self.reason = reason
        self.endpoint = endpoint
        self.message = message if message is not None else explain(self.code, endpoint, reason)
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})"

    @property
    def detail(self) -> str:
        """The technical tail kept for support."""
        return f"platform code {self.code}: {self.reason}" if self.code else self.reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, endpoint={self.endpoint!r})"


class InvalidRequest(PlatformError, ValueError):
    """A value the platform would refuse, caught before anything was sent (nothing changed).

    A PlatformError, so that whatever shows platform refusals shows this one too; a ValueError,
    because it is one. `str()` is the plain sentence alone: there is no platform code to keep.
    """

    def __init__(self, message: str, endpoint: str = "") -> None:
        super().__init__("invalid", "refused before sending", endpoint, message)

    def __str__(self) -> str:
        return self.message


class PlatformAuthError(PlatformError):
    """Credentials, IP whitelist, account or key state: fix the bot's set-up, not the request."""


class PlatformClockError(PlatformError):
    """-16 even after the bot corrected its clock from the platform's `Date` header."""


class PlatformUnavailable(PlatformError):
    """No usable answer: network failure, timeout, or an HTTP 5xx."""

    def __init__(
        self,
        endpoint: str,
        reason: str,
        *,
        may_have_taken_effect: bool,
        is_write: bool = False,
        message: str | None = None,
    ):
        self.may_have_taken_effect = may_have_taken_effect
        if message is None:
            if may_have_taken_effect:
                after = (
                    "The request was sent but no answer came back, so it may or may not have "
                    "taken effect: check on the platform before trying again."
                )
            elif is_write:
                after = "The request never reached the platform, so nothing changed. Try again in a few minutes."
            else:
                after = "Nothing was changed. Try again in a few minutes."
            message = f"Could not reach the Laaffic platform to {action(endpoint)}. {after}"
        super().__init__("", reason, endpoint, message)


class PlatformOutcomeUnknown(PlatformError):
    """A create was sent, its answer was lost, and checking could not tell whether it happened."""

    def __init__(self, endpoint: str, reason: str, *, where: str, message: str | None = None):
        if message is None:
            message = (
                f"The bot asked the platform to {action(endpoint)}, but the answer was lost and "
                f"the bot could not confirm whether it happened. Check {where} in the Laaffic "
                "console before trying again, so nothing is done twice."
            )
        super().__init__("", reason, endpoint, message)


def error_for(code: str | int, reason: str, endpoint: str) -> PlatformError:
    """The exception for a non-zero platform status."""
    code = normalise_code(code)
    if code in AUTH_CODES:
        return PlatformAuthError(code, reason, endpoint)
    if code == CLOCK_CODE:
        return PlatformClockError(code, reason, endpoint)
    return PlatformError(code, reason, endpoint)


def http_status_error(status: int, reason: str, endpoint: str, base_url: str) -> PlatformError:
    """A non-5xx HTTP failure without the platform's envelope: most likely a wrong base URL."""
    return PlatformError(
        f"HTTP {status}",
        reason,
        endpoint,
        f"Could not {action(endpoint)}: the platform's address {base_url} answered HTTP {status}, "
        "so it is probably not the platform's API. Check LAAFFIC_BASE_URL (normally "
        "https://api.laaffic.com).",
    )


def bad_answer_error(endpoint: str, reason: str) -> PlatformError:
    """Status 0, but `data` is not what the docs describe."""
    return PlatformError(
        "bad-answer",
        reason,
        endpoint,
        f"Could not {action(endpoint)}: the platform's answer was not in the expected form. "
        "Try again; if it keeps happening, report it with the time it happened.",
    )
