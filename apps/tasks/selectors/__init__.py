"""Reads for the tasks app, one module per entity, each scoped to who may see the rows."""
