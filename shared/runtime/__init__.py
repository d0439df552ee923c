"""The embedded runtime: bundled broker, embedded PostgreSQL and the `replenish up` supervisor."""
