"""Usage statistics from hand-built usage records equal figures worked out by hand."""

from __future__ import annotations

import csv
import io
import random
import statistics
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from desktop_chat.engine import stats
from desktop_chat.engine.stats import Price, Summary
from desktop_chat.schemas import MessageStatus, UsageRecord

C, S, F = MessageStatus.COMPLETE, MessageStatus.STOPPED, MessageStatus.FAILED


def rec(day, hour, agent, model, status, prompt, completion, ttft, duration, kind=None, conv="c1"):
    return UsageRecord(
        conversation_id=conv,
        agent_id=agent,
        model=model,
        status=status,
        prompt_tokens=prompt,
        completion_tokens=completion,
        ttft_ms=ttft,
        duration_ms=duration,
        error_kind=kind,
        created_at=datetime(2025, 3, day, hour, tzinfo=UTC),
    )


# Two busy days with a quiet one between them. Latency counts complete replies only:
# ttft of complete replies = 100, 300, 200, 50; durations 1000, 3000, 2000, 500.
RECORDS = [
    rec(1, 9, "agent-a", "m1", C, 100, 50, 100.0, 1000.0, conv="c1"),
    rec(1, 10, "agent-a", "m1", C, 200, 100, 300.0, 3000.0, conv="c1"),
    rec(1, 11, "agent-b", "m2", F, None, None, None, 50.0, kind="auth", conv="c2"),
    rec(3, 9, "agent-a", "m1", C, 10, 20, 200.0, 2000.0, conv="c3"),
    rec(3, 10, "agent-b", "m2", S, 5, 5, 400.0, 9000.0, conv="c2"),
    rec(3, 11, "agent-b", "m2", C, 1000, 500, 50.0, 500.0, conv="c2"),
]
PRICES = {"m1": Price(input_per_million=2.0, output_per_million=10.0)}


def test_percentiles_interpolate_between_closest_ranks():
    assert stats.percentile([], 50) is None
    assert stats.percentile([7.0], 95) == 7.0
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5  # mean of the two middle values
    # rank (4 - 1) * 0.95 = 2.85 between 200 and 300
    assert stats.percentile([50.0, 100.0, 200.0, 300.0], 95) == pytest.approx(285.0)
    assert stats.percentile([1.0, 2.0], 0) == 1.0
    assert stats.percentile([1.0, 2.0], 100) == 2.0
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_percentiles_match_the_standard_library_inclusive_method():
    rng = random.Random(7)
    for n in (2, 3, 10, 101, 1000):
        values = [rng.uniform(0, 5000) for _ in range(n)]
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        assert stats.percentile(values, 95) == pytest.approx(cuts[94])
        assert stats.median(values) == pytest.approx(statistics.median(values))


def test_totals_count_every_request_but_time_only_complete_replies():
    total = stats.summarize("", RECORDS)
    assert total == Summary(
        key="",
        requests=6,
        prompt_tokens=100 + 200 + 10 + 5 + 1000,
        completion_tokens=50 + 100 + 20 + 5 + 500,
        errors=1,
        ttft_median_ms=150.0,  # (100 + 200) / 2
        ttft_p95_ms=pytest.approx(285.0),
        duration_median_ms=1500.0,  # (1000 + 2000) / 2
        duration_p95_ms=pytest.approx(2850.0),  # 2000 + 0.85 * 1000
        cost=None,
    )
    assert total.tokens == 1315 + 675


def test_per_day_includes_quiet_days():
    days = stats.by_day(RECORDS, tz=UTC)
    assert [d.key for d in days] == ["2025-03-01", "2025-03-02", "2025-03-03"]
    first, quiet, third = days
    assert (first.requests, first.prompt_tokens, first.completion_tokens, first.errors) == (
        3,
        300,
        150,
        1,
    )
    assert first.ttft_median_ms == 200.0
    assert first.ttft_p95_ms == pytest.approx(290.0)  # 100 + 0.95 * 200
    assert first.duration_median_ms == 2000.0
    assert first.duration_p95_ms == pytest.approx(2900.0)
    assert quiet == Summary(key="2025-03-02")
    assert (third.requests, third.prompt_tokens, third.completion_tokens, third.errors) == (
        3,
        1015,
        525,
        0,
    )
    assert third.ttft_median_ms == 125.0  # 200 and 50; the stopped reply's 400 is left out
    assert third.ttft_p95_ms == pytest.approx(192.5)
    assert third.duration_median_ms == 1250.0
    assert third.duration_p95_ms == pytest.approx(1925.0)


def test_days_follow_the_users_time_zone():
    late = rec(1, 23, "agent-a", "m1", C, 1, 1, 10.0, 20.0)
    east = stats.by_day([late], tz=timezone(timedelta(hours=8)))
    assert [d.key for d in east] == ["2025-03-02"]  # 23:00 UTC is 07:00 next day in UTC+8
    assert [d.key for d in stats.by_day([late], tz=UTC)] == ["2025-03-01"]


def test_per_agent_and_per_model():
    agents = stats.by_agent(RECORDS)
    assert [a.key for a in agents] == ["agent-a", "agent-b"]  # 3 requests each, then by id
    a, b = agents
    assert (a.requests, a.prompt_tokens, a.completion_tokens, a.errors) == (3, 310, 170, 0)
    assert a.ttft_median_ms == 200.0
    assert a.ttft_p95_ms == pytest.approx(290.0)  # rank 1.9 in 100, 200, 300
    assert a.duration_median_ms == 2000.0
    assert a.duration_p95_ms == pytest.approx(2900.0)
    assert (b.requests, b.prompt_tokens, b.completion_tokens, b.errors) == (3, 1005, 505, 1)
    assert (b.ttft_median_ms, b.ttft_p95_ms) == (50.0, 50.0)  # one complete reply
    models = stats.by_model(RECORDS)
    assert [(m.key, m.requests, m.tokens, m.errors) for m in models] == [
        ("m1", 3, 480, 0),
        ("m2", 3, 1510, 1),
    ]
    busier = stats.by_model([*RECORDS, rec(3, 12, "agent-b", "m2", C, 1, 1, 1.0, 1.0)])
    assert [m.key for m in busier] == ["m2", "m1"]


