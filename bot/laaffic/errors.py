"""Platform failures as exceptions that carry a sentence a team lead can act on.

Every status code in platform-api.md §2 has its own sentence. Codes that mean different things on
different endpoints (-20, -23, -24, -36, -63, -64 …) are explained per endpoint (§2.2 note).
`str(err)` keeps the platform's code and reason for support: "<sentence> (platform code -N: reason)".
"""

from __future__ import annotations

from bot.i18n import N_, _
from bot.laaffic.limits import (
    GROUP_NAME_MAX,
    GROUP_NAME_MIN,
    UPLOAD_FILE_NAME_MAX,
    UPLOAD_FILE_NAME_MIN,
    UPLOAD_ROWS_MAX,
)

# What the bot was trying to do, per endpoint, for "Could not <action>: …".
ACTIONS: dict[str, str] = {
    "seatGroup/addGroup": N_("create the agent group"),
    "seatGroup/updateGroup": N_("rename the agent group"),
    "seatGroup/deleteGroup": N_("delete the agent group"),
    "seatGroup/query": N_("list the agent groups"),
    "seatGroup/basicSettingResp": N_("read the agent group's settings"),
    "seatGroup/basicSetting": N_("change the agent group's settings"),
    "seat/addSeatList": N_("create the agents"),
    "seat/query": N_("list the agents"),
    "seat/querySipTotal": N_("read the agent quota"),
    "seat/updateSeat": N_("update the agent"),
    "seat/batchingSeat": N_("enable, disable or delete the agents"),
    "preview/upload": N_("upload the number file"),
    "preview/submitTask": N_("create the calling task"),
    "preview/resendTask": N_("re-run the calling task"),
    "preview/query": N_("list the calling tasks"),
    "preview/queryTaskDetail": N_("read the task's numbers"),
    "preview/agent/editTask": N_("change the task's call-out rate"),
    "preview/agent/cancelTask": N_("cancel the task"),
    "record/query": N_("read the call records"),
    "voice/ccRecordQuery": N_("read the call records"),
    "getBalance": N_("read the account balance"),
}

_CHECK_VALUES = N_("Check the values you entered and try again.")
_BUG = N_("This is a bug in the bot: report it with the time it happened.")

