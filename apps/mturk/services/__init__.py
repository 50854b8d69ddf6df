"""Writes of the MTurk app, one module per resource: access_keys, hit_types, hits."""
