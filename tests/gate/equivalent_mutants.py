"""Surviving mutants (``nox -s mutants``, mutmut) that cannot change behaviour, each with the reason.

The mutation score is killed / (all - equivalent): a row here takes its mutant out of the denominator on every entry
where it survives. A row matches a survivor by mutmut's function name and the changed line(s) (stripped, the
removed ones then the added ones), never by mutmut's number, which shifts whenever the function is edited: an edit
of the line brings the mutant back as a survivor, to be looked at again. ``reports/mutants.md`` lists rows that no
longer match anything. Adding a row is a claim that no test could ever kill the mutant: if one could, write the
test instead.
"""

# ruff: noqa: E501  (rows quote source lines as they are)
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Equivalent:
    #: mutmut's function name: ``module.x_function`` or ``module.xǁClassǁmethod``.
    function: str
    before: str
    after: str
    why: str


@dataclass(frozen=True)
class SeenOnlyOn:
    """A function whose effect only the entries with ``word`` in their id can observe: on the others its survivors
    count "elsewhere", scored where the effect shows (only when the run has such an entry)."""

    function: str
    #: A word of the entry id: ``pd3`` (pandas 3), ``af2`` is no word of it (ids read ``af2.10.5-py3.11-pd3``).
    word: str
    why: str


SEEN_ONLY_ON = [
    SeenOnlyOn(
        "xcom_s3.frame_rebuild.x__finish_text",
        "pd3",
        "pandas 3 reads text as str, which it turns back into object; under pandas 2 pyarrow gives object text "
        "with None for nulls already, and the one change left there (NaN, NA or NaT as the missing value) takes "
        "the same _with_nulls path on pandas 3: whatever a pandas 2 entry could see, a pandas 3 entry sees too",
    ),
    SeenOnlyOn(
        "xcom_s3.frame_rebuild.x__column_axis",
        "pd3",
        "it turns the column axis pandas 3 reads as str back into the recorded dtype; under pandas 2 pyarrow "
        "restores every numpy or string axis dtype itself from its pandas metadata (int32, uint8, float32, "
        "datetime64[s], object, string, Int64 checked on pandas 2.3 with pyarrow 26), so there a mutant changes nothing",
    ),
    SeenOnlyOn(
        "xcom_s3.frame_legacy.x__restore_object_dtypes",
        "pd3",
        "it turns the str columns pandas 3 reads from Parquet back into object; pandas 2 reads them as object "
        "already, so on a pandas 2 entry the function changes nothing, mutated or not",
    ),
]