# code -> (what happened, what to do). §2.1 global table plus §2.2 call-center codes.
_MEANINGS: dict[str, tuple[str, str]] = {
    "0": (N_("the platform reported success"), N_("Nothing to do.")),
    "-1": (
        N_("the platform did not accept the bot's API credentials (authentication failed)"),
        N_(
            "Check LAAFFIC_API_KEY, LAAFFIC_API_SECRET and LAAFFIC_APP_ID against Home → "
            "Developers in the Laaffic console.",
        ),
    ),
    "-2": (
        N_("the platform does not accept requests from this server's IP address"),
        N_("Add this server's public IP address to the API IP whitelist in the Laaffic console."),
    ),
    "-3": (
        N_("the text contains words the platform treats as sensitive"),
        N_("Remove those words and try again."),
    ),
    "-4": (N_("the message text is empty"), N_("Add the text and try again.")),
    "-5": (N_("the message text is too long"), N_("Shorten it and try again.")),
    "-6": (
        N_("the text does not match an approved template"),
        N_("Use an approved template, or have the template approved in the console first."),
    ),
    "-7": (N_("too many phone numbers were sent at once"), N_("Send fewer numbers per request.")),
    "-8": (N_("no phone number was given"), N_("Add the phone numbers and try again.")),
    "-9": (
        N_("a phone number is not valid"),
        N_("Check the numbers (country code plus number, digits only) and try again."),
    ),
    "-10": (
        N_("the account balance is too low"),
        N_("Top up the Laaffic account, then try again."),
    ),
    "-11": (N_("a date or time was in a format the platform does not accept"), _BUG),
    "-12": (
        N_("the platform failed to submit it on its side"),
        N_("Try again in a few minutes; if it keeps failing, contact Laaffic support."),
    ),
    "-13": (
        N_("the Laaffic account is locked"),
        N_("Ask Laaffic support or your account manager to unlock it."),
    ),
    "-14": (
        N_("a required value was empty or an ID was not valid"),
        N_("Check the IDs and values you entered and try again."),
    ),
    "-15": (N_("too many queries were made in a short time"), N_("Wait a minute, then try again.")),
    "-16": (
        N_(
            "the platform rejected the request's timestamp as expired, which means this server's "
            "clock is off",
        ),
        N_("Set the server's clock right (turn on NTP time sync), then try again."),
    ),
    "-17": (N_("the message template is empty"), N_("Choose a template and try again.")),
    "-18": (
        N_(
            "the platform could not read the request (it reports a system error, usually because "
            "the request was not valid JSON)",
        ),
        _BUG,
    ),
    "-19": (
        N_("the price for this destination has not been confirmed yet"),
        N_("Ask your Laaffic account manager to confirm the pricing."),
    ),
    "-20": (
        N_("this already exists on the platform"),
        N_("Use a different name, or use the existing one."),
    ),
    "-21": (N_("the platform's data check failed"), _CHECK_VALUES),
    "-22": (N_("the platform did not accept one of the values (parameter error)"), _CHECK_VALUES),
    "-23": (
        N_("the account has reached its limit for these"),
        N_("Delete ones you no longer use, or ask Laaffic to raise the limit."),
    ),
    "-24": (
        N_("it does not exist on the platform"),
        N_("Check the ID; it may have been deleted already."),
    ),
    "-25": (
        N_("the time range is outside what the platform allows"),
        N_("Use a shorter or more recent time range."),
    ),
    "-26": (
        N_("the platform could not work out the price"),
        N_("Try again later; if it keeps failing, contact Laaffic support."),
    ),
    "-27": (
        N_("the sending limit for this period has been reached"),
        N_("Wait for the next period, or ask Laaffic to raise the limit."),
    ),
    "-28": (
        N_("the limit per phone number for this period has been reached"),
        N_("Wait for the next period before contacting the same numbers again."),
    ),
    "-29": (
        N_("the WorkSpace is disabled"),
        N_("Ask the Laaffic account administrator to enable the WorkSpace in the console."),
    ),
    "-30": (
        N_("the API key is disabled"),
        N_(
            "Enable the key in the console (Home → Developers), or create a new key and update "
            "LAAFFIC_API_KEY and LAAFFIC_API_SECRET.",
        ),
    ),
    "-31": (
        N_("this server's IP address is not on the platform's IP whitelist"),
        N_("Add this server's public IP address to the whitelist in the Laaffic console."),
    ),
    "-32": (
        N_("the API key is not allowed to use this voice application"),
        N_("Check LAAFFIC_APP_ID, or allow the key for this application in the Laaffic console."),
    ),
    "-34": (
        N_("this job number (empNo) is already used by another agent"),
        N_("Choose a different job number."),
    ),
    "-36": (
        N_("the agent quota is used up, so no more agents can be created"),
        N_("Delete agents you no longer need, or ask Laaffic for more seats."),
    ),
    "-38": (
        N_("the number file is too large"),
        N_("Split it into smaller files and upload each one."),
    ),
    "-39": (
        N_("the file is not in a format the platform accepts"),
        N_("Upload an Excel file (.xls or .xlsx) laid out like the platform's number template."),
    ),
    "-40": (
        N_(
            "the file has more than {upload_rows_max} numbers",
        ),
        N_(
            "Split it into files of at most {upload_rows_max} numbers and upload each one.",
        ),
    ),
    "-41": (
        N_("the task is in a state that does not allow this"),
        N_(
            "Check the task's status (it may still be running or already cancelled), then try "
            "again.",
        ),
    ),
    "-42": (
        N_("there are no numbers to call again for the chosen option"),
        N_("Pick another re-run option (failed, not called, or all numbers)."),
    ),
    "-43": (
        N_("the callee-information columns in the file have repeated header names"),
        N_(
            "Give every column in the file's header row a different name, upload it again and "
            "submit the new file.",
        ),
    ),
    "-63": (
        N_("the request does not belong to this account's WorkSpace"),
        N_("Check the group ID and LAAFFIC_APP_ID."),
    ),
    "-64": (
        N_("the platform refused because of data linked to it"),
        N_("Check the values you entered and try again."),
    ),
    "-65": (
        N_("the agent's group does not belong to the bot's voice application"),
        N_("Check the group ID and LAAFFIC_APP_ID."),
    ),
    "-66": (
        N_("the country code does not exist on the platform"),
        N_("Use a country calling code such as 91 or 62."),
    ),
    "-67": (N_("the agent is on a call right now"), N_("Try again once the call has ended.")),
    "-68": (
        N_(
            "some of the agents are in a running group-call task and cannot be deleted until it "
            "finishes",
        ),
        N_("Wait for the task to finish (or cancel it), then try again."),
    ),
    "-69": (
        N_("the group is bound to a team leader"),
        N_("Unbind the team leader from the group in the Laaffic console, then try again."),
    ),
    "-70": (
        N_("the group is bound to a SIP trunk"),
        N_("Unbind the SIP trunk from the group in the Laaffic console, then try again."),
    ),
    "-74": (
        N_("the agent group does not belong to the bot's voice application"),
        N_("Check the group ID and LAAFFIC_APP_ID."),
    ),
    "-75": (
        N_("the platform requires your salesperson to enable this first"),
        N_("Contact your Laaffic salesperson or account manager."),
    ),
    "-77": (
        N_("no minimum call rate is set up for the voice application"),
        N_("Ask your Laaffic account manager to configure a rate for the application."),
    ),
}

