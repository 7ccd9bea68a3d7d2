"""Usage statistics: requests, tokens, errors, latency and cost, from the usage records.

The store keeps one UsageRecord per request sent upstream (kept even when its
conversation is deleted). Everything here is a pure function of those records, so the
Manage window, a script and a test computing figures by hand all get the same numbers.
No Qt and no database here.

Which records count for what:

* requests: every record — complete, stopped, failed or interrupted;
* errors: records whose status is ``failed`` (a stopped reply was the user's choice and an
  interrupted one the app closing, neither is the server's fault);
* tokens: the server's own ``prompt_tokens`` / ``completion_tokens``; a record without
  them adds nothing (some servers do not report usage);
* latency (time to first token, duration): complete replies only. A stopped reply's
  duration measures the user's patience and a failed one's the failure, not the server.

Percentiles are exact (from every value, no sampling or buckets), by linear interpolation
between closest ranks — Hyndman & Fan's type 7, the method of a spreadsheet's
PERCENTILE.INC, NumPy's default and ``statistics.quantiles(method="inclusive")``. For
sorted values x[0..n-1] the p-th percentile sits at rank h = (n - 1) * p / 100 and is
x[⌊h⌋] + (h - ⌊h⌋) * (x[⌊h⌋ + 1] - x[⌊h⌋]). Its 50th percentile is the ordinary median:
the middle value, or the mean of the two middle values when n is even. It never invents
a value outside the observed range, which matters for p95 over a handful of requests.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

from desktop_chat.llm import ErrorKind
from desktop_chat.schemas import DayUsage, Latency, MessageStatus, UsageRecord, UsageStats

log = logging.getLogger(__name__)

# The periods the Manage window offers; None means every record ever kept.
RANGES: dict[str, timedelta | None] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
PRICES_FILE = "prices.json"


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation between closest ranks; None if empty."""
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {p}")
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


# Prices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """What a model costs, in the user's currency, per million input and output tokens."""

    input_per_million: float = 0.0
    output_per_million: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        ) / 1_000_000


def load_prices(path: Path) -> dict[str, Price]:
    """Prices per model from `path`; a missing or broken file means no prices, not a crash."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("Cannot read prices from %s; starting without prices", path)
        return {}
    prices: dict[str, Price] = {}
    if not isinstance(raw, dict):
        return prices
    for model, entry in raw.items():
        try:
            prices[str(model)] = Price(
                float(entry.get("input_per_million", 0)),
                float(entry.get("output_per_million", 0)),
            )
        except (AttributeError, TypeError, ValueError):
            log.warning("Ignoring the unreadable price of %r in %s", model, path)
    return prices


def save_prices(path: Path, prices: Mapping[str, Price]) -> None:
    """Write atomically, like the settings file beside it."""
    data = {
        model: {
            "input_per_million": p.input_per_million,
            "output_per_million": p.output_per_million,
        }
        for model, p in sorted(prices.items())
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def record_cost(record: UsageRecord, prices: Mapping[str, Price]) -> float | None:
    """The cost of one request, or None when its model has no price."""
    price = prices.get(record.model)
    if price is None:
        return None
    return price.cost(record.prompt_tokens or 0, record.completion_tokens or 0)


# Summaries --------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """The figures of one group of requests (a day, an agent, a model, or all of them)."""

    key: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: int = 0
    ttft_median_ms: float | None = None
    ttft_p95_ms: float | None = None
    duration_median_ms: float | None = None
    duration_p95_ms: float | None = None
    cost: float | None = None  # None: no request of the group has a priced model

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def summarize(
    key: str, records: Iterable[UsageRecord], prices: Mapping[str, Price] | None = None
) -> Summary:
    """The figures of `records` in one pass (a year of heavy use is ~100,000 records)."""
    requests = prompt = completion = errors = 0
    ttft: list[float] = []
    duration: list[float] = []
    per_model: dict[str, list[int]] = {}  # model -> [prompt, completion], for the cost
    for record in records:
        requests += 1
        p, c = record.prompt_tokens or 0, record.completion_tokens or 0
        prompt += p
        completion += c
        if record.status is MessageStatus.FAILED:
            errors += 1
        elif record.status is MessageStatus.COMPLETE:
            if record.ttft_ms is not None:
                ttft.append(record.ttft_ms)
            if record.duration_ms is not None:
                duration.append(record.duration_ms)
        tokens = per_model.setdefault(record.model, [0, 0])
        tokens[0] += p
        tokens[1] += c
    priced = prices or {}
    costs = [priced[m].cost(p, c) for m, (p, c) in per_model.items() if m in priced]
    return Summary(
        key=key,
        requests=requests,
        prompt_tokens=prompt,
        completion_tokens=completion,
        errors=errors,
        ttft_median_ms=median(ttft),
        ttft_p95_ms=percentile(ttft, 95),
        duration_median_ms=median(duration),
        duration_p95_ms=percentile(duration, 95),
        cost=sum(costs) if costs else None,
    )


def _aware(moment: datetime) -> datetime:
    """Records read back from SQLite may be naive; the store writes UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def day_of(record: UsageRecord, tz: tzinfo | None = None) -> date:
    """The calendar day of a request where the user is (`tz`; None is the local zone)."""
    return _aware(record.created_at).astimezone(tz).date()


