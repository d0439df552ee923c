"""Database plumbing: async engine, per-service schema, unit of work, outbox relay, inbox."""