EQUIVALENT = [
    Equivalent(
        "xcom_s3.failures.x_translate",
        'said = str(response_of(exc).get("Error", {}).get("Message") or "")',
        'said = str(response_of(exc).get("Error", {}).get("Message") or "XXXX")',
        "said is quoted only in the branch its 'kms:' sends to, so it is never empty there: an absent message "
        "reads as text without 'kms:' either way",
    ),
    Equivalent(
        "xcom_s3.failures.x_translate",
        "f\"{env_name('kms_key_id')} names, or on the bucket's default key.\"",
        "f\"{env_name('KMS_KEY_ID')} names, or on the bucket's default key.\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        "if every <= {text_type, type(None)}:",
        "if every < {text_type, type(None)}:",
        "with exactly str (bytes) and None the general path below gives the same descriptor: the one kind None, and text",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        'return {"object": "None" if type(None) in every else None, "values": "text"}',
        'return {"object": "XXNoneXX" if type(None) in every else None, "values": "text"}',
        'the layout\'s missing-value kind is read only through null_value() and `in (None, "None")`, which give None for None, "None" and any name they do not know: a text column\'s missing values come back as None either way',
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        'return {"object": "None" if type(None) in every else None, "values": "text"}',
        'return {"object": "none" if type(None) in every else None, "values": "text"}',
        'the layout\'s missing-value kind is read only through null_value() and `in (None, "None")`, which give None for None, "None" and any name they do not know: a text column\'s missing values come back as None either way',
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        'return {"object": "None" if type(None) in every else None, "values": "text"}',
        'return {"object": "NONE" if type(None) in every else None, "values": "text"}',
        'the layout\'s missing-value kind is read only through null_value() and `in (None, "None")`, which give None for None, "None" and any name they do not know: a text column\'s missing values come back as None either way',
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        'return {"object": "None" if type(None) in every else None, "values": "text"}',
        'return {"object": "None" if type(None) not in every else None, "values": "text"}',
        'the layout\'s missing-value kind is read only through null_value() and `in (None, "None")`, which give None for None, "None" and any name they do not know: a text column\'s missing values come back as None either way',
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        "text = present <= {str} or present <= {bytes}  # numpy's str_ is not str: it goes the checked way",
        "text = None  # numpy's str_ is not str: it goes the checked way",
        "a str (or bytes) column described as Python values is read through the decoder checked against every value as it is written, which gives the same str (bytes) objects back: the text path only skips that check",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        "text = present <= {str} or present <= {bytes}  # numpy's str_ is not str: it goes the checked way",
        "text = present <= {str} and present <= {bytes}  # numpy's str_ is not str: it goes the checked way",
        "a str (or bytes) column described as Python values is read through the decoder checked against every value as it is written, which gives the same str (bytes) objects back: the text path only skips that check",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        "text = present <= {str} or present <= {bytes}  # numpy's str_ is not str: it goes the checked way",
        "text = present < {str} or present <= {bytes}  # numpy's str_ is not str: it goes the checked way",
        "a str (or bytes) column described as Python values is read through the decoder checked against every value as it is written, which gives the same str (bytes) objects back: the text path only skips that check",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_object",
        "text = present <= {str} or present <= {bytes}  # numpy's str_ is not str: it goes the checked way",
        "text = present <= {str} or present < {bytes}  # numpy's str_ is not str: it goes the checked way",
        "a str (or bytes) column described as Python values is read through the decoder checked against every value as it is written, which gives the same str (bytes) objects back: the text path only skips that check",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__from_arrow",
        "if type(values) is not wanted:  # pandas 2.3's str (python, NaN) gives a StringArray, not its own class",
        "if type(None) is not wanted:  # pandas 2.3's str (python, NaN) gives a StringArray, not its own class",
        "an array already of its dtype's own class, passed through that class's _from_sequence with that dtype, "
        "comes back as the same values of the same dtype (a copy): the check only saves the copy",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__finish",
        'if values.dtype.unit == descriptor["unit"] and repr(values.dtype.tz) == repr(tz):',
        'if values.dtype.unit == descriptor["unit"] and repr(None) == repr(tz):',
        "the early return only skips a conversion: as_unit to the unit the column has and tz_convert to the zone "
        "decode_tz gives change no instant, and leave the recorded zone (the object the return would have kept "
        "has its repr: the same class, and zoneinfo, timezone.utc and pendulum's zones are cached instances)",
    ),
    Equivalent(
        "xcom_s3.keys.x__digest",
        'return DIGEST_MARK + hashlib.sha256(part.encode("utf-8")).hexdigest()',
        'return DIGEST_MARK + hashlib.sha256(part.encode("UTF-8")).hexdigest()',
        "codec names are case-insensitive: the same encoder",
    ),
    Equivalent(
        "xcom_s3.gc.x__as_text",
        'return bytes(raw).decode("utf-8", errors="replace")',
        'return bytes(raw).decode(errors="replace")',
        "UTF-8 is bytes.decode's default encoding",
    ),
    Equivalent(
        "xcom_s3.gc.x__as_text",
        'return bytes(raw).decode("utf-8", errors="replace")',
        'return bytes(raw).decode("UTF-8", errors="replace")',
        "codec names are case-insensitive: the same decoder",
    ),
    Equivalent(
        "xcom_s3.gc.x_stored_values",
        "for (value,) in session.execute(text(sql)).yield_per(1000):",
        "for (value,) in session.execute(text(sql)).yield_per(1001):",
        "yield_per sets how many rows SQLAlchemy fetches at a time, not which rows",
    ),
    Equivalent(
        "xcom_s3.gc.x__delete",
        'request = {"Objects": [{"Key": key} for key in batch], "Quiet": True}',
        'request = {"Objects": [{"Key": key} for key in batch], "Quiet": False}',
        "Quiet only drops the Deleted entries from S3's answer; gc reads only its Errors",
    ),
    Equivalent(
        "xcom_s3.gc.x__s3",
        'code = failures.error_code(cause)[0] if isinstance(cause, Exception) else ""',
        'code = failures.error_code(cause)[0] if isinstance(cause, Exception) else "XXXX"',
        "either default is no denied code, so the same branch (re-raise the StorageError) runs; the code is shown "
        "only in the denied branch",
    ),
    Equivalent(
        "xcom_s3.xcom_table.x_rows_select",
        'return " UNION ALL ".join(parts)',
        'return " union all ".join(parts)',
        "SQL keywords are case-insensitive",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="xcom-s3-upload")',
        "self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix=None)",
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="xcom-s3-upload")',
        "self._uploads = ThreadPoolExecutor(self._concurrency, )",
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="xcom-s3-upload")',
        'self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="XXxcom-s3-uploadXX")',
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="xcom-s3-upload")',
        'self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="XCOM-S3-UPLOAD")',
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._hasher = ThreadPoolExecutor(1, thread_name_prefix="xcom-s3-hash")  # one thread: parts in order',
        "self._hasher = ThreadPoolExecutor(1, thread_name_prefix=None)  # one thread: parts in order",
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._hasher = ThreadPoolExecutor(1, thread_name_prefix="xcom-s3-hash")  # one thread: parts in order',
        "self._hasher = ThreadPoolExecutor(1, )  # one thread: parts in order",
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._hasher = ThreadPoolExecutor(1, thread_name_prefix="xcom-s3-hash")  # one thread: parts in order',
        'self._hasher = ThreadPoolExecutor(1, thread_name_prefix="XXxcom-s3-hashXX")  # one thread: parts in order',
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._hasher = ThreadPoolExecutor(1, thread_name_prefix="xcom-s3-hash")  # one thread: parts in order',
        'self._hasher = ThreadPoolExecutor(1, thread_name_prefix="XCOM-S3-HASH")  # one thread: parts in order',
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="xcom-s3-upload")',
        'self._uploads = ThreadPoolExecutor(None, thread_name_prefix="xcom-s3-upload")',
        "the slots (a semaphore of `concurrency`) bound the parts in flight, not the pool's size",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship",
        'self._uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="xcom-s3-upload")',
        'self._uploads = ThreadPoolExecutor(thread_name_prefix="xcom-s3-upload")',
        "the slots (a semaphore of `concurrency`) bound the parts in flight, not the pool's size",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        'with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="xcom-s3-download") as pool:',
        "with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix=None) as pool:",
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        'with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="xcom-s3-download") as pool:',
        "with ThreadPoolExecutor(RANGE_CONCURRENCY, ) as pool:",
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        'with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="xcom-s3-download") as pool:',
        'with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="XXxcom-s3-downloadXX") as pool:',
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        'with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="xcom-s3-download") as pool:',
        'with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="XCOM-S3-DOWNLOAD") as pool:',
        "a thread's name",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        'with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="xcom-s3-download") as pool:',
        'with ThreadPoolExecutor(None, thread_name_prefix="xcom-s3-download") as pool:',
        "_ranges makes at most RANGE_CONCURRENCY ranges: a larger pool runs the same requests",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        'with ThreadPoolExecutor(RANGE_CONCURRENCY, thread_name_prefix="xcom-s3-download") as pool:',
        'with ThreadPoolExecutor(thread_name_prefix="xcom-s3-download") as pool:',
        "_ranges makes at most RANGE_CONCURRENCY ranges: a larger pool runs the same requests",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        "for (a, b), future in zip(ranges, futures, strict=True):",
        "for (a, b), future in zip(ranges, futures, strict=None):",
        "ranges and futures come from one list: equal lengths, so strict never raises",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        "for (a, b), future in zip(ranges, futures, strict=True):",
        "for (a, b), future in zip(ranges, futures, ):",
        "ranges and futures come from one list: equal lengths, so strict never raises",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        "for (a, b), future in zip(ranges, futures, strict=True):",
        "for (a, b), future in zip(ranges, futures, strict=False):",
        "ranges and futures come from one list: equal lengths, so strict never raises",
    ),
    Equivalent(
        "xcom_s3.transfer.x__fetch_ranges",
        'response = client.get_object(Bucket=settings.bucket, Key=key, Range=f"bytes={start}-{stop - 1}")',
        'response = client.get_object(Bucket=settings.bucket, Key=key, Range=f"bytes={start}-{stop + 1}")',
        "_read_into copies only up to stop: the two bytes more that the range asks for are never read",
    ),
    Equivalent(
        "xcom_s3.transfer.x__ranges",
        "step = max(RANGE_SIZE, -(-size // RANGE_CONCURRENCY))",
        "step = max(RANGE_SIZE, +(-size // RANGE_CONCURRENCY))",
        "a negative step loses to RANGE_SIZE in max(): more, smaller ranges of the same bytes",
    ),
    Equivalent(
        "xcom_s3.transfer.x__ranges",
        "step = max(RANGE_SIZE, -(-size // RANGE_CONCURRENCY))",
        "step = max(RANGE_SIZE, -(+size // RANGE_CONCURRENCY))",
        "a negative step loses to RANGE_SIZE in max(): more, smaller ranges of the same bytes",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_ship_buffer",
        "while len(view) - start >= self._current_part_size():",
        "while len(view) - start > self._current_part_size():",
        "a buffer of exactly one part waits for the next write or the finish: the same bytes in the same object",
    ),
    Equivalent(
        "xcom_s3.failures.x_translate",
        "f\"`xcom-s3 gc`), a bucket lifecycle rule expired it, or {env_name('bucket')} / \"",
        "f\"`xcom-s3 gc`), a bucket lifecycle rule expired it, or {env_name('BUCKET')} / \"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_translate",
        "f\"{env_name('bucket')}.\"",
        "f\"{env_name('BUCKET')}.\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_gave_up",
        "f\"Check that the endpoint is reachable and healthy from this worker ({env_name('endpoint_url')}); \"",
        "f\"Check that the endpoint is reachable and healthy from this worker ({env_name('ENDPOINT_URL')}); \"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_gave_up",
        "f\"{env_name('max_attempts')}, {env_name('connect_timeout')} and {env_name('read_timeout')} bound the retries.\"",
        "f\"{env_name('MAX_ATTEMPTS')}, {env_name('connect_timeout')} and {env_name('read_timeout')} bound the retries.\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_gave_up",
        "f\"{env_name('max_attempts')}, {env_name('connect_timeout')} and {env_name('read_timeout')} bound the retries.\"",
        "f\"{env_name('max_attempts')}, {env_name('CONNECT_TIMEOUT')} and {env_name('read_timeout')} bound the retries.\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_gave_up",
        "f\"{env_name('max_attempts')}, {env_name('connect_timeout')} and {env_name('read_timeout')} bound the retries.\"",
        "f\"{env_name('max_attempts')}, {env_name('connect_timeout')} and {env_name('READ_TIMEOUT')} bound the retries.\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_compat.x_xcom_pickling_enabled",
        'return bool(conf.getboolean("core", "enable_xcom_pickling", fallback=False))',
        'return bool(conf.getboolean("core", "enable_xcom_pickling", fallback=None))',
        "Airflow 2's default config always holds [core] enable_xcom_pickling: the fallback is never read",
    ),
    Equivalent(
        "xcom_compat.x_xcom_pickling_enabled",
        'return bool(conf.getboolean("core", "enable_xcom_pickling", fallback=False))',
        'return bool(conf.getboolean("core", "enable_xcom_pickling", ))',
        "Airflow 2's default config always holds [core] enable_xcom_pickling: the fallback is never read",
    ),
    Equivalent(
        "xcom_compat.x_xcom_pickling_enabled",
        'return bool(conf.getboolean("core", "enable_xcom_pickling", fallback=False))',
        'return bool(conf.getboolean("core", "enable_xcom_pickling", fallback=True))',
        "Airflow 2's default config always holds [core] enable_xcom_pickling: the fallback is never read",
    ),
    Equivalent(
        "xcom_compat.x_xcom_pickling_enabled",
        'return bool(conf.getboolean("core", "enable_xcom_pickling", fallback=False))',
        'return bool(conf.getboolean("CORE", "enable_xcom_pickling", fallback=False))',
        "Airflow's config reads section and option names case-insensitively",
    ),
    Equivalent(
        "xcom_compat.x_xcom_pickling_enabled",
        'return bool(conf.getboolean("core", "enable_xcom_pickling", fallback=False))',
        'return bool(conf.getboolean("core", "ENABLE_XCOM_PICKLING", fallback=False))',
        "Airflow's config reads section and option names case-insensitively",
    ),
    Equivalent(
        "xcom_compat.x__base_version",
        'numbers = [int(part) for part in re.findall(r"\\d+", version.split("+")[0])[:3]]',
        'numbers = [int(part) for part in re.findall(r"\\d+", version.split("+")[0])[:4]]',
        "a fourth number is never read: only numbers[0:3] are returned",
    ),
    Equivalent(
        "xcom_compat.x__base_version",
        "numbers += [0] * (3 - len(numbers))",
        "numbers += [0] * (4 - len(numbers))",
        "a fourth number is never read: only numbers[0:3] are returned",
    ),
    Equivalent(
        "xcom_compat.x__base_version",
        "numbers += [0] * (3 - len(numbers))",
        "numbers += [0] * (3 + len(numbers))",
        "extra zeros are never read: only numbers[0:3] are returned",
    ),
    Equivalent(
        "xcom_compat.x__json_text",
        'return json.dumps(stored, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")',
        'return json.dumps(stored, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("UTF-8")',
        "codec names are case-insensitive: the same encoder",
    ),
    Equivalent(
        "xcom_compat.x__json_text",
        'return json.dumps(stored, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")',
        'return json.dumps(stored, separators=(",", ":"), ensure_ascii=None, allow_nan=False).encode("utf-8")',
        "json.dumps tests ensure_ascii for truth: None is False",
    ),
    Equivalent(
        "xcom_compat.x__json_text",
        'return json.dumps(stored, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")',
        'return json.dumps(stored, separators=(",", ":"), ensure_ascii=False, allow_nan=None).encode("utf-8")',
        "json.dumps tests allow_nan for truth: None is False",
    ),
    Equivalent(
        "xcom_compat.x__encode_stored",
        'return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")',
        'return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("UTF-8")',
        "codec names are case-insensitive: the same encoder",
    ),
    Equivalent(
        "xcom_compat.x__encode_stored",
        'return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")',
        'return json.dumps(obj, separators=(",", ":"), ensure_ascii=None).encode("utf-8")',
        "json.dumps tests ensure_ascii for truth: None is False",
    ),
    Equivalent(
        "xcom_compat.x__encode_stored",
        'return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")',
        'return json.dumps(obj, separators=None, ensure_ascii=False).encode("utf-8")',
        "separators only add whitespace: the stored JSON decodes to the same object",
    ),
    Equivalent(
        "xcom_compat.x__encode_stored",
        'return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")',
        'return json.dumps(obj, ensure_ascii=False).encode("utf-8")',
        "separators only add whitespace: the stored JSON decodes to the same object",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x_null_value",
        'missing: dict[str | None, Any] = {"nan": float("nan"), "NA": pd.NA, "NaT": pd.NaT}',
        'missing: dict[str | None, Any] = {"nan": float("NAN"), "NA": pd.NA, "NaT": pd.NaT}',
        "float() parses nan case-insensitively: the same float NaN",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x_culprit",
        'probe = pd.DataFrame({"v": range(len(values))}, index=pd.Index(values, dtype=values.dtype))',
        'probe = pd.DataFrame({"XXvXX": range(len(values))}, index=pd.Index(values, dtype=values.dtype))',
        "the probe's one column only stands beside the index level tried alone: any str label does, and a level "
        "named like the column round-trips too (index names are checked only against each other)",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x_culprit",
        'probe = pd.DataFrame({"v": range(len(values))}, index=pd.Index(values, dtype=values.dtype))',
        'probe = pd.DataFrame({"V": range(len(values))}, index=pd.Index(values, dtype=values.dtype))',
        "the probe's one column only stands beside the index level tried alone: any str label does, and a level "
        "named like the column round-trips too (index names are checked only against each other)",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__write",
        "sink, schema, compression=codec, use_dictionary=use_dictionary, use_compliant_nested_type=False",
        "sink, schema, compression=codec, use_dictionary=use_dictionary, use_compliant_nested_type=None",
        "pyarrow reads the flag for its truth: None is False",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__write",
        "writer.write_table(part, row_group_size=max(part.num_rows, 1))",
        "writer.write_table(part, row_group_size=max(part.num_rows, 2))",
        "a part is one row group whatever the cap above its rows: only a part of 0 or 1 rows meets the floor",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__slice_rows",
        "if rows <= frames.MIN_SLICE_ROWS:",
        "if rows < frames.MIN_SLICE_ROWS:",
        "at exactly MIN_SLICE_ROWS rows the estimate gives at least MIN_SLICE_ROWS too: one slice either way",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__slice_rows",
        "return max(rows, 1)",
        "return max(rows, 2)",
        "a slice of 2 rows of a table of 0 or 1 rows is the same one slice",
    ),
    Equivalent(
        "xcom_s3.failures.x_damaged",
        "on = f\" on its only read ({env_name('max_attempts')}=1)\"",
        "on = f\" on its only read ({env_name('MAX_ATTEMPTS')}=1)\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_translate",
        "f\"name ({env_name('bucket')}) and the key prefix ({env_name('prefix')}).\"",
        "f\"name ({env_name('BUCKET')}) and the key prefix ({env_name('prefix')}).\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_translate",
        "f\"name ({env_name('bucket')}) and the key prefix ({env_name('prefix')}).\"",
        "f\"name ({env_name('bucket')}) and the key prefix ({env_name('PREFIX')}).\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_translate",
        "f\"{env_name('endpoint_url')} point at another store than the one that wrote it.\"",
        "f\"{env_name('ENDPOINT_URL')} point at another store than the one that wrote it.\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_translate",
        "f\"{env_name('kms_key_id')} and the worker's kms:GenerateDataKey/kms:Decrypt permissions.\"",
        "f\"{env_name('KMS_KEY_ID')} and the worker's kms:GenerateDataKey/kms:Decrypt permissions.\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_translate",
        "f\"({env_name('endpoint_url')}) and the network allows it.\"",
        "f\"({env_name('ENDPOINT_URL')}) and the network allows it.\"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.failures.x_gave_up",
        "f\"{problem}. Check that the endpoint is reachable and healthy from this worker ({env_name('endpoint_url')}); \"",
        "f\"{problem}. Check that the endpoint is reachable and healthy from this worker ({env_name('ENDPOINT_URL')}); \"",
        "env_name() upper-cases its key",
    ),
    Equivalent(
        "xcom_s3.codecs.x_decompress",
        'return bytes(pa.decompress(data, decompressed_size=raw_size, codec="zstd"))',
        'return bytes(pa.decompress(data, decompressed_size=raw_size, codec="ZSTD"))',
        "pyarrow reads codec names case-insensitively (pyarrow 14 and 26 checked): the same zstd codec",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_abort",
        "self._uploads.shutdown(wait=True, cancel_futures=True)",
        "self._uploads.shutdown(cancel_futures=True)",
        "wait=True is shutdown()'s default: the same call",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_abort",
        "self._uploads.shutdown(wait=True, cancel_futures=True)",
        "self._uploads.shutdown(wait=True, )",
        "every queued part's future is in self._parts and was cancelled just above (submitted and aborted on the writer's thread): cancel_futures finds nothing left to cancel",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_abort",
        "self._uploads.shutdown(wait=True, cancel_futures=True)",
        "self._uploads.shutdown(wait=True, cancel_futures=False)",
        "every queued part's future is in self._parts and was cancelled just above (submitted and aborted on the writer's thread): cancel_futures finds nothing left to cancel",
    ),
    Equivalent(
        "xcom_s3.transfer.xǁUploadSinkǁ_abort",
        'log.warning("%s", abort_failed(self.settings, self.key, upload_id, exc))',
        "log.warning(abort_failed(self.settings, self.key, upload_id, exc))",
        "with no arguments logging never %-formats the message: the same text is logged",
    ),
    Equivalent(
        "xcom_s3.transfer.x__read_into",
        'total = str(response.get("ContentRange", "")).rpartition("/")[2] or str(response.get("ContentLength", ""))',
        'total = str(response.get("ContentRange", "")).partition("/")[2] or str(response.get("ContentLength", ""))',
        "a Content-Range (bytes a-b/n) holds one '/': partition and rpartition split it alike",
    ),
    Equivalent(
        "xcom_s3.transfer.x__read_into",
        'total = str(response.get("ContentRange", "")).rpartition("/")[2] or str(response.get("ContentLength", ""))',
        'total = str(response.get("ContentRange", "")).rpartition("/")[2] or str(response.get("ContentLength", None))',
        "any default that is not all digits skips the size check, as '' does",
    ),
    Equivalent(
        "xcom_s3.transfer.x__read_into",
        'total = str(response.get("ContentRange", "")).rpartition("/")[2] or str(response.get("ContentLength", ""))',
        'total = str(response.get("ContentRange", "")).rpartition("/")[2] or str(response.get("ContentLength", ))',
        "any default that is not all digits skips the size check, as '' does",
    ),
    Equivalent(
        "xcom_s3.transfer.x__read_into",
        'total = str(response.get("ContentRange", "")).rpartition("/")[2] or str(response.get("ContentLength", ""))',
        'total = str(response.get("ContentRange", "")).rpartition("/")[2] or str(response.get("ContentLength", "XXXX"))',
        "any default that is not all digits skips the size check, as '' does",
    ),
    Equivalent(
        "xcom_s3.transfer.x__read_into",
        "while span.reached < span.stop:",
        "while span.reached <= span.stop:",
        "at reached == stop the extra pass reads 0 bytes (botocore returns b'' and checks neither length nor checksum for amt=0) and breaks: the same bytes",
    ),
    Equivalent(
        "xcom_s3.transfer.x__first_byte",
        'content_range = str(response.get("ContentRange", ""))  # "bytes 100-199/1000"',
        'content_range = str(response.get("ContentRange", None))  # "bytes 100-199/1000"',
        "without a Content-Range, 'None' like '' has no digits before '-': the body starts at byte 0 either way",
    ),
    Equivalent(
        "xcom_s3.transfer.x__first_byte",
        'content_range = str(response.get("ContentRange", ""))  # "bytes 100-199/1000"',
        'content_range = str(response.get("ContentRange", ))  # "bytes 100-199/1000"',
        "without a Content-Range, 'None' like '' has no digits before '-': the body starts at byte 0 either way",
    ),
    Equivalent(
        "xcom_s3.transfer.x__first_byte",
        'content_range = str(response.get("ContentRange", ""))  # "bytes 100-199/1000"',
        'content_range = str(response.get("ContentRange", "XXXX"))  # "bytes 100-199/1000"',
        "without a Content-Range, 'XXXX' like '' has no digits before '-': the body starts at byte 0 either way",
    ),
    Equivalent(
        "xcom_s3.transfer.x__first_byte",
        'first = content_range.partition(" ")[2].partition("-")[0]',
        'first = content_range.partition(" ")[2].rpartition("-")[0]',
        "a Content-Range (bytes a-b/n) holds one '-': partition and rpartition find the same first byte",
    ),
    Equivalent(
        "xcom_s3.transfer.x__first_byte",
        'first = content_range.partition(" ")[2].partition("-")[0]',
        'first = content_range.rpartition(" ")[2].partition("-")[0]',
        "a Content-Range (bytes a-b/n) holds one ' ': partition and rpartition split it alike",
    ),
    Equivalent(
        "xcom_s3.retry.xǁRetryǁ__init__",
        "super().__init__(problem)",
        "super().__init__(None)",
        "a Retry never leaves attempts() (every raise site runs inside the call it retries) and only its .problem is read, never str() or args",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__same_python",
        "return next((d for a, b in zip(got, expected, strict=True) if (d := _same_python(a, b)) is not True), True)",
        "return next((d for a, b in zip(got, expected, ) if (d := _same_python(a, b)) is not True), True)",
        "the lengths were compared just above: zip never sees sequences of different lengths",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__same_python",
        "return next((d for a, b in zip(got, expected, strict=True) if (d := _same_python(a, b)) is not True), True)",
        "return next((d for a, b in zip(got, expected, strict=False) if (d := _same_python(a, b)) is not True), True)",
        "the lengths were compared just above: zip never sees sequences of different lengths",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__plain_dtypes",
        "return frozenset(np.dtype(name) for name in names)",
        "return frozenset(np.dtype(None) for name in names)",
        "the set only lets the head's round trip leave out columns exact by construction (float64 is still one); round-tripping the int and bool columns as well costs time and changes no outcome",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__unproven",
        "if labels.nlevels > 1 or not all(type(label) is str for label in labels):",
        "if labels.nlevels >= 1 or not all(type(label) is str for label in labels):",
        "the head is then always checked whole: columns exact by construction make the trip too, only slower",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__unproven",
        "if labels.nlevels > 1 or not all(type(label) is str for label in labels):",
        "if labels.nlevels > 2 or not all(type(label) is str for label in labels):",
        "a MultiIndex's labels are tuples, never str: the second condition keeps its head whole anyway",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__unproven",
        "if labels.nlevels > 1 or not all(type(label) is str for label in labels):",
        "if labels.nlevels > 1 or not all(type(None) is str for label in labels):",
        "the head is then always checked whole (with at least one label): only slower; with no label there is no column to leave out either",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__unproven",
        "if len(keep) == head.shape[1]:",
        "if len(keep) != head.shape[1]:",
        "with something to leave out the head is checked whole (only slower); with nothing, iloc of every column is the head",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__encode_tz",
        'if module == "zoneinfo" and getattr(tz, "key", None):',
        'if module == "zoneinfo" and getattr(tz, "key", ):',
        "the only tzinfo of the zoneinfo module is ZoneInfo, which always has a key attribute (None from a file)",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__encode_tz",
        'zone = getattr(tz, "zone", None)',
        'zone = getattr(tz, "zone", )',
        "every pytz tzinfo has a zone attribute (FixedOffset's is None)",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__encode_tz",
        'return {"pytz": zone} if zone else {"pytz_offset": offset.total_seconds() // 60}',
        'return {"pytz": zone} if zone else {"pytz_offset": offset.total_seconds() / 60}',
        "pytz's FixedOffset is whole minutes, and the reader takes int() of the value: the same zone either way",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__column",
        "return pd.Series(values, index=index, dtype=object, copy=False)",
        "return pd.Series(values, index=index, dtype=object, copy=None)",
        "copy only decides whether the Series shares the fresh object array the rebuild made; the frame's values are the same",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__column",
        "return pd.Series(values, index=index, dtype=object, copy=False)",
        "return pd.Series(values, index=index, dtype=object, )",
        "copy only decides whether the Series shares the fresh object array the rebuild made; the frame's values are the same",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__column",
        "return pd.Series(values, index=index, dtype=object, copy=False)",
        "return pd.Series(values, index=index, dtype=object, copy=True)",
        "copy only decides whether the Series shares the fresh object array the rebuild made; the frame's values are the same",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__from_arrow",
        "converted = pd.Series(chunked.to_pandas(), copy=False)",
        "converted = pd.Series(chunked.to_pandas(), copy=None)",
        "copy of pyarrow's fresh conversion: memory only",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__from_arrow",
        "converted = pd.Series(chunked.to_pandas(), copy=False)",
        "converted = pd.Series(chunked.to_pandas(), )",
        "copy of pyarrow's fresh conversion: memory only",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__from_arrow",
        "converted = pd.Series(chunked.to_pandas(), copy=False)",
        "converted = pd.Series(chunked.to_pandas(), copy=True)",
        "copy of pyarrow's fresh conversion: memory only",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__index",
        "finished = _finish(pd.Series(current, copy=False), descriptor)",
        "finished = _finish(pd.Series(current, copy=None), descriptor)",
        "_finish only reads the Series (astype / tz_convert make new arrays): copying it changes nothing",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__index",
        "finished = _finish(pd.Series(current, copy=False), descriptor)",
        "finished = _finish(pd.Series(current, ), descriptor)",
        "_finish only reads the Series (astype / tz_convert make new arrays): copying it changes nothing",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__index",
        "finished = _finish(pd.Series(current, copy=False), descriptor)",
        "finished = _finish(pd.Series(current, copy=True), descriptor)",
        "_finish only reads the Series (astype / tz_convert make new arrays): copying it changes nothing",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__categorical",
        "if len({part.type for part in parts}) > 1:",
        "if len({part.type for part in parts}) >= 1:",
        "casting one index type to int32 as well: Categorical.from_codes takes the codes' values, not their width",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x__column",
        "if isinstance(values, np.ndarray) and values.dtype == np.dtype(object):",
        "if isinstance(values, np.ndarray) or values.dtype == np.dtype(object):",
        "the only ndarrays the rebuild hands over are object arrays; an object NumpyExtensionArray wrapped in an object Series on the frame's own index is the same column to isetitem",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__difference",
        "if not came.equals(field, check_metadata=True) or str(came.type) != str(field.type):",
        "if not came.equals(field, check_metadata=True) and str(came.type) != str(field.type):",
        "came is the written schema's field after an IPC round trip, and a table's own fields already are what that gives back (pyarrow rebuilds an extension type from its serialization; field metadata survives IPC): the field check never differs",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__difference",
        "if not came.equals(field, check_metadata=True) or str(came.type) != str(field.type):",
        "if not came.equals(field, check_metadata=None) or str(came.type) != str(field.type):",
        "field metadata survives the IPC round trip came is made of, and a table's own types already are what it gives back: checking it never differs",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__difference",
        "if not came.equals(field, check_metadata=True) or str(came.type) != str(field.type):",
        "if not came.equals(field, ) or str(came.type) != str(field.type):",
        "field metadata survives the IPC round trip came is made of, and a table's own types already are what it gives back: checking it never differs",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__difference",
        "if not came.equals(field, check_metadata=True) or str(came.type) != str(field.type):",
        "if not came.equals(field, check_metadata=False) or str(came.type) != str(field.type):",
        "field metadata survives the IPC round trip came is made of, and a table's own types already are what it gives back: checking it never differs",
    ),
    Equivalent(
        "xcom_s3.frame_schema.x__text_type",
        "if type(value) is str:",
        "if type(None) is str:",
        "a column the layout calls text holds str only or bytes only (with missing values), so a str column then gets None here and typed_schema falls back to pa.Schema.from_pandas of the whole frame, which the typed schema reproduces exactly: the Parquet file is byte-identical (checked: str/bytes columns led by None, NaN, NA, a RangeIndex with a step, an object index, 3000 rows, tuple labels); only learning the schema takes longer",
    ),
    Equivalent(
        "xcom_s3.frame_schema.x__text_type",
        "if type(value) is bytes:",
        "if type(None) is bytes:",
        "a column the layout calls text holds str only or bytes only (with missing values), so a bytes column then gets None here and typed_schema falls back to pa.Schema.from_pandas of the whole frame, which the typed schema reproduces exactly: the Parquet file is byte-identical (checked on bytes columns led by None and NA); only learning the schema takes longer",
    ),
    Equivalent(
        "xcom_s3.polars_frames.x__to_arrow",
        "return frame.to_arrow(compat_level=polars.CompatLevel.oldest())",
        "return frame.to_arrow(compat_level=None)",
        "polars' DataFrame.to_arrow maps compat_level=None to level False, the oldest, which is what CompatLevel.oldest() names (its _version is 0): the same Arrow table (large_string, not string_view); polars 2.0 on every matrix entry",
    ),
    Equivalent(
        "xcom_s3.frame_legacy.x__restore_object_dtypes",
        "restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=True)",
        "restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=None)",
        "as_object only gets a column or index level whose dtype is not object, and np.asarray of one to object always allocates a new array that nothing else holds (an Arrow-backed str, a numeric or a datetime column alike): the Series owns it whether or not it copies it again",
    ),
    Equivalent(
        "xcom_s3.frame_legacy.x__restore_object_dtypes",
        "restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=True)",
        "restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, )",
        "as_object only gets a column or index level whose dtype is not object, and np.asarray of one to object always allocates a new array that nothing else holds (an Arrow-backed str, a numeric or a datetime column alike): the Series owns it whether or not it copies it again",
    ),
    Equivalent(
        "xcom_s3.frame_legacy.x__restore_object_dtypes",
        "restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=True)",
        "restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=False)",
        "as_object only gets a column or index level whose dtype is not object, and np.asarray of one to object always allocates a new array that nothing else holds (an Arrow-backed str, a numeric or a datetime column alike): the Series owns it whether or not it copies it again",
    ),
    Equivalent(
        "xcom_s3.frame_legacy.x__restore_object_dtypes",
        "restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=True)",
        "restored = pd.Series(np.asarray(values, dtype=None), index=index, dtype=object, copy=True)",
        "pd.Series(..., dtype=object) boxes a numeric, datetime, timedelta or str array the same way np.asarray(..., dtype=object) does (Python scalars, Timestamp, Timedelta, NaT; checked on pandas 3 for each): the explicit object array only spares one conversion",
    ),
    Equivalent(
        "xcom_s3.frame_legacy.x__restore_object_dtypes",
        "restored = pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=True)",
        "restored = pd.Series(np.asarray(values, ), index=index, dtype=object, copy=True)",
        "pd.Series(..., dtype=object) boxes a numeric, datetime, timedelta or str array the same way np.asarray(..., dtype=object) does (Python scalars, Timestamp, Timedelta, NaT; checked on pandas 3 for each): the explicit object array only spares one conversion",
    ),
    Equivalent(
        "xcom_s3.backend.x__escape_pickle",
        'PICKLE: escape_encode(pickled)[0].decode("ascii"),',
        'PICKLE: escape_encode(pickled)[0].decode("ASCII"),',
        "codec names are case-insensitive: the same decoder",
    ),
    Equivalent(
        "xcom_s3.backend.x__unescape_pickle",
        'pickled = escape_decode(str(stored[PICKLE]).encode("ascii"))[0]',
        'pickled = escape_decode(str(stored[PICKLE]).encode("ASCII"))[0]',
        "codec names are case-insensitive: the same encoder",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__refuse_time_of_day",
        "for field, column in zip(table.schema, table.columns, strict=True):",
        "for field, column in zip(table.schema, table.columns, ):",
        "a table's schema has one field per column: the two sequences always have the same length",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__refuse_time_of_day",
        "for field, column in zip(table.schema, table.columns, strict=True):",
        "for field, column in zip(table.schema, table.columns, strict=False):",
        "a table's schema has one field per column: the two sequences always have the same length",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__difference",
        "if not came.equals(field, check_metadata=True):",
        "if not came.equals(field, check_metadata=None):",
        "a field's own metadata comes back as written on every pyarrow of the matrix (test_nested_types_and_metadata_survive_many_row_groups), so the field compares the same with or without it; its type is checked the line before",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__difference",
        "if not came.equals(field, check_metadata=True):",
        "if not came.equals(field, ):",
        "a field's own metadata comes back as written on every pyarrow of the matrix (test_nested_types_and_metadata_survive_many_row_groups), so the field compares the same with or without it; its type is checked the line before",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x__difference",
        "if not came.equals(field, check_metadata=True):",
        "if not came.equals(field, check_metadata=False):",
        "a field's own metadata comes back as written on every pyarrow of the matrix (test_nested_types_and_metadata_survive_many_row_groups), so the field compares the same with or without it; its type is checked the line before",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_categories",
        'table = pa.table({"categories": pa.array(dtype.categories, from_pandas=True)})',
        'table = pa.table({"categories": pa.array(dtype.categories, from_pandas=None)})',
        "from_pandas only decides whether NaN becomes null, and categories hold no missing value (pandas refuses NaN and None as a category)",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_categories",
        'table = pa.table({"categories": pa.array(dtype.categories, from_pandas=True)})',
        'table = pa.table({"categories": pa.array(dtype.categories, )})',
        "from_pandas only decides whether NaN becomes null, and categories hold no missing value (pandas refuses NaN and None as a category)",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_categories",
        'table = pa.table({"categories": pa.array(dtype.categories, from_pandas=True)})',
        'table = pa.table({"categories": pa.array(dtype.categories, from_pandas=False)})',
        "from_pandas only decides whether NaN becomes null, and categories hold no missing value (pandas refuses NaN and None as a category)",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x__describe_categories",
        'encoded = base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")',
        'encoded = base64.b64encode(sink.getvalue().to_pybytes()).decode("ASCII")',
        "codec names are case-insensitive: the same decoder",
    ),
    Equivalent(
        "xcom_s3.gc.x__delete",
        "report.unsettled += [key for key in batch if key not in named]",
        "report.unsettled = [key for key in batch if key not in named]",
        "only this path adds unsettled keys, and it raises right after: the list is empty before it",
    ),
    Equivalent(
        "xcom_s3.polars_frames.x__to_arrow",
        "frame.select(name).to_arrow(compat_level=polars.CompatLevel.oldest())",
        "frame.select(name).to_arrow(compat_level=None)",
        "the probe only looks for the column polars cannot convert at all (Object, Int128, UInt128), which fails at every compat level; the table written is converted at the oldest one above",
    ),
    Equivalent(
        "xcom_s3.frame_refusals.x_remedy",
        'arrow = str(spec.dtype.pyarrow_dtype) if isinstance(spec.dtype, pd.ArrowDtype) else ""',
        'arrow = str(spec.dtype.pyarrow_dtype) if isinstance(spec.dtype, pd.ArrowDtype) else "XXXX"',
        'a dtype not of Arrow gets a name no Arrow type has either way: "XXXX" matches none of the names the '
        'branches after it test, just as "" does',
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__difference",
        "got.iloc[:, position], expected.iloc[:, position], check_exact=True, check_names=False,",
        "got.iloc[:, position], expected.iloc[:, position], check_exact=True, check_names=None,",
        "pandas tests it for truth, so None is False, the value given",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__difference",
        "check_index=False, check_categorical=True,",
        "check_index=None, check_categorical=True,",
        "pandas tests it for truth, so None is False, the value given",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__difference",
        "check_index=False, check_categorical=True,\n)  # fmt: skip",
        "check_index=False, )  # fmt: skip",
        "pandas' own default for it is True (pandas 2.1 to 3.1), so leaving it out changes nothing; it is spelled out to say the comparison is exact in every way",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__difference",
        "testing.assert_index_equal(got.index, index, exact=True, check_exact=True, check_names=True)",
        "testing.assert_index_equal(got.index, index, exact=True, check_names=True)",
        "pandas' own default for it is True (pandas 2.1 to 3.1), so leaving it out changes nothing; it is spelled out to say the comparison is exact in every way",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__difference",
        "testing.assert_index_equal(got.index, index, exact=True, check_exact=True, check_names=True)",
        "testing.assert_index_equal(got.index, index, exact=True, check_exact=True, )",
        "pandas' own default for it is True (pandas 2.1 to 3.1), so leaving it out changes nothing; it is spelled out to say the comparison is exact in every way",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__difference",
        "testing.assert_index_equal(got.columns, expected.columns, exact=True, check_exact=True, check_names=True)",
        "testing.assert_index_equal(got.columns, expected.columns, exact=True, check_names=True)",
        "pandas' own default for it is True (pandas 2.1 to 3.1), so leaving it out changes nothing; it is spelled out to say the comparison is exact in every way",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__difference",
        "testing.assert_index_equal(got.columns, expected.columns, exact=True, check_exact=True, check_names=True)",
        "testing.assert_index_equal(got.columns, expected.columns, exact=True, check_exact=True, )",
        "pandas' own default for it is True (pandas 2.1 to 3.1), so leaving it out changes nothing; it is spelled out to say the comparison is exact in every way",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__assert_same_objects",
        "for row, (a, b) in enumerate(zip(got, expected, strict=True)):",
        "for row, (a, b) in enumerate(zip(got, expected, strict=False)):",
        "the lengths are compared first (assert_series_equal, assert_index_equal raise on a length mismatch), so zip never meets two of different lengths",
    ),
    Equivalent(
        "xcom_s3.frame_checks.x__assert_same_objects",
        "for row, (a, b) in enumerate(zip(got, expected, strict=True)):",
        "for row, (a, b) in enumerate(zip(got, expected, )):",
        "the lengths are compared first (assert_series_equal, assert_index_equal raise on a length mismatch), so zip never meets two of different lengths",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x_write_table",
        "head = table.slice(0, SAMPLE_ROWS)",
        "head = table.slice(0, None)",
        "the head bounds only the memory of the check: a head of the whole table is written by the same _write, in the same row groups (its file is then the one uploaded), and refused by the same checks; what the bound saves is memory a large table's push would otherwise take twice, which bench/ measures (the arrow path's peak RSS against arrow_floor), not a test",
    ),
    Equivalent(
        "xcom_s3.arrow_tables.x_write_table",
        "head = table.slice(0, SAMPLE_ROWS)",
        "head = table.slice(0, )",
        "the head bounds only the memory of the check: a head of the whole table is written by the same _write, in the same row groups (its file is then the one uploaded), and refused by the same checks; what the bound saves is memory a large table's push would otherwise take twice, which bench/ measures (the arrow path's peak RSS against arrow_floor), not a test",
    ),
    Equivalent(
        "xcom_s3.frame_rebuild.x_with_placeholders",
        'entry["numpy_type"] = "int8"  # what pyarrow parses as a dtype (a nested ArrowDtype: it cannot)',
        'entry["numpy_type"] = None  # what pyarrow parses as a dtype (a nested ArrowDtype: it cannot)',
        "pyarrow parses the placeholder's numpy_type only to look for an extension dtype: None parses as float64, a numpy dtype, which it passes over just as int8 (the catalogue's nested ArrowDtypes pass with None on pyarrow 14, 21 and 26)",
    ),
    Equivalent(
        "xcom_s3.frames.x__to_pandas",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)",
        "frame = table.to_pandas(self_destruct=None, deduplicate_objects=dedupe, use_threads=False)",
        "self_destruct=None is False: no longer frees each column's Arrow memory as it is converted: the same frame, only the read's peak memory differs, which bench/ measures (the ours path's peak RSS against the floor), not a test",
    ),
    Equivalent(
        "xcom_s3.frames.x__to_pandas",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)",
        "frame = table.to_pandas(deduplicate_objects=dedupe, use_threads=False)",
        "pyarrow's default is False: no longer frees each column's Arrow memory as it is converted: the same frame, only the read's peak memory differs, which bench/ measures (the ours path's peak RSS against the floor), not a test",
    ),
    Equivalent(
        "xcom_s3.frames.x__to_pandas",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=None, use_threads=False)",
        "None is False: equal strings then stay separate objects, the same values; only memory differs (bench/)",
    ),
    Equivalent(
        "xcom_s3.frames.x__to_pandas",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)",
        "frame = table.to_pandas(self_destruct=True, use_threads=False)",
        "pyarrow's default is True: strings that do not repeat are deduplicated too, the same values at a little more time (bench/)",
    ),
    Equivalent(
        "xcom_s3.frames.x__to_pandas",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=None)",
        "None is False, the value given",
    ),
    Equivalent(
        "xcom_s3.frames.x__to_pandas",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, )",
        "pyarrow's default is True: the columns convert on its thread pool, into the same frame",
    ),
    Equivalent(
        "xcom_s3.frames.x_parquet_to_frame",
        "table = decode_parquet(data, _returning_pool())",
        "table = decode_parquet(data, None)",
        "the default memory pool instead of one that returns its pages to the system: the same table, only the memory the worker keeps after the read differs, which bench/ measures (peak RSS), not a test",
    ),
    Equivalent(
        "xcom_s3.frames.x_parquet_to_frame",
        "table = decode_parquet(data, _returning_pool())",
        "table = decode_parquet(data, )",
        "the default memory pool instead of one that returns its pages to the system: the same table, only the memory the worker keeps after the read differs, which bench/ measures (peak RSS), not a test",
    ),
    Equivalent(
        "xcom_s3.frames.x__to_pandas",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)",
        "frame = table.to_pandas(self_destruct=False, deduplicate_objects=dedupe, use_threads=False)",
        "the table's Arrow memory is then freed only after the conversion: the same frame, only the read's peak memory differs, which bench/ measures (the ours path's peak RSS against the floor), not a test",
    ),
    Equivalent(
        "xcom_s3.frames.x__to_pandas",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=False)",
        "frame = table.to_pandas(self_destruct=True, deduplicate_objects=dedupe, use_threads=True)",
        "the columns convert on pyarrow's thread pool instead, into the same frame",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x_name_fields",
        "for spec, field in zip(columns, data_fields, strict=True):",
        "for spec, field in zip(columns, data_fields, ):",
        "the schema is pyarrow's conversion of the same frame a moment before, storing index levels by the rule places() follows (frames._index_mode: a RangeIndex beside columns in the metadata only, any other index as columns), one field per column: the two lists always have the same length, so zip never meets a difference to check",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x_name_fields",
        "for spec, field in zip(columns, data_fields, strict=True):",
        "for spec, field in zip(columns, data_fields, strict=False):",
        "the schema is pyarrow's conversion of the same frame a moment before, storing index levels by the rule places() follows (frames._index_mode: a RangeIndex beside columns in the metadata only, any other index as columns), one field per column: the two lists always have the same length, so zip never meets a difference to check",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x_name_fields",
        "for spec, field in zip(levels, index_fields, strict=True):",
        "for spec, field in zip(levels, index_fields, ):",
        "the schema is pyarrow's conversion of the same frame a moment before, storing index levels by the rule places() follows (frames._index_mode: a RangeIndex beside columns in the metadata only, any other index as columns), one field per column: the two lists always have the same length, so zip never meets a difference to check",
    ),
    Equivalent(
        "xcom_s3.frame_layout.x_name_fields",
        "for spec, field in zip(levels, index_fields, strict=True):",
        "for spec, field in zip(levels, index_fields, strict=False):",
        "the schema is pyarrow's conversion of the same frame a moment before, storing index levels by the rule places() follows (frames._index_mode: a RangeIndex beside columns in the metadata only, any other index as columns), one field per column: the two lists always have the same length, so zip never meets a difference to check",
    ),
    Equivalent(
        "xcom_s3.frames.x_slice_rows",
        "if rows <= MIN_SLICE_ROWS:",
        "if rows < MIN_SLICE_ROWS:",
        "at exactly MIN_SLICE_ROWS rows the estimate's branch returns at least MIN_SLICE_ROWS too: one slice either way",
    ),
    Equivalent(
        "xcom_s3.frames.x_slice_rows",
        "return max(rows, 1)  # one slice whatever the estimate",
        "return max(rows, 2)  # one slice whatever the estimate",
        "only a frame of 0 or 1 rows gets 2 instead of 1: one slice either way",
    ),
    Equivalent(
        "xcom_s3.frames.x_slice_rows",
        "head = frame.iloc[: min(rows, 1000)]",
        "head = frame.iloc[: min(rows, 1001)]",
        "the per-row estimate from 1,001 rows instead of 1,000: row groups move by a fraction of a row's bytes, the frame written and read back is the same",
    ),
    Equivalent(
        "xcom_s3.frames.x_slice_rows",
        "per_row = max(1.0, float(head.memory_usage(index=True, deep=True).sum()) / len(head))",
        "per_row = max(2.0, float(head.memory_usage(index=True, deep=True).sum()) / len(head))",
        "a floor of 2 bytes a row instead of 1 changes the slice only for frames of under 2 bytes a row (bools), and only past 16 million rows (SLICE_BYTES / 2): where row groups start, never the frame read back",
    ),
]
