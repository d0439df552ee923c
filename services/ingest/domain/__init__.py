"""Pure ingest core: master snapshot, normalization, source mappings, CSV, freshness and data quality."""