# (code, endpoint) -> (what happened, what to do), where a code means something else there.
_PER_ENDPOINT: dict[tuple[str, str], tuple[str, str]] = {
    ("-20", "seatGroup/addGroup"): (
        N_("an agent group with this name already exists in the application"),
        N_("Choose another name, or use the existing group."),
    ),
    ("-20", "seatGroup/updateGroup"): (
        N_("another agent group already has this name"),
        N_("Choose another name."),
    ),
    ("-20", "preview/upload"): (
        N_("a file with this name was already uploaded"),
        N_("Rename the file and upload it again."),
    ),
    ("-20", "preview/submitTask"): (
        N_("this task was already created"),
        N_("Look at the task list before creating it again."),
    ),
    ("-22", "seatGroup/addGroup"): (
        N_("the platform did not accept the group name or application ID"),
        N_(
            "Use a group name of {group_name_min} to {group_name_max} characters and check "
            "LAAFFIC_APP_ID.",
        ),
    ),
    ("-22", "seatGroup/updateGroup"): (
        N_("the platform did not accept the group ID or the new name"),
        N_(
            "Use a group name of {group_name_min} to {group_name_max} characters and check the "
            "group ID.",
        ),
    ),
    ("-22", "preview/upload"): (
        N_("the platform did not accept the file or its name"),
        N_(
            "Use a file name of {upload_file_name_min} to {upload_file_name_max} characters and a "
            "file laid out like the number template.",
        ),
    ),
    ("-23", "seatGroup/addGroup"): (
        N_("the application already has as many agent groups as it may have"),
        N_("Delete groups you no longer use, or ask Laaffic to raise the limit."),
    ),
    ("-23", "seat/addSeatList"): (
        N_("the account already has as many agents as it may have"),
        N_("Delete agents you no longer need, or ask Laaffic for more seats."),
    ),
    ("-24", "seatGroup/deleteGroup"): (
        N_("there is no agent group with this ID (it may have been deleted already)"),
        N_("List the groups to check the ID."),
    ),
    ("-36", "preview/agent/editTask"): (
        N_("the new call-out rate is higher than the platform allows for this task"),
        N_("Choose a lower call-out rate."),
    ),
    ("-63", "seatGroup/addGroup"): (
        N_("the voice application (appId) does not belong to this account's WorkSpace"),
        N_("Check LAAFFIC_APP_ID against the application list in the Laaffic console."),
    ),
    ("-63", "seatGroup/updateGroup"): (
        N_("the agent group belongs to another WorkSpace"),
        N_("Check the group ID; list the groups to find the right one."),
    ),
    # zh docs: WorkSpace mismatch; EN docs: agents still in the group. Say both.
    ("-63", "seatGroup/deleteGroup"): (
        N_("the group belongs to another WorkSpace, or it still has agents in it"),
        N_("Check the group ID, and delete the group's agents first."),
    ),
    ("-64", "seatGroup/deleteGroup"): (
        N_("the group still has agents in it"),
        N_("Delete the group's agents first, then delete the group."),
    ),
    ("-64", "seat/updateSeat"): (
        N_("the SIP password may contain only letters and digits"),
        N_("Choose a password made of letters and digits only."),
    ),
}

