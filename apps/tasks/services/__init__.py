"""Writes for the tasks app, one module per entity (`projects`, `batches`, ...)."""