def _grouped(
    records: Iterable[UsageRecord], key: Callable[[UsageRecord], str]
) -> dict[str, list[UsageRecord]]:
    groups: dict[str, list[UsageRecord]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return groups


def _busiest_first(
    groups: dict[str, list[UsageRecord]], prices: Mapping[str, Price] | None
) -> list[Summary]:
    summaries = [summarize(k, v, prices) for k, v in groups.items()]
    return sorted(summaries, key=lambda s: (-s.requests, s.key))


def by_agent(
    records: Iterable[UsageRecord], prices: Mapping[str, Price] | None = None
) -> list[Summary]:
    """Per agent id, busiest first; requests of no known agent are grouped under ''."""
    return _busiest_first(_grouped(records, lambda r: r.agent_id or ""), prices)


def by_model(
    records: Iterable[UsageRecord], prices: Mapping[str, Price] | None = None
) -> list[Summary]:
    return _busiest_first(_grouped(records, lambda r: r.model), prices)


def by_day(
    records: Iterable[UsageRecord],
    tz: tzinfo | None = None,
    prices: Mapping[str, Price] | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[Summary]:
    """One summary per calendar day (key YYYY-MM-DD), oldest first, quiet days included.

    The days run from `first` (else the earliest record's) to `last` (else the latest
    record's), so a chart of them has a bar for every day and gaps show as gaps.
    """
    groups = _grouped(records, lambda r: day_of(r, tz).isoformat())
    days = sorted(groups)
    if not days and (first is None or last is None):
        return []
    start = first or date.fromisoformat(days[0])
    end = last or date.fromisoformat(days[-1])
    out = []
    day = start
    while day <= end:
        out.append(summarize(day.isoformat(), groups.get(day.isoformat(), []), prices))
        day += timedelta(days=1)
    return out


# The local API's figures ----------------------------------------------------------------


def recent_period_start(days: int, now: datetime) -> datetime:
    """Midnight UTC at the start of the last `days` days, today included."""
    first = (now.astimezone(UTC) - timedelta(days=days - 1)).date()
    return datetime.combine(first, datetime.min.time(), UTC)


def _latency(summary: Summary) -> dict[str, float | None]:
    return {
        "ttft_median_ms": summary.ttft_median_ms,
        "ttft_p95_ms": summary.ttft_p95_ms,
        "duration_median_ms": summary.duration_median_ms,
        "duration_p95_ms": summary.duration_p95_ms,
    }


def with_recent(
    totals: UsageStats, records: Iterable[UsageRecord], days: int, now: datetime
) -> UsageStats:
    """`totals` with the latency and the per-day figures of the last `days` UTC days.

    `records` are those of the period (see recent_period_start); every day of it is
    listed, quiet ones too, oldest first.
    """
    chosen = list(records)
    start = recent_period_start(days, now).date()
    daily = by_day(chosen, UTC, None, start, now.astimezone(UTC).date())
    return totals.model_copy(
        update={
            "period_days": days,
            "latency": Latency(**_latency(summarize("", chosen))),
            "by_day": [
                DayUsage(
                    day=d.key,
                    requests=d.requests,
                    prompt_tokens=d.prompt_tokens,
                    completion_tokens=d.completion_tokens,
                    errors=d.errors,
                    **_latency(d),
                )
                for d in daily
            ],
        }
    )


# A report over a period ---------------------------------------------------------------


def range_start(range_key: str, now: datetime) -> datetime | None:
    """Where a period of RANGES ends up starting, counted back from `now`."""
    span = RANGES[range_key]
    return None if span is None else now - span


@dataclass(frozen=True)
class Report:
    """Everything the statistics tab shows for one period."""

    since: datetime | None
    total: Summary
    days: list[Summary]
    agents: list[Summary]
    models: list[Summary]
    unpriced_models: list[str]  # models used in the period that have no price


def in_period(
    records: Iterable[UsageRecord], since: datetime | None, until: datetime | None = None
) -> list[UsageRecord]:
    """Records with since <= created_at <= until (either end may be open)."""
    return [
        r
        for r in records
        if (since is None or _aware(r.created_at) >= since)
        and (until is None or _aware(r.created_at) <= until)
    ]


def build_report(
    records: Iterable[UsageRecord],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tz: tzinfo | None = None,
    prices: Mapping[str, Price] | None = None,
) -> Report:
    """The period's figures in total, per day (every day of the period), agent and model."""
    chosen = in_period(records, since, until)
    first = since.astimezone(tz).date() if since is not None else None
    last = until.astimezone(tz).date() if until is not None else None
    if first is not None and last is None and chosen:
        last = max(day_of(r, tz) for r in chosen)
    priced = prices or {}
    return Report(
        since=since,
        total=summarize("", chosen, priced),
        days=by_day(chosen, tz, priced, first, last),
        agents=by_agent(chosen, priced),
        models=by_model(chosen, priced),
        unpriced_models=sorted({r.model for r in chosen if r.model not in priced}),
    )


CSV_COLUMNS = (
    "group",
    "key",
    "name",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "errors",
    "ttft_median_ms",
    "ttft_p95_ms",
    "duration_median_ms",
    "duration_p95_ms",
    "cost",
)


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def report_csv(report: Report, agent_names: Mapping[str, str] | None = None) -> str:
    """One table with a `group` column (total, day, agent, model): easy to pivot anywhere."""
    names = agent_names or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    sections: list[tuple[str, list[Summary]]] = [
        ("total", [report.total]),
        ("day", report.days),
        ("agent", report.agents),
        ("model", report.models),
    ]
    for group, summaries in sections:
        for s in summaries:
            writer.writerow(
                [
                    group,
                    s.key,
                    names.get(s.key, "") if group == "agent" else "",
                    s.requests,
                    s.prompt_tokens,
                    s.completion_tokens,
                    s.errors,
                    _number(s.ttft_median_ms, 1),
                    _number(s.ttft_p95_ms, 1),
                    _number(s.duration_median_ms, 1),
                    _number(s.duration_p95_ms, 1),
                    _number(s.cost, 6),
                ]
            )
    return buffer.getvalue()


# Providers and conversations ----------------------------------------------------------


@dataclass(frozen=True)
class ProviderHealth:
    """What the usage table says about an agent's server: its last error and last success."""

    last_error_kind: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None

    @property
    def key_rejected(self) -> bool:
        """The server refused the key, and no request has succeeded since."""
        if self.last_error_kind != ErrorKind.AUTH.value or self.last_error_at is None:
            return False
        return self.last_success_at is None or self.last_success_at < self.last_error_at


def provider_health(records: Iterable[UsageRecord]) -> dict[str, ProviderHealth]:
    """Per agent id: the latest error (kind and time) and the latest complete reply."""
    errors: dict[str, UsageRecord] = {}
    successes: dict[str, datetime] = {}
    for record in records:
        if record.agent_id is None:
            continue
        at = _aware(record.created_at)
        if record.error_kind:
            seen = errors.get(record.agent_id)
            if seen is None or _aware(seen.created_at) <= at:
                errors[record.agent_id] = record
        elif record.status is MessageStatus.COMPLETE:
            successes[record.agent_id] = max(at, successes.get(record.agent_id, at))
    health = {}
    for agent_id in errors.keys() | successes.keys():
        error = errors.get(agent_id)
        health[agent_id] = ProviderHealth(
            last_error_kind=error.error_kind if error else None,
            last_error_at=_aware(error.created_at) if error else None,
            last_success_at=successes.get(agent_id),
        )
    return health


def tokens_by_conversation(records: Iterable[UsageRecord]) -> dict[str, int]:
    """Tokens in and out spent on each conversation, as the server counted them."""
    totals: dict[str, int] = defaultdict(int)
    for record in records:
        totals[record.conversation_id] += (record.prompt_tokens or 0) + (
            record.completion_tokens or 0
        )
    return dict(totals)


def failures_since(records: Iterable[UsageRecord], since: datetime) -> list[UsageRecord]:
    """Failed requests at or after `since`, newest first."""
    failed = [
        r for r in records if r.status is MessageStatus.FAILED and _aware(r.created_at) >= since
    ]
    return sorted(failed, key=lambda r: _aware(r.created_at), reverse=True)
