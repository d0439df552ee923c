"""Pure ingest core: master snapshot, normalization, source mappings, CSV, freshness and data quality."""
from services.ingest.domain.batch import BatchResult, Duplicate, duplicate_ids, process_batch, release_pending
from services.ingest.domain.codes import clean_code, code_key
from services.ingest.domain.csv_door import CsvBatch, parse_csv
from services.ingest.domain.freshness import SourceState, expected_cadence, feed_stale_alert, is_stale, observe
from services.ingest.domain.mapping import FieldRule, SourceMapping, validate_mapping
from services.ingest.domain.mapping_apply import apply_mapping
from services.ingest.domain.master import ItemMaster, LocationMaster, MasterSnapshot, apply_master
from services.ingest.domain.normalize import normalize
from services.ingest.domain.outcomes import Normalized, Outcome, Pending, Rejected, Unreadable
from services.ingest.domain.quality import Discrepancy, SalesGap, ledger_discrepancies, sales_gaps, spikes

__all__ = [
    "BatchResult", "CsvBatch", "Discrepancy", "Duplicate", "FieldRule", "ItemMaster", "LocationMaster",
    "MasterSnapshot", "Normalized", "Outcome", "Pending", "Rejected", "SalesGap", "SourceMapping",
    "SourceState", "Unreadable", "apply_mapping", "apply_master", "clean_code", "code_key", "duplicate_ids",
    "expected_cadence", "feed_stale_alert", "is_stale", "ledger_discrepancies", "normalize", "observe",
    "parse_csv", "process_batch", "release_pending", "sales_gaps", "spikes", "validate_mapping",
]
