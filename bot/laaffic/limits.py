"""The platform's field limits, in one place.

The bot's checks, its prompts, `/help`, the client's pre-flight checks and the simulator all read
these constants, so a value the platform would refuse is refused at once, with the same numbers
everywhere. Sources are the per-endpoint pages summarised in `shared/platform-api.md` §3 and §5;
the few that the docs leave open are marked ASSUMPTION.
"""

from __future__ import annotations

import re

# seatGroup/addGroup, updateGroup: groupName 4–32 characters, unique in the application.
GROUP_NAME_MIN = 4
GROUP_NAME_MAX = 32

# preview/submitTask maxRingingTime: 20–120 seconds.
RINGING_TIME_MIN = 20
RINGING_TIME_MAX = 120

# preview/agent/editTask remark: at most 50 characters (submit and resend take the same remark).
REMARK_MAX = 50

# displayNum (addSeatList, submitTask, resendTask): at most 20 letters or digits (ASCII).
DISPLAY_NUM_MAX = 20
# \Z, not $: "$" also matches before a trailing newline.
DISPLAY_NUM_RE = re.compile(rf"\A[A-Za-z0-9]{{1,{DISPLAY_NUM_MAX}}}\Z")

# calloutRate: "outbound call ratio"; no range is documented (samples always use 1).
# ASSUMPTION: 1–10 numbers dialled at once per available agent. The simulator refuses above it with
# -22 like any other out-of-range parameter.
CALLOUT_RATE_MIN = 1
CALLOUT_RATE_MAX = 10

# seat/addSeatList size: no documented maximum per call; the quota (querySipTotal) is the real
# bound. ASSUMPTION: at most 100 agents per call, so one command never creates an unbounded batch.
AGENT_BATCH_MAX = 100

# Country codes (ccode): 1–4 ASCII digits (ITU E.164 country codes are at most 3; some platforms
# write 4-digit regional codes such as 1242).
CCODE_MAX_DIGITS = 4
CCODE_RE = re.compile(rf"\A[0-9]{{1,{CCODE_MAX_DIGITS}}}\Z")

# seat/updateSeat name, empNo, petName and password: no documented length.
# ASSUMPTION: at most 32 characters each, like a group name.
AGENT_TEXT_MAX = 32

# preview/upload: fileName 5–32 characters; at most 100,000 numbers per file (-40).
UPLOAD_FILE_NAME_MIN = 5
UPLOAD_FILE_NAME_MAX = 32
UPLOAD_ROWS_MAX = 100_000

# Paged queries: size 1–100.
PAGE_SIZE_MAX = 100

# basicSetting labelName: at most 10 tags of at most 20 characters.
LABELS_MAX = 10
LABEL_LEN_MAX = 20

# basicSetting fsNode: the media nodes a group can use.
FS_NODES = ("SG_FS", "USA_FS", "UAE_FS")

# seat/query statistics window: at most 32 days.
AGENT_STATS_WINDOW_DAYS = 32

# voice/ccRecordQuery (the older record query): a window of at most 31 days within the last 2 months
# (-25 otherwise). "2 months" is read as 62 days.
LEGACY_RECORD_WINDOW_DAYS = 31
LEGACY_RECORD_HISTORY_DAYS = 62

# Platform ids (voiceGroupId, keyId, taskId) are positive and fit a signed 64-bit column.
PLATFORM_ID_MAX = 2**63 - 1
