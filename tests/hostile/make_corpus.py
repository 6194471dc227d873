#!/usr/bin/env python3
"""Writes tests/hostile/: one NNN-name.body file per case plus cases.tsv.

Run from anywhere: python3 tests/hostile/make_corpus.py. The files it writes
are checked in; this script only documents how they were made (and makes it
easy to add cases). hostile_input_test.cc reads cases.tsv.

cases.tsv columns (tab-separated, '#' lines are comments):
  name     NNN-name; the body is tests/hostile/<name>.body unless `body` says gen:...
  status   expected HTTP status
  sig      how the request is signed (see SignatureHeaders in hostile_input_test.cc)
  body     `file`, or gen:<generator> for bodies too big to check in
  expect   a substring the response body must contain ('-' for none)
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []


def add(name, status, body, sig="valid", expect="-", gen=None):
    n = len(cases) + 1
    full = f"{n:03d}-{name}"
    if gen is None:
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        with open(os.path.join(HERE, full + ".body"), "wb") as f:
            f.write(data)
        source = "file"
    else:
        source = "gen:" + gen
    assert "\t" not in expect
    cases.append((full, str(status), sig, source, expect))


USER = {"user_id": "hostile-user", "provider": "GARMIN", "reference_id": "hostile-ref"}


_ids = [0]
_AUTO = object()


def activity(record_overrides=None, metadata=None, user=USER, summary_id=_AUTO, **envelope):
    # A fresh summary_id per body unless given: a record whose raw JSON equals
    # a stored one is an IDENTICAL re-delivery (nothing new stored), which
    # would hide what a case changed outside the record (e.g. in `user`).
    if summary_id is _AUTO:
        _ids[0] += 1
        summary_id = f"act-{_ids[0]}"
    md = {"summary_id": summary_id, "name": "Run", "type": 8, "upload_type": 1,
          "start_time": "2026-07-01T07:04:11.000000+01:00",
          "end_time": "2026-07-01T08:00:00.000000+01:00"}
    if metadata is not None:
        md = metadata
    record = {"metadata": md, "energy_data": {"energy_kilojoules": 1200.5},
              "distance_data": {"summary": {"distance_meters": 10020.0}}}
    if record_overrides:
        record.update(record_overrides)
    env = {"type": "activity", "version": "2022-03-16", "user": user, "data": [record]}
    env.update(envelope)
    return json.dumps(env)


VALID = activity(summary_id="act-1")
BAD_JSON = "body is not valid JSON"
NOT_OBJECT = "body is not a JSON object"
NO_USER = "data event without user.user_id"
NOT_ARRAY = "`data` is not an array"
NO_SUMMARY = "activity record without metadata.summary_id"
PROBLEM1 = '"schema_problems":1'
OK0 = '"schema_problems":0'

# --- broken and truncated JSON -------------------------------------------
add("empty-body", 400, "", expect=BAD_JSON)
add("whitespace-only", 400, " \n\t \r\n", expect=BAD_JSON)
add("lone-open-brace", 400, "{", expect=BAD_JSON)
for cut in (1, 17, len(VALID) // 3, len(VALID) // 2, len(VALID) - 1):
    add(f"truncated-at-{cut}", 400, VALID[:cut], expect=BAD_JSON)
add("trailing-comma-object", 400, '{"type":"healthcheck",}', expect=BAD_JSON)
add("trailing-comma-array", 400, VALID.replace("}]}", "},]}"), expect=BAD_JSON)
add("single-quotes", 400, "{'type':'activity','data':[]}", expect=BAD_JSON)
add("unquoted-keys", 400, '{type:"activity"}', expect=BAD_JSON)
add("trailing-garbage", 400, VALID + "garbage", expect=BAD_JSON)
add("two-documents", 400, VALID + VALID, expect=BAD_JSON)
add("nan-literal", 400, VALID.replace("1200.5", "NaN"), expect=BAD_JSON)
add("infinity-literal", 400, VALID.replace("1200.5", "Infinity"), expect=BAD_JSON)
add("js-comment", 400, "// hello\n" + VALID, expect=BAD_JSON)
add("unterminated-string", 400, '{"type":"activity', expect=BAD_JSON)
add("raw-control-char", 400, VALID.replace('"Run"', '"R\x01un"'), expect=BAD_JSON)
add("raw-newline-in-string", 400, VALID.replace('"Run"', '"R\nun"'), expect=BAD_JSON)
add("bad-escape", 400, VALID.replace('"Run"', '"R\\qun"'), expect=BAD_JSON)
add("bad-unicode-escape", 400, VALID.replace('"Run"', '"R\\uZZZZun"'), expect=BAD_JSON)
add("leading-zero-number", 400, VALID.replace("1200.5", "01200.5"), expect=BAD_JSON)
add("plus-sign-number", 400, VALID.replace("1200.5", "+1200.5"), expect=BAD_JSON)
add("hex-number", 400, VALID.replace("1200.5", "0x4b0"), expect=BAD_JSON)
add("top-level-null", 400, "null", expect=NOT_OBJECT)
add("top-level-array", 400, "[" + VALID + "]", expect=NOT_OBJECT)
add("top-level-string", 400, '"activity"', expect=NOT_OBJECT)
add("top-level-number", 400, "42", expect=NOT_OBJECT)
add("top-level-true", 400, "true", expect=NOT_OBJECT)
add("empty-object", 400, "{}", expect="body has no `type`")

# --- deep nesting ----------------------------------------------------------
add("nested-arrays-10000", 400, None, expect=BAD_JSON, gen="nested_arrays_10000")
add("nested-objects-10000-in-record", 400, None, expect=BAD_JSON, gen="nested_objects_10000_in_record")
# Under simdjson's depth limit (1024) but past protobuf's JSON recursion limit:
# kept raw; an unknown key is not a schema problem, a known one is.
add("nested-arrays-900-unknown-field", 200, None, expect='"stored":1', gen="nested_arrays_900_unknown_field")
add("nested-arrays-900-in-metadata-name", 200, None, expect=PROBLEM1, gen="nested_arrays_900_in_metadata_name")

# --- huge and odd numbers --------------------------------------------------
# Valid JSON (RFC 8259 has no number range): one odd number in one record is
# schema drift, not an unusable envelope. These four fail today: simdjson's
# DOM parser refuses numbers beyond double / 64-bit range, and the whole
# webhook gets a 400 (Terra retries, then drops every record in it).
add("number-1e400", 200, VALID.replace("1200.5", "1e400"), expect='"status":"ok"')
add("number-1e308", 200, VALID.replace("1200.5", "1e308"), expect=OK0)
add("number-tiny-denormal", 200, VALID.replace("1200.5", "4.9e-324"), expect=OK0)
add("number-negative-zero", 200, VALID.replace("1200.5", "-0.0"), expect=OK0)
add("number-huge-integer-in-double", 200,
    VALID.replace("1200.5", "123456789012345678901234567890"), expect='"status":"ok"')
add("enum-2pow64", 200, VALID.replace('"type": 8', '"type": 18446744073709551616'), expect=PROBLEM1)
add("enum-negative", 200, VALID.replace('"upload_type": 1', '"upload_type": -1'), expect=PROBLEM1)
add("enum-fraction", 200, VALID.replace('"type": 8', '"type": 8.5'), expect=PROBLEM1)
add("enum-unknown-value", 200, VALID.replace('"type": 8', '"type": 99999'), expect=PROBLEM1)
add("enum-int32-overflow", 200, VALID.replace('"type": 8', '"type": 2147483648'), expect=PROBLEM1)
add("number-long-mantissa", 200, VALID.replace("1200.5", "1." + "1" * 5000), expect=OK0)
add("summary-id-huge-number", 400, activity(summary_id=None).replace("null", "99999999999999999999999"),
    expect=NO_SUMMARY)

# --- wrong types for every field kind (record fields: schema drift, 200) ----
md = {"summary_id": "act-1", "name": "Run", "type": 8, "start_time": "2026-07-01T07:04:11.000000+01:00"}
for label, value in (("number", 12), ("bool", True), ("object", {"a": 1}), ("array", ["Run"])):
    m = dict(md, name=value)
    add(f"string-field-gets-{label}", 200, activity(metadata=m), expect=PROBLEM1)
for label, value in (("string", "n/a"), ("bool", False), ("object", {"kj": 1}), ("array", [1, 2])):
    add(f"number-field-gets-{label}", 200,
        activity({"energy_data": {"energy_kilojoules": value}}), expect=PROBLEM1)
add("number-field-gets-numeric-string", 200,
    activity({"energy_data": {"energy_kilojoules": "1200.5"}}), expect=OK0)
for label, value in (("string", "GARMIN"), ("number", 7), ("bool", True), ("array", [{"summary": {}}])):
    add(f"object-field-gets-{label}", 200, activity({"distance_data": value}), expect=PROBLEM1)
# protobuf's JSON parser takes a lone object as a one-element list: kept typed, not flagged.
add("array-field-gets-object", 200,
    activity({"heart_rate_data": {"detailed": {"hr_samples": {"timestamp": "x", "bpm": 1}}}}),
    expect='"status":"ok"')
for label, value in (("string", "[]"), ("number", 3), ("bool", True)):
    add(f"array-field-gets-{label}", 200,
        activity({"heart_rate_data": {"detailed": {"hr_samples": value}}}), expect=PROBLEM1)
add("array-element-wrong-type", 200,
    activity({"heart_rate_data": {"detailed": {"hr_samples": [1, "two", None]}}}), expect=PROBLEM1)
# protobuf's JSON parser reads "yes"/"no"/"true"/"1"... as a bool: kept typed, not flagged.
add("bool-field-gets-yes-string", 200, activity(user=dict(USER, active="yes")), expect=OK0)
for label, value in (("string", "maybe"), ("number", 1), ("object", {}), ("array", [True])):
    u = dict(USER, active=value)
    add(f"bool-field-gets-{label}", 200, activity(user=u), expect=PROBLEM1)
# An enum name protobuf does not know ("running") is dropped from the typed
# message without a word when unknown fields are ignored: it must still be
# flagged as a problem (raw_json keeps it). Fails today (see the report).
for label, value in (("string", "running"), ("bool", True), ("object", {"id": 8})):
    m = dict(md, type=value)
    add(f"enum-field-gets-{label}", 200, activity(metadata=m), expect=PROBLEM1)
add("user-scopes-as-array", 200, activity(user=dict(USER, scopes=["sleep", "daily"])), expect=PROBLEM1)
add("user-provider-as-number", 200, activity(user=dict(USER, provider=3)), expect=PROBLEM1)
add("metadata-start-time-as-number", 200, activity(metadata=dict(md, start_time=20260701)),
    expect=PROBLEM1)

# --- null everywhere --------------------------------------------------------
add("null-optional-record-fields", 200,
    activity({"energy_data": None, "distance_data": None, "heart_rate_data": None,
              "cheat_detection": None}), expect=OK0)
add("null-metadata-members", 200,
    activity(metadata={"summary_id": "act-1", "name": None, "type": None, "upload_type": None,
                       "start_time": None, "end_time": None}), expect=OK0)
add("null-user-optional-members", 200,
    activity(user={"user_id": "hostile-user", "provider": None, "reference_id": None,
                   "scopes": None, "active": None}), expect=OK0)
add("null-version", 200, activity(version=None), expect=OK0)
add("null-type", 400, activity(type=None), expect="`type` is not a string")
add("null-user", 400, activity(user=None), expect=NO_USER)
add("null-user-id", 400, activity(user=dict(USER, user_id=None)), expect=NO_USER)
add("null-data", 400, activity(data=None), expect=NOT_ARRAY)
add("null-record", 400, activity(data=[None]), expect="data[0]: record is not a JSON object")
add("null-metadata", 400, activity({"metadata": None}), expect=NO_SUMMARY)
add("null-summary-id", 400, activity(summary_id=None), expect=NO_SUMMARY)
add("null-athlete", 400,
    json.dumps({"type": "athlete", "user": USER, "athlete": None}),
    expect="athlete event without an `athlete` object")

# --- missing envelope members and record keys --------------------------------
add("missing-type", 400, json.dumps({"user": USER, "data": []}), expect="body has no `type`")
add("missing-user", 400, json.dumps({"type": "sleep", "data": []}), expect=NO_USER)
add("missing-user-id", 400, activity(user={"provider": "GARMIN"}), expect=NO_USER)
add("empty-user-id", 400, activity(user=dict(USER, user_id="")), expect=NO_USER)
add("user-id-number", 400, activity(user=dict(USER, user_id=12345)), expect=NO_USER)
add("user-as-string", 400, activity(user="hostile-user"), expect=NO_USER)
add("user-as-array", 400, activity(user=[USER]), expect=NO_USER)
add("missing-data", 400, json.dumps({"type": "activity", "user": USER}),
    expect="data event without `data`")
add("data-as-object", 400, activity(data={"0": {}}), expect=NOT_ARRAY)
add("data-as-string", 400, activity(data="[]"), expect=NOT_ARRAY)
add("data-as-number", 400, activity(data=1), expect=NOT_ARRAY)
add("data-empty-array", 200, activity(data=[]), expect='"events":0')
add("record-as-string", 400, activity(data=["{}"]), expect="data[0]: record is not a JSON object")
add("record-as-array", 400, activity(data=[[]]), expect="data[0]: record is not a JSON object")
add("record-without-metadata", 400, activity(data=[{"energy_data": {}}]), expect=NO_SUMMARY)
add("metadata-as-array", 400, activity({"metadata": [md]}), expect=NO_SUMMARY)
add("empty-summary-id", 400, activity(summary_id=""), expect=NO_SUMMARY)
add("summary-id-object", 400, activity(metadata=dict(md, summary_id={"id": "x"})), expect=NO_SUMMARY)
add("second-record-without-key", 400,
    activity(data=[json.loads(VALID)["data"][0], {"metadata": {"name": "no id"}}]),
    expect="data[1]: activity record without metadata.summary_id")
add("body-bad-start-time", 400,
    json.dumps({"type": "body", "user": USER, "data": [{"metadata": {"start_time": "July 1st"}}]}),
    expect="body record has a bad metadata.start_time")
add("daily-missing-start-time", 400,
    json.dumps({"type": "daily", "user": USER, "data": [{"metadata": {"end_time": "2026-07-01"}}]}),
    expect="daily record without metadata.start_time")
add("sleep-without-any-key", 400,
    json.dumps({"type": "sleep", "user": USER, "data": [{"metadata": {"is_nap": True}}]}),
    expect="sleep record without metadata.summary_id or metadata.start_time")
add("sleep-start-time-fallback", 200,
    json.dumps({"type": "sleep", "user": USER,
                "data": [{"metadata": {"start_time": "2026-07-01T23:00:00.000000+02:00"}}]}),
    expect='"stored":1')
add("hormone-without-timestamp", 400,
    json.dumps({"type": "hormone", "user": USER, "data": [{"value": 1}]}),
    expect="hormone record without timestamp")
add("planned-workout-without-id", 400,
    json.dumps({"type": "planned_workout", "user": USER, "data": [{"name": "x"}]}),
    expect="planned_workout record without planned_workout_id")
add("athlete-missing", 400, json.dumps({"type": "athlete", "user": USER}),
    expect="athlete event without an `athlete` object")
add("athlete-as-string", 400, json.dumps({"type": "athlete", "user": USER, "athlete": "Ann"}),
    expect="athlete event without an `athlete` object")
add("athlete-without-user", 400, json.dumps({"type": "athlete", "athlete": {"first_name": "A"}}),
    expect="athlete event without user.user_id")

# --- type member -------------------------------------------------------------
add("type-number", 400, activity(type=1), expect="`type` is not a string")
add("type-array", 400, activity(type=["activity"]), expect="`type` is not a string")
add("type-object", 400, activity(type={"name": "activity"}), expect="`type` is not a string")
add("type-bool", 400, activity(type=True), expect="`type` is not a string")

# --- non-UTF-8 -----------------------------------------------------------------
v = VALID.encode()
add("latin1-byte", 400, v.replace(b'"Run"', b'"R\xe9sum\xe9"'), expect=BAD_JSON)
add("invalid-byte-ff", 400, v.replace(b'"Run"', b'"\xff\xfe"'), expect=BAD_JSON)
add("overlong-slash", 400, v.replace(b'"Run"', b'"\xc0\xaf"'), expect=BAD_JSON)
add("utf8-encoded-surrogate", 400, v.replace(b'"Run"', b'"\xed\xa0\x80"'), expect=BAD_JSON)
add("truncated-multibyte", 400, v.replace(b'"Run"', b'"\xe2\x82"'), expect=BAD_JSON)
add("invalid-byte-in-key", 400, v.replace(b'"name"', b'"na\x80me"'), expect=BAD_JSON)
add("invalid-byte-in-user-id", 400, v.replace(b'"hostile-user"', b'"hostile-\xf5user"'), expect=BAD_JSON)
add("raw-nul-byte", 400, v.replace(b'"Run"', b'"R\x00un"'), expect=BAD_JSON)
add("valid-multibyte-utf8", 200, activity(metadata=dict(md, name="Lauf \u00fcber Stock \u2603 \U0001f3c3 \u6668\u8dd1")),
    expect=OK0)
add("escaped-nul-in-name", 200, activity(metadata=dict(md, name="R\u0000un")), expect=OK0)
add("escaped-nul-in-summary-id", 200, activity(summary_id="act\u0000-nul"), expect='"stored":1')
add("escaped-nul-in-user-id", 200, activity(user=dict(USER, user_id="hostile\u0000user")), expect='"stored":1')

# --- duplicate keys -----------------------------------------------------------
# A member given twice in the envelope or on the way to a record key has no
# single meaning (simdjson reads the first, protobuf the last): 400, nothing
# stored (issue 10). Elsewhere the record is kept; see the end of the file.
DUP_ENV = "in the envelope"
add("duplicate-type", 400, VALID.replace('{"type": "activity"', '{"type": "activity", "type": "sleep"', 1),
    expect="duplicate key `type` in the envelope")
add("duplicate-type-second-bad", 400, VALID.replace('{"type": "activity"', '{"type": "activity", "type": 7', 1),
    expect="duplicate key `type` in the envelope")
add("duplicate-data-first-wins", 400,
    VALID[:-1] + ', "data": [{"metadata": {"summary_id": "act-dup-second"}}]}',
    expect="duplicate key `data` in the envelope")
add("duplicate-data-first-not-array", 400,
    VALID.replace('"data": [', '"data": "x", "data": [', 1), expect="duplicate key `data` in the envelope")
add("duplicate-user", 400, VALID.replace('"user": {', '"user": {"user_id": "dup-first"}, "user": {', 1),
    expect="duplicate key `user` in the envelope")
add("duplicate-summary-id", 400,
    VALID.replace('"summary_id": "act-1"', '"summary_id": "act-dupkey-a", "summary_id": "act-dupkey-b"'),
    expect="data[0]: activity record has a duplicate key `metadata.summary_id`")
add("same-key-twice-in-data", 200,
    activity(data=[json.loads(VALID)["data"][0], json.loads(VALID)["data"][0]]), expect='"events":2')

# --- unknown and odd types (acknowledged and kept) ------------------------------
add("unknown-type", 200, json.dumps({"type": "glucose_alert", "user": USER, "alert": {"level": 3}}),
    expect='"stored":1')
add("unknown-type-empty-string", 200, json.dumps({"type": "", "payload": 1}), expect='"events":1')
add("unknown-type-uppercase-healthcheck", 200, json.dumps({"type": "HEALTHCHECK"}), expect='"events":1')
add("unknown-type-10kb-name", 200, json.dumps({"type": "x" * 10000}), expect='"events":1')
add("unknown-type-unicode", 200, json.dumps({"type": "\u2603\U0001f3c3"}), expect='"events":1')
add("unknown-type-user-is-string", 200, json.dumps({"type": "future_event", "user": "u"}),
    expect='"events":1')
add("healthcheck-with-garbage", 200, json.dumps({"type": "healthcheck", "data": "x", "user": 5}),
    expect='"events":0')
add("auth-user-as-array", 200, json.dumps({"type": "auth", "status": "success", "user": [1]}),
    expect='"events":1')
add("user-reauth-new-user-string", 200,
    json.dumps({"type": "user_reauth", "new_user": "x", "old_user": None, "user": USER}),
    expect='"events":1')
add("deauth-without-user", 200, json.dumps({"type": "deauth"}), expect='"events":1')
add("s3-payload-garbage", 200, json.dumps({"type": "s3_payload", "url": 5, "expires_in": "soon"}),
    expect='"events":1')

# --- absurd `data` lengths ------------------------------------------------------
add("data-100000-tiny-records", 200, None, expect='"events":100000', gen="tiny_records_100000")
add("data-100000-records-last-without-key", 400, None,
    expect="data[99999]: activity record without metadata.summary_id", gen="tiny_records_100000_last_bad")
add("data-100000-empty-objects", 400, None, expect="data[0]: activity record without", gen="empty_records_100000")

# --- oversize (the test starts the server with --max_body_mb=8) -----------------
add("body-8mib-exactly", 200, None, expect='"stored":1', gen="padded_activity_8mib")
add("body-8mib-plus-1", 413, None, expect="request body larger than 8388608 bytes", gen="padded_activity_8mib_plus_1")
add("body-20mib", 413, None, expect="request body larger than", gen="padded_activity_20mib")
add("huge-string-1mib-user-id", 200, None, expect='"stored":1', gen="user_id_1mib")

# --- signatures (valid body, hostile header) ------------------------------------
SIG_CASES = [
    ("sig-absent", 401, "none", "missing terra-signature header"),
    ("sig-empty", 401, "empty", "missing terra-signature header"),
    ("sig-whitespace", 401, "whitespace", "missing terra-signature header"),
    ("sig-wrong-secret", 401, "wrong_secret", "signature does not match any configured secret"),
    ("sig-expired-48h", 401, "expired", "signature timestamp outside the allowed window"),
    ("sig-future-48h", 401, "future", "signature timestamp outside the allowed window"),
    ("sig-garbled-digit", 401, "garbled", "signature does not match any configured secret"),
    ("sig-other-t", 401, "other_t", "signature does not match any configured secret"),
    ("sig-signed-other-body", 401, "other_body", "signature does not match any configured secret"),
    ("sig-signed-reserialized-body", 401, "reserialized_body", "signature does not match any configured secret"),
    ("sig-v1-short", 401, "short_v1", "malformed terra-signature header: v1 must be 64 hex digits"),
    ("sig-v1-not-hex", 401, "not_hex", "malformed terra-signature header: v1 is not hex"),
    ("sig-no-t", 401, "no_t", "malformed terra-signature header: no t="),
    ("sig-no-v1", 401, "no_v1", "malformed terra-signature header: no v1 signature"),
    ("sig-v0-only", 401, "v0_only", "malformed terra-signature header: no v1 signature"),
    ("sig-t-not-number", 401, "t_not_number", "malformed terra-signature header: t is not a unix time"),
    ("sig-t-negative", 401, "t_negative", "malformed terra-signature header: t is not a unix time"),
    ("sig-t-19-digits", 401, "t_huge", "malformed terra-signature header: t is not a unix time"),
    ("sig-two-t", 401, "two_t", "malformed terra-signature header: more than one t"),
    ("sig-part-without-equals", 401, "no_equals", "malformed terra-signature header: a part without"),
    ("sig-garbage", 401, "garbage", "malformed terra-signature header"),
    ("sig-binary-garbage", 401, "binary", "malformed terra-signature header"),
    ("sig-bad-in-terra-signature-good-in-x", 401, "bad_primary_good_alternate",
     "signature does not match any configured secret"),
    ("sig-header-too-large", 431, "huge_header", "request header too large"),
    ("sig-uppercase-hex", 200, "uppercase", '"status":"ok"'),
    ("sig-extra-v1-and-v0", 200, "extra_parts", '"status":"ok"'),
    ("sig-whitespace-around-parts", 200, "spaced", '"status":"ok"'),
    ("sig-x-terra-signature-only", 200, "alternate_header", '"status":"ok"'),
    ("sig-50-v1-one-good", 200, "many_v1", '"status":"ok"'),
]
for i, (name, status, mode, expect) in enumerate(SIG_CASES):
    # Distinct summary ids so each accepted one stores something new.
    add(name, status, activity(summary_id=f"sig-{i}"), sig=mode, expect=expect)
# Signature is checked before the body is looked at.
add("sig-wrong-secret-on-broken-json", 401, "{not json", sig="wrong_secret",
    expect="signature does not match any configured secret")
add("sig-absent-on-oversize-is-413", 413, None, sig="none", expect="request body larger than",
    gen="padded_activity_8mib_plus_1")

# --- issue 10: escaped member names, duplicates, numbers beyond a double --------
# (Appended here so the numbers of the cases above stay as they were.)
# An escaped name means what it unescapes to, everywhere (simdjson, protobuf
# and the byte slicer agree): never a 5xx.
add("escaped-key-data", 200, activity(summary_id="act-esc-data").replace('"data":', '"d\\u0061ta":', 1),
    expect='"stored":1')
add("escaped-key-athlete", 200,
    json.dumps({"type": "athlete", "user": USER, "athlete": {"first_name": "Esc"}}).replace(
        '"athlete": {', '"\\u0061thlete": {', 1), expect='"stored":1')
add("escaped-key-type-and-user", 200,
    activity(summary_id="act-esc-type").replace('"type": "activity"', '"\\u0074ype": "activity"', 1)
    .replace('"user_id":', '"user_\\u0069d":', 1), expect='"stored":1')
add("escaped-key-summary-id", 200,
    activity(summary_id="act-esc-sid").replace('"summary_id":', '"summary\\u005fid":', 1), expect='"stored":1')
add("escaped-key-typed-field", 200,
    activity(summary_id="act-esc-name").replace('"name":', '"n\\u0061me":', 1), expect=OK0)
# The same member twice, once escaped: still a duplicate.
add("duplicate-data-one-escaped", 400,
    VALID[:-1] + ', "d\\u0061ta": [{"metadata": {"summary_id": "act-dup-esc"}}]}',
    expect="duplicate key `data` in the envelope")
add("duplicate-summary-id-one-escaped", 400,
    VALID.replace('"summary_id": "act-1"', '"summary_id": "act-dupesc-a", "summary\\u005fid": "act-dupesc-b"'),
    expect="data[0]: activity record has a duplicate key `metadata.summary_id`")
add("duplicate-metadata", 400,
    activity(summary_id="act-dup-md").replace('"energy_data":', '"metadata": {"summary_id": "act-dup-md2"}, "energy_data":', 1),
    expect="data[0]: activity record has a duplicate key `metadata`")
add("duplicate-start-time", 400,
    activity(summary_id="act-dup-st").replace('"start_time":', '"start_time": "2026-07-02T00:00:00Z", "start_time":', 1),
    expect="data[0]: activity record has a duplicate key `metadata.start_time`")
add("duplicate-user-id", 400,
    activity(summary_id="act-dup-uid").replace('"user_id": "hostile-user"', '"user_id": "a", "user_id": "hostile-user"', 1),
    expect="data event has a duplicate key `user.user_id`")
add("duplicate-envelope-key-on-unknown-type", 400, '{"type": "glucose_alert", "level": 1, "level": 2}',
    expect="duplicate key `level` in the envelope")
# Elsewhere a duplicate is schema business: kept (raw has both), typed as
# protobuf reads it (the last one).
add("duplicate-typed-field-kept", 200,
    activity(summary_id="act-dup-name").replace('"name": "Run"', '"name": "Walk", "name": "Run"', 1), expect=OK0)
# Numbers beyond a double, integer or not: kept raw and flagged, never refused.
add("number-400-digit-integer", 200, activity(summary_id="act-400d").replace("1200.5", "9" * 400),
    expect=PROBLEM1)
add("number-1e400-flagged", 200, activity(summary_id="act-1e400").replace("1200.5", "1e400"), expect=PROBLEM1)
add("number-400-digit-negative-integer", 200,
    activity(summary_id="act-400dn").replace("1200.5", "-" + "9" * 400), expect=PROBLEM1)
add("number-400-digit-integer-unknown-field", 200,
    activity({"future_field": int("9" * 400)}, summary_id="act-400du"), expect=OK0)
add("number-400-digit-integer-and-1e400-and-denormal", 200,
    activity({"energy_data": {"energy_kilojoules": 4.9e-324}}, summary_id="act-mix")
    .replace('"upload_type": 1', '"upload_type": 1, "future": [' + "9" * 400 + ', 1e400]', 1), expect=OK0)

with open(os.path.join(HERE, "cases.tsv"), "w") as f:
    f.write("# Generated by make_corpus.py; see its docstring for the columns.\n")
    f.write("# name\tstatus\tsig\tbody\texpect\n")
    for row in cases:
        f.write("\t".join(row) + "\n")
print(f"{len(cases)} cases")
