"""CSV door, freshness and data-quality helpers."""
from datetime import UTC, date, datetime, timedelta

from services.ingest.domain.batch import process_batch
from services.ingest.domain.csv_door import CsvBatch, parse_csv
from services.ingest.domain.freshness import SourceState, expected_cadence, feed_stale_alert, is_stale, observe
from services.ingest.domain.outcomes import Unreadable
from services.ingest.domain.quality import Discrepancy, SalesGap, ledger_discrepancies, sales_gaps, spikes
from tests.ingest.conftest import NOW

T0 = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def test_csv_rows_become_events_and_bad_cells_fail_only_their_row(snapshot):
    text = ("\ufeffid,source,time,sku,location,quantity,unit\n"
            "s1,pos,2026-11-21T10:00:00+08:00,6901234567892,store-12,2,case\n"
            "s2,pos,2026-11-21T10:05:00+08:00,SKU-1,store-12,abc,\n"
            "s3,pos,2026-11-21T10:06:00+08:00,SKU-1\n")
    parsed = parse_csv(text, "sale")
    assert isinstance(parsed, CsvBatch) and len(parsed.records) == 3
    assert parsed.records[2] == Unreadable(["row 3: 4 cells, the header has 7"], "s3")
    body = process_batch(parsed.records, snapshot, NOW).response()
    assert body["accepted"] == 1
    assert body["rejected"] == [{"index": 1, "id": "s2",
                                 "errors": ['data.quantity: must be a number, not the text "abc"']},
                                {"index": 2, "id": "s3", "errors": ["row 3: 4 cells, the header has 7"]}]


def test_csv_missing_or_unknown_column_fails_the_whole_file():
    errors = parse_csv("id,time,sku,qty\n1,2026-11-21T10:00:00Z,A,1\n", "sale")
    assert errors[:3] == ["header: missing required column 'source'",
                          "header: missing required column 'location'",
                          "header: missing required column 'quantity'"]
    assert errors[3].startswith("header: unknown column 'qty' for sale (known: ")
    assert parse_csv("", "sale") == ["file: empty, expected a header row"]
    assert parse_csv("id\n", "teleport") == ["type: unknown event type 'teleport'"]


def test_csv_item_columns_nest_conversions_and_split_aliases():
    parsed = parse_csv("id,time,sku,name,base_unit,unit_conversions.case,aliases\n"
                       "i1,2026-11-21T10:00:00Z,SKU-9,Tea,each,12,690|OLD-9\n", "item", source="erp")
    assert parsed.records[0]["data"] == {"sku": "SKU-9", "name": "Tea", "base_unit": "each",
                                         "unit_conversions": {"case": 12}, "aliases": ["690", "OLD-9"]}
    assert parsed.records[0]["source"] == "erp"


def test_cadence_is_learned_from_the_median_gap_and_bursts_are_ignored():
    state = SourceState("pos/store-12")
    for minutes in (0, 15, 30, 31, 45, 60):  # 31 is a catch-up delivery; the median stays 15
        state = observe(state, T0 + timedelta(minutes=minutes), T0 + timedelta(minutes=minutes, seconds=5))
    state = observe(state, T0, T0 + timedelta(minutes=60, seconds=5, milliseconds=300))  # same burst
    assert state.arrival_gaps == (900.0, 900.0, 60.0, 840.0, 900.0)
    assert expected_cadence(state) == timedelta(minutes=15)
    assert state.last_event_time == T0 + timedelta(minutes=60)


def test_source_goes_stale_after_three_cadences_and_resolves_when_data_flows():
    state = SourceState("pos/store-12", configured_cadence=timedelta(minutes=15))
    state = observe(state, T0, T0)
    assert not is_stale(state, T0 + timedelta(minutes=45))
    assert is_stale(state, T0 + timedelta(minutes=46))
    alert = feed_stale_alert(state, T0 + timedelta(minutes=46), firing=True)
    assert alert["key"] == "feed_stale:pos/store-12" and alert["status"] == "firing"
    assert alert["explanation"]["quiet_seconds"] == 46 * 60
    state = observe(state, T0 + timedelta(minutes=50), T0 + timedelta(minutes=50))
    assert not is_stale(state, T0 + timedelta(minutes=51))


def test_unknown_cadence_is_never_stale():
    assert not is_stale(observe(SourceState("new"), T0, T0), T0 + timedelta(days=30))


def test_sales_gap_flags_a_silent_week_of_a_daily_seller():
    days = [date(2026, 11, d) for d in (1, 2, 3, 4, 5, 13, 14)]
    assert sales_gaps({("store-12", "SKU-1"): days}) == [
        SalesGap("store-12", "SKU-1", date(2026, 11, 6), date(2026, 11, 12), 7)]
    weekly = [date(2026, 11, d) for d in (1, 8, 15, 22)]
    assert sales_gaps({("store-12", "SKU-2"): weekly}) == []


def test_spike_beyond_k_sigma_of_the_other_days():
    # Others: nine 10s and one 12 → mean 10.2, σ 0.6; 50 > 10.2 + 4·0.6.
    series = [10, 10, 10, 12, 10, 10, 50, 10, 10, 10, 10]
    assert spikes(series) == [6]
    assert spikes([10.0] * 11) == []
    assert spikes([1, 100, 1]) == []  # too short to judge


def test_count_below_the_ledger_is_shrinkage_and_late_events_replay_in_event_time():
    def rec(kind, hour, **values):
        return {"type": kind, "location": "store-12", "sku": "SKU-1",
                "time": (T0 + timedelta(hours=hour)).isoformat(), **values}
    records = [rec("sale", 3, quantity=5), rec("stock_count", 1, on_hand=100),  # the count arrives late
               rec("stock_adjustment", 2, quantity=24), rec("return", 4, quantity=1),
               rec("sale", 5, quantity=2), rec("stock_count", 5, on_hand=110)]
    # Ledger: 100 + 24 - 5 + 1 - 2 = 118 at hour 5 (the sale at the count's time is included).
    assert ledger_discrepancies(records) == [
        Discrepancy("store-12", "SKU-1", T0 + timedelta(hours=5), 118.0, 110.0)]
    assert ledger_discrepancies(records)[0].difference == -8.0