# The limits the sentences above name, filled in when they are shown.
_LIMITS = {
    "group_name_min": GROUP_NAME_MIN,
    "group_name_max": GROUP_NAME_MAX,
    "upload_file_name_min": UPLOAD_FILE_NAME_MIN,
    "upload_file_name_max": UPLOAD_FILE_NAME_MAX,
    "upload_rows_max": f"{UPLOAD_ROWS_MAX:,}",
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
    key = endpoint_key(endpoint)
    if key in ACTIONS:
        return _(ACTIONS[key])
    return _("complete the request ({endpoint})", endpoint=endpoint)


def explain(code: str | int, endpoint: str, reason: str = "") -> str:
    """The plain sentence for a platform status `code` on `endpoint`: what happened, what to do."""
    code = normalise_code(code)
    key = endpoint_key(endpoint)
    meaning = _PER_ENDPOINT.get((code, key)) or _MEANINGS.get(code)
    if code == "0":
        return _("The platform accepted the request.")
    if meaning is None:
        said = (
            _(
                ' and said "{reason}"',
                reason=reason,
            )
            if reason
            else ""
        )
        return _(
            "Could not {action}: the platform answered with code {code}{said}, which the bot does "
            "not know. Contact Laaffic support and give them this code.",
            action=action(endpoint),
            code=code,
            said=said,
        )
    what, todo = meaning
    return _(
        "Could not {action}: {what}. {todo}",
        action=action(endpoint),
        what=_(what, **_LIMITS),
        todo=_(todo, **_LIMITS),
    )


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
        return (
            _(
                "platform code {code}: {reason}",
                code=self.code,
                reason=self.reason,
            )
            if self.code
            else self.reason
        )

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
                after = _(
                    "The request was sent but no answer came back, so it may or may not have taken effect: "
                    "check on the platform before trying again.",
                )
            elif is_write:
                after = _(
                    "The request never reached the platform, so nothing changed. Try again in a few "
                    "minutes.",
                )
            else:
                after = _("Nothing was changed. Try again in a few minutes.")
            message = _(
                "Could not reach the Laaffic platform to {action}. {after}",
                action=action(endpoint),
                after=after,
            )
        super().__init__("", reason, endpoint, message)


class PlatformOutcomeUnknown(PlatformError):
    """A create was sent, its answer was lost, and checking could not tell whether it happened."""

    def __init__(self, endpoint: str, reason: str, *, where: str, message: str | None = None):
        if message is None:
            message = _(
                "The bot asked the platform to {action}, but the answer was lost and the bot could not "
                "confirm whether it happened. Check {where} in the Laaffic console before trying "
                "again, so nothing is done twice.",
                action=action(endpoint),
                where=where,
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
        _(
            "Could not {action}: the platform's address {base_url} answered HTTP {status}, "
            "so it is probably not the platform's API. Check LAAFFIC_BASE_URL (normally "
            "https://api.laaffic.com).",
            action=action(endpoint),
            base_url=base_url,
            status=status,
        ),
    )


def bad_answer_error(endpoint: str, reason: str) -> PlatformError:
    """Status 0, but `data` is not what the docs describe."""
    return PlatformError(
        "bad-answer",
        reason,
        endpoint,
        _(
            "Could not {action}: the platform's answer was not in the expected form. Try again; if "
            "it keeps happening, report it with the time it happened.",
            action=action(endpoint),
        ),
    )
