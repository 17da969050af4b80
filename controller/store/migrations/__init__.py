"""The store's schema, one numbered SQL file per change, applied in name order (see adapters.sqlite)."""