def test_cost_uses_the_prices_per_million_tokens():
    assert Price(2.0, 10.0).cost(1_000_000, 500_000) == pytest.approx(7.0)
    total = stats.summarize("", RECORDS, PRICES)
    assert total.cost == pytest.approx((310 * 2.0 + 170 * 10.0) / 1e6)  # only m1 is priced
    days = stats.by_day(RECORDS, UTC, PRICES)
    assert days[0].cost == pytest.approx((300 * 2.0 + 150 * 10.0) / 1e6)
    assert days[1].cost is None
    assert days[2].cost == pytest.approx((10 * 2.0 + 20 * 10.0) / 1e6)
    assert stats.by_model(RECORDS, PRICES)[1].cost is None
    report = stats.build_report(RECORDS, prices=PRICES, tz=UTC)
    assert report.unpriced_models == ["m2"]


def test_a_report_covers_every_day_of_the_period():
    now = datetime(2025, 3, 4, 12, tzinfo=UTC)
    since = stats.range_start("7d", now)
    assert since == datetime(2025, 2, 25, 12, tzinfo=UTC)
    assert stats.range_start("all", now) is None
    report = stats.build_report(RECORDS, since=since, until=now, tz=UTC)
    assert report.days[0].key == "2025-02-25" and report.days[-1].key == "2025-03-04"
    assert len(report.days) == 8
    assert sum(d.requests for d in report.days) == report.total.requests == 6

    last_day = stats.build_report(RECORDS, since=stats.range_start("24h", now), until=now, tz=UTC)
    assert last_day.total.requests == 0
    assert [d.requests for d in last_day.days] == [0, 0]  # 3 March noon to 4 March noon
    assert last_day.agents == [] and last_day.models == []

    since_third = datetime(2025, 3, 3, 10, tzinfo=UTC)
    assert [r.ttft_ms for r in stats.in_period(RECORDS, since_third)] == [400.0, 50.0]


def test_csv_export_has_one_row_per_group():
    report = stats.build_report(RECORDS, tz=UTC, prices=PRICES)
    rows = list(csv.DictReader(io.StringIO(stats.report_csv(report, {"agent-a": "Alpha"}))))
    assert [r["group"] for r in rows] == ["total", *["day"] * 3, "agent", "agent", "model", "model"]
    total = rows[0]
    assert (total["requests"], total["prompt_tokens"], total["completion_tokens"]) == (
        "6",
        "1315",
        "675",
    )
    assert (total["ttft_median_ms"], total["ttft_p95_ms"]) == ("150.0", "285.0")
    assert total["cost"] == "0.002320"
    assert rows[4]["name"] == "Alpha" and rows[5]["name"] == ""
    assert rows[2] == {**rows[2], "key": "2025-03-02", "requests": "0", "ttft_median_ms": ""}


def test_provider_health_knows_a_rejected_key_until_a_request_succeeds():
    health = stats.provider_health(
        [
            *RECORDS,
            rec(2, 9, "agent-c", "m3", F, None, None, None, 10.0, kind="auth"),
            rec(2, 10, "agent-d", "m3", F, None, None, None, 10.0, kind="timeout"),
        ]
    )
    b = health["agent-b"]
    assert (b.last_error_kind, b.last_error_at) == ("auth", datetime(2025, 3, 1, 11, tzinfo=UTC))
    assert b.last_success_at == datetime(2025, 3, 3, 11, tzinfo=UTC)
    assert not b.key_rejected  # the key has worked since
    assert health["agent-c"].key_rejected
    assert not health["agent-d"].key_rejected
    assert health["agent-a"].last_error_kind is None and not health["agent-a"].key_rejected


def test_tokens_per_conversation_and_recent_failures():
    assert stats.tokens_by_conversation(RECORDS) == {"c1": 450, "c2": 1510, "c3": 30}
    failed = stats.failures_since(RECORDS, datetime(2025, 3, 1, tzinfo=UTC))
    assert [(r.agent_id, r.error_kind) for r in failed] == [("agent-b", "auth")]
    assert stats.failures_since(RECORDS, datetime(2025, 3, 2, tzinfo=UTC)) == []


def test_prices_are_kept_in_a_small_json_file(tmp_path):
    path = tmp_path / "config" / stats.PRICES_FILE
    assert stats.load_prices(path) == {}
    stats.save_prices(path, {"m1": Price(2.5, 10.0), "m0": Price(0.1, 0.2)})
    assert stats.load_prices(path) == {"m1": Price(2.5, 10.0), "m0": Price(0.1, 0.2)}
    path.write_text("{not json", encoding="utf-8")
    assert stats.load_prices(path) == {}
    path.write_text('{"ok": {"input_per_million": 1}, "bad": {"input_per_million": "x"}}')
    assert stats.load_prices(path) == {"ok": Price(1.0, 0.0)}


def test_naive_times_from_the_database_are_taken_as_utc():
    naive = rec(1, 9, "agent-a", "m1", C, 1, 1, 1.0, 1.0).model_copy(
        update={"created_at": datetime(2025, 3, 1, 23, 30)}
    )
    assert stats.day_of(naive, UTC) == date(2025, 3, 1)
    assert stats.in_period([naive], datetime(2025, 3, 1, 23, tzinfo=UTC)) == [naive]
