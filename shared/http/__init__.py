"""HTTP plumbing every service shares: error format, auth dependencies, health and ops endpoints."""
